"""A FIFO where git opens a file of the scanned repository (hostile review h10b): git waits on
it forever, so every command hung, saying nothing. Real repositories, the real CLI; each run
has a time-out only so that a regression fails instead of hanging the suite."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.gitrepo import GitRepo, Run, run_cli
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


PLACES: dict[str, Callable[[GitRepo, Path], Path]] = {
    "packed-refs": packed_refs,
    "loose ref": loose_ref,
    "alternates": alternates_file,
    "alternate's pack index": alternate_pack_index,
    "config include": config_include,
    "link to a FIFO as a ref": linked_ref,
    "FIFO in a linked directory": in_a_linked_directory,
}


@pytest.mark.parametrize("place", PLACES)
def test_a_fifo_where_git_opens_a_file_is_refused_not_waited_on(tmp_path: Path, place: str) -> None:
    repo = leaky(tmp_path)
    fifo = PLACES[place](repo, tmp_path)
    for args in (["history"], ["range", "HEAD~1..HEAD"], ["staged"]):
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
