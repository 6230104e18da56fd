"""A FIFO where git opens a file of the scanned repository (hostile review h10b): git waits on
it forever, so every command hung, saying nothing. Real repositories, the real CLI; each run
has a time-out only so that a regression fails instead of hanging the suite."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.gitrepo import GitRepo, Run, git, run_cli
from tests.remotes import key_line


def run(*args: str, cwd: Path) -> Run:
    # A hang is the bug: the scanner answers in about a second.
    return run_cli(*args, cwd=cwd, timeout=120)


def leaky(tmp_path: Path) -> GitRepo:
    repo = GitRepo(tmp_path / "repo")
    repo.commit_file("README.md", "hi\n", "base")
    repo.commit_file("conf.py", key_line()[0], "key")
    return repo


def packed_refs(repo: GitRepo, tmp: Path) -> Path:
    repo.git("pack-refs", "--all")
    fifo = repo.path / ".git" / "packed-refs"
    fifo.unlink()
    os.mkfifo(fifo)
    return fifo


def loose_ref(repo: GitRepo, tmp: Path) -> Path:
    fifo = repo.path / ".git" / "refs" / "heads" / "x"
    os.mkfifo(fifo)
    return fifo


def alternates_file(repo: GitRepo, tmp: Path) -> Path:
    fifo = repo.path / ".git" / "objects" / "info" / "alternates"
    os.mkfifo(fifo)
    return fifo


def alternate_pack_index(repo: GitRepo, tmp: Path) -> Path:
    pack = tmp / "alt" / "pack"
    pack.mkdir(parents=True)
    fifo = pack / ("pack-" + "0" * 40 + ".idx")
    os.mkfifo(fifo)
    (pack / ("pack-" + "0" * 40 + ".pack")).write_bytes(b"")
    (repo.path / ".git" / "objects" / "info" / "alternates").write_text(f"{tmp / 'alt'}\n")
    return fifo


def config_include(repo: GitRepo, tmp: Path) -> Path:
    fifo = tmp / "elsewhere.cfg"  # outside the git directory: found through the config
    os.mkfifo(fifo)
    with (repo.path / ".git" / "config").open("a") as config:
        config.write(f'[includeIf "gitdir:/"]\n\tpath = "{fifo}"\n')
    return fifo


def linked_ref(repo: GitRepo, tmp: Path) -> Path:
    fifo = tmp / "pipe"
    os.mkfifo(fifo)
    link = repo.path / ".git" / "refs" / "heads" / "y"
    link.symlink_to(fifo)
    return link


def in_a_linked_directory(repo: GitRepo, tmp: Path) -> Path:
    # The walk stats only links: a directory reached through one is walked all the same.
    elsewhere = tmp / "elsewhere"
    elsewhere.mkdir()
    fifo = elsewhere / "z"
    os.mkfifo(fifo)
    (repo.path / ".git" / "refs" / "linked").symlink_to(elsewhere)
    return fifo


def _append_config(repo: GitRepo, text: str) -> None:
    with (repo.path / ".git" / "config").open("a") as config:
        config.write(text)


def _outside_fifo(tmp: Path) -> Path:
    fifo = tmp / "outside"
    os.mkfifo(fifo)
    return fifo


# The include forms of git's config grammar (hostile review h11): the check asks git to parse
# each config file, so each is read as git reads it.
def include_ended_by_a_comment(repo: GitRepo, tmp: Path) -> Path:
    fifo = _outside_fifo(tmp)
    _append_config(repo, f"[include]\n\tpath = {fifo}#not part of the name\n")
    return fifo


def include_quoted_mid_value(repo: GitRepo, tmp: Path) -> Path:
    fifo = _outside_fifo(tmp)
    _append_config(repo, f'[include]\n\tpath = {tmp}/"{fifo.name}"\n')
    return fifo


def include_continued_on_the_next_line(repo: GitRepo, tmp: Path) -> Path:
    fifo = _outside_fifo(tmp)
    _append_config(repo, f"[InClUdE]\n\tpath = {tmp}/\\\n{fifo.name}\n")
    return fifo


def include_after_a_mebibyte(repo: GitRepo, tmp: Path) -> Path:
    fifo = _outside_fifo(tmp)
    _append_config(repo, "#" + "x" * (1 << 20) + f"\n[include]\n\tpath = {fifo}\n")
    return fifo


def include_of_an_include(repo: GitRepo, tmp: Path) -> Path:
    # A relative include is relative to the including file's directory.
    fifo = _outside_fifo(tmp)
    (tmp / "first.cfg").write_text(f"[include]\n\tpath = {fifo.name}\n")
    _append_config(repo, f"[include]\n\tpath = {tmp / 'first.cfg'}\n")
    return fifo


def alternates_c_quoted(repo: GitRepo, tmp: Path) -> Path:
    fifo = alternate_pack_index(repo, tmp)
    # \141 is 'a': git unquotes the line to {tmp}/alt.
    (repo.path / ".git" / "objects" / "info" / "alternates").write_text(f'"{tmp}/\\141lt"\n')
    return fifo


def alternates_after_a_mebibyte(repo: GitRepo, tmp: Path) -> Path:
    fifo = alternate_pack_index(repo, tmp)
    (repo.path / ".git" / "objects" / "info" / "alternates").write_text(
        "\n" * (1 << 20) + f"{tmp / 'alt'}\n"
    )
    return fifo


def attributes_file(repo: GitRepo, tmp: Path) -> Path:
    fifo = _outside_fifo(tmp)
    repo.git("config", "core.attributesFile", str(fifo))
    return fifo


def excludes_file_in_an_include(repo: GitRepo, tmp: Path) -> Path:
    fifo = _outside_fifo(tmp)
    (tmp / "more.cfg").write_text(f"[core]\n\texcludesFile = {fifo}\n")
    _append_config(repo, f"[include]\n\tpath = {tmp / 'more.cfg'}\n")
    return fifo


def include_through_a_link_to_a_file_read_already(repo: GitRepo, tmp: Path) -> Path:
    """Review h12: b/inc links to a/inc, read already; git reads its relative `path = pipe-b`
    from b/, where it is a FIFO (a/pipe-b is a regular file)."""
    a, b = tmp / "a", tmp / "b"
    a.mkdir()
    b.mkdir()
    (a / "inc").write_text("[include]\n\tpath = pipe-b\n")
    (a / "pipe-b").write_text("")
    (b / "inc").symlink_to(a / "inc")
    fifo = b / "pipe-b"
    os.mkfifo(fifo)
    _append_config(repo, f"[include]\n\tpath = {a / 'inc'}\n[include]\n\tpath = {b / 'inc'}\n")
    return fifo


PLACES: dict[str, Callable[[GitRepo, Path], Path]] = {
    "packed-refs": packed_refs,
    "loose ref": loose_ref,
    "alternates": alternates_file,
    "alternate's pack index": alternate_pack_index,
    "config include": config_include,
    "link to a FIFO as a ref": linked_ref,
    "FIFO in a linked directory": in_a_linked_directory,
    "include ended by a comment": include_ended_by_a_comment,
    "include quoted mid-value": include_quoted_mid_value,
    "include continued on the next line": include_continued_on_the_next_line,
    "include after 1 MiB": include_after_a_mebibyte,
    "include of an include": include_of_an_include,
    "alternates C-quoted": alternates_c_quoted,
    "alternates after 1 MiB": alternates_after_a_mebibyte,
    "core.attributesFile": attributes_file,
    "core.excludesFile in an include": excludes_file_in_an_include,
    "include through a link to a file read already": include_through_a_link_to_a_file_read_already,
}


@pytest.mark.parametrize("place", PLACES)
def test_a_fifo_where_git_opens_a_file_is_refused_not_waited_on(tmp_path: Path, place: str) -> None:
    repo = leaky(tmp_path)
    fifo = PLACES[place](repo, tmp_path)
    for args in (["history"], ["range", "HEAD~1..HEAD"], ["staged"], ["files", "."]):
        got = run(*args, cwd=repo.path)
        assert got.code == 2, (args, got.all)
        assert "not a regular file" in got.err and fifo.name in got.err, (args, got.err)
    out = tmp_path / "out"
    got = run("audit", "--format", "json", "--output-dir", str(out), str(repo.path), cwd=tmp_path)
    assert got.code == 2, got.all
    assert fifo.name in json.dumps(json.loads(got.out)["failed"])


def test_a_device_as_the_index_is_refused(tmp_path: Path) -> None:
    repo = leaky(tmp_path)
    index = repo.path / ".git" / "index"
    index.unlink()
    index.symlink_to("/dev/zero")
    got = run("staged", cwd=repo.path)
    assert got.code == 2 and "is a link to a device" in got.err, got.all


def test_links_in_a_loop_end_the_walk(tmp_path: Path) -> None:
    # Each linked directory is walked once: links back to the git directory, to a plain
    # directory of it and to themselves end the walk before git starts.
    repo = leaky(tmp_path)
    git_dir = repo.path / ".git"
    (git_dir / "objects" / "info" / "up").symlink_to("../..")
    (git_dir / "logs" / "back").symlink_to("../objects")
    (git_dir / "hooks" / "self").symlink_to(".")
    got = run("staged", cwd=repo.path)
    assert got.code == 0, got.all


def test_a_bare_repository_whose_head_is_a_fifo_is_refused(tmp_path: Path) -> None:
    # git opens a bare repository's HEAD to recognise it: any HEAD, not only a regular file.
    repo = leaky(tmp_path)
    bare = tmp_path / "bare.git"
    repo.git("clone", "-q", "--bare", str(repo.path), str(bare))
    (bare / "HEAD").unlink()
    os.mkfifo(bare / "HEAD")
    for args in (["history"], ["range", "main~0"]):
        got = run(*args, cwd=bare)
        assert got.code == 2 and "HEAD is a FIFO" in got.err, (args, got.all)
    got = run(
        "audit", "--format", "json", "--output-dir", str(tmp_path / "out"), str(bare), cwd=tmp_path
    )
    assert got.code == 2 and "HEAD is a FIFO" in json.dumps(json.loads(got.out)["failed"]), got.all


def test_an_order_file_or_mailmap_that_is_a_fifo_is_never_opened(tmp_path: Path) -> None:
    # Overridden for every git the scanner starts (git.HARDENED_CONFIG): read as empty.
    repo = leaky(tmp_path)
    fifo = _outside_fifo(tmp_path)
    repo.git("config", "diff.orderFile", str(fifo))
    repo.git("config", "mailmap.file", str(fifo))
    repo.write("new.py", "x = 1\n")
    repo.add("new.py")
    for args in (["history"], ["range", "HEAD~1..HEAD"]):
        got = run(*args, cwd=repo.path)
        assert got.code == 1, (args, got.all)
    assert run("staged", cwd=repo.path).code == 0


def test_a_config_include_of_a_regular_file_is_read(tmp_path: Path) -> None:
    # The include forms are parsed by git: a regular included file still lets the scan run.
    repo = leaky(tmp_path)
    (tmp_path / "plain.cfg").write_text("[core]\n\tattributesFile = ~/no-such-file\n")
    _append_config(repo, f'[include]\n\tpath = "{tmp_path}/plain.cfg" ; a comment\n')
    got = run("history", cwd=repo.path)
    assert got.code == 1, got.all


def test_a_linked_directory_git_never_reads_is_not_walked(tmp_path: Path) -> None:
    # `.git/x -> /usr` walked all of /usr before git started, and a device or FIFO found
    # there refused a readable repository: git never opens a file through `.git/x`.
    repo = leaky(tmp_path)
    stray = tmp_path / "stray"
    stray.mkdir()
    os.mkfifo(stray / "pipe")
    (stray / "null").symlink_to(os.devnull)
    git_dir = repo.path / ".git"
    (git_dir / "x").symlink_to(stray)
    (git_dir / "hooks" / "y").symlink_to(stray)
    (git_dir / "objects" / "info" / "z").symlink_to(stray)
    got = run("range", "HEAD~1..HEAD", cwd=repo.path)
    assert got.code == 1, got.all
    # Where git does read through a link (refs/, logs/, a linked objects/pack), it is walked.
    (git_dir / "x").unlink()
    (git_dir / "logs" / "refs" / "linked").symlink_to(stray)
    got = run("range", "HEAD~1..HEAD", cwd=repo.path)
    assert got.code == 2 and "not a regular file" in got.err, got.all


def test_a_config_git_cannot_parse_is_refused_by_name(tmp_path: Path) -> None:
    # git stops at the bad line after opening the includes before it: said, never waited on.
    repo = leaky(tmp_path)
    _append_config(repo, f"[include]\n\tpath = {_outside_fifo(tmp_path)}\n[broken\n")
    got = run("history", cwd=repo.path)
    assert got.code == 2 and "git cannot parse this config file" in got.err, got.all


def test_a_relative_excludes_file_of_a_linked_worktree_is_read_from_its_top(
    tmp_path: Path,
) -> None:
    """Review h12: run from a subdirectory of a linked worktree, a relative core.excludesFile
    was looked for from the scanner's directory; git opens it from the worktree's top."""
    repo = leaky(tmp_path)
    tree = tmp_path / "wt"
    repo.git("worktree", "add", "-q", str(tree))
    (tree / "sub").mkdir()
    (tree / "sub" / "a.txt").write_text("x\n")
    git(tree, "add", "sub/a.txt")  # before the FIFO: git itself would wait on it
    repo.git("config", "core.excludesFile", "ex-pipe")
    os.mkfifo(tree / "ex-pipe")
    for args in (["staged"], ["files", "."]):
        got = run(*args, cwd=tree / "sub")
        assert got.code == 2, (args, got.all)
        assert "ex-pipe" in got.err and "not a regular file" in got.err, (args, got.err)
