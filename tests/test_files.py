"""`kimi-secret-scan files`: files and directories on disk, in a repository or not."""

from __future__ import annotations

import ctypes
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.gitrepo import GitRepo, Run, run_cli
from tests.keygen import kimi_code_key

ROOT = Path(__file__).resolve().parents[1]


def files(*args: str, cwd: Path) -> tuple[Run, dict[str, Any]]:
    run = run_cli("files", "--format", "json", *args, cwd=cwd)
    assert run.code in (0, 1), run.all
    return run, json.loads(run.out)


def paths(report: dict[str, Any]) -> list[str]:
    return sorted(f["path"] for f in report["findings"])


def key_line() -> str:
    return f"KIMI_API_KEY={kimi_code_key()}\n"


def assert_one_line_error(run: Run, *words: str) -> None:
    assert run.code == 2, run.all
    assert run.out == ""
    lines = run.err.strip().splitlines()
    assert len(lines) == 1, run.err
    assert lines[0].startswith("kimi-secret-scan: error: ")
    for word in words:
        assert word in lines[0]


def test_directory_outside_a_repository_includes_dotfiles(tmp_path: Path) -> None:
    tree = tmp_path / "proj"
    for name in (".env", "a/b/deep.py", ".config/tool/settings.toml", "README.md"):
        target = tree / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(key_line() if name != "README.md" else "nothing here\n")
    run, report = files("proj", cwd=tmp_path)
    assert run.code == 1
    assert paths(report) == ["proj/.config/tool/settings.toml", "proj/.env", "proj/a/b/deep.py"]
    assert report["stats"]["files"] == 4
    assert report["mode"] == "files"
    for finding in report["findings"]:
        assert (finding["line"], finding["column"]) == (1, 14)


def test_single_file_and_whole_file_is_scanned(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("line\n" * 30 + key_line())
    run = run_cli("files", "notes.txt", cwd=tmp_path)
    assert run.code == 1
    assert "notes.txt:31:14" in run.out
    assert "scanned 1 file, 31 lines" in run.out


def test_committed_key_is_reported_because_files_reads_the_disk(repo: GitRepo) -> None:
    repo.commit_file("config.py", "x = 1\n" + key_line())
    run, report = files(".", cwd=repo.path)
    assert run.code == 1
    assert [(f["path"], f["line"]) for f in report["findings"]] == [("config.py", 2)]


def test_ignored_files_are_skipped_unless_asked(repo: GitRepo) -> None:
    repo.write(".gitignore", "*.env\nbuild/\n")
    repo.write("prod.env", key_line())
    repo.write("build/out.js", key_line())
    repo.write("untracked.py", key_line())
    repo.commit_file("tracked.py", key_line())
    repo.write("tracked.py", "x = 1\n")  # the working tree, not the index, is what counts
    (repo.path / ".git" / "info").mkdir(exist_ok=True)
    (repo.path / ".git" / "info" / "exclude").write_text("local.txt\n")
    repo.write("local.txt", key_line())

    run, report = files(".", cwd=repo.path)
    assert run.code == 1
    assert paths(report) == ["untracked.py"]

    run, report = files("--include-ignored", ".", cwd=repo.path)
    assert run.code == 1
    assert paths(report) == ["build/out.js", "local.txt", "prod.env", "untracked.py"]
    # .git itself is never walked
    assert all(not p.startswith(".git/") for p in paths(report))


def test_ignored_file_named_explicitly_is_read(repo: GitRepo) -> None:
    repo.write(".gitignore", "*.env\n")
    repo.write("prod.env", key_line())
    run, report = files("prod.env", cwd=repo.path)
    assert run.code == 1
    assert paths(report) == ["prod.env"]


def test_subdirectory_of_a_repository_reports_paths_from_the_current_directory(
    repo: GitRepo,
) -> None:
    repo.write("pkg/sub/mod.py", key_line())
    repo.write("pkg/other.py", "x = 1\n")
    _, report = files("sub", cwd=repo.path / "pkg")
    assert paths(report) == ["sub/mod.py"]


def test_nested_repository_is_reported_as_skipped(repo: GitRepo) -> None:
    repo.commit_file("a.txt", "a\n")
    inner = GitRepo(repo.path / "inner")
    inner.commit_file("leak.py", key_line())
    run = run_cli("files", ".", cwd=repo.path)
    assert run.code == 0, run.all
    assert "skipped inner" in run.out
    assert "1 skipped" in run.out


def test_symbolic_links_are_not_followed_when_walking_but_are_when_named(
    tmp_path: Path,
) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text(key_line())
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "link.txt").symlink_to(outside)
    (tree / "dirlink").symlink_to(tmp_path)  # a loop, if it were followed
    run = run_cli("files", "tree", cwd=tmp_path)
    assert run.code == 0, run.all
    assert "skipped tree/link.txt: symbolic link" in run.out
    run, report = files("tree/link.txt", cwd=tmp_path)
    assert run.code == 1
    assert paths(report) == ["tree/link.txt"]


def test_binary_file_on_disk(tmp_path: Path) -> None:
    (tmp_path / "image.bin").write_bytes(b"\x89PNG\x00\x00" + key_line().encode() + b"\x00\xff")
    run, report = files("image.bin", cwd=tmp_path)
    assert run.code == 1
    assert report["findings"][0]["line"] == 1


def test_non_utf8_file_name_and_content(tmp_path: Path) -> None:
    name = os.fsdecode(b"caf\xe9.txt")  # Latin-1 bytes: not valid UTF-8
    (tmp_path / name).write_bytes(b"caf\xe9 " + key_line().encode())
    run = run_cli("files", ".", cwd=tmp_path)
    assert run.code == 1, run.all
    assert "caf" in run.out and ".txt:1:" in run.out
    run = run_cli("files", "--format", "json", ".", cwd=tmp_path)
    assert run.code == 1, run.all
    report = json.loads(run.out)
    assert report["findings"][0]["path"].startswith("caf")


def test_file_over_the_size_limit_is_skipped_and_said(tmp_path: Path) -> None:
    (tmp_path / "big.txt").write_text("x" * 2000 + "\n" + key_line())
    run = run_cli("files", "--max-file-size", "1000", ".", cwd=tmp_path)
    assert run.code == 0, run.all
    assert "skipped big.txt: larger than the size limit" in run.out


def test_empty_directory_says_nothing_to_scan(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    run = run_cli("files", "empty", cwd=tmp_path)
    assert run.code == 0
    assert "nothing to scan" in run.out


def test_missing_path_is_an_error(tmp_path: Path) -> None:
    run = run_cli("files", "does-not-exist.txt", cwd=tmp_path)
    assert_one_line_error(run, "does-not-exist.txt")


def test_no_path_scans_the_current_directory(tmp_path: Path) -> None:
    key = kimi_code_key()
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "app.py").write_text(f'KIMI_API_KEY = "{key}"\n', encoding="utf-8")
    (tmp_path / "clean.txt").write_text("nothing here\n", encoding="utf-8")
    run = run_cli("files", "--format", "json", cwd=tmp_path)
    assert run.code == 1, run.all
    report = json.loads(run.out)
    assert [f["path"] for f in report["findings"]] == ["sub/app.py"]
    assert report["stats"]["files"] == 2
    assert run_cli("files", cwd=tmp_path / "sub").code == 1
    (tmp_path / "sub" / "app.py").unlink()
    assert run_cli("files", cwd=tmp_path).code == 0


def _without_root_privilege() -> None:
    """Drop the capabilities that let root read any file, so permissions apply to the child."""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
        libc.prctl(24, capability, 0, 0, 0)  # PR_CAPBSET_DROP


def run_unprivileged(*args: str, cwd: Path) -> Run:
    proc = subprocess.run(
        [sys.executable, "-m", "kimi_secret_scan", *args],
        cwd=cwd,
        capture_output=True,
        check=False,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        preexec_fn=_without_root_privilege if os.geteuid() == 0 else None,
    )
    return Run(proc.returncode, proc.stdout.decode(), proc.stderr.decode())


def test_unreadable_file_named_is_an_error(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text(key_line())
    secret.chmod(0)
    try:
        run = run_unprivileged("files", "secret.txt", cwd=tmp_path)
    finally:
        secret.chmod(0o644)
    assert_one_line_error(run, "secret.txt", "ermission denied")


def test_unreadable_file_met_while_walking_is_reported_as_skipped(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "ok.txt").write_text(key_line())
    locked = tree / "locked.txt"
    locked.write_text(key_line())
    locked.chmod(0)
    try:
        run = run_unprivileged("files", "tree", cwd=tmp_path)
    finally:
        locked.chmod(0o644)
    assert run.code == 1, run.all
    assert "tree/ok.txt:1:14" in run.out
    assert "skipped tree/locked.txt: permission denied" in run.out


def test_a_file_named_twice_is_read_once(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.env").write_text(key_line())
    _, report = files("sub", "sub/a.env", "./sub/a.env", cwd=tmp_path)
    assert paths(report) == ["sub/a.env"]
    assert report["stats"]["files"] == 1


def test_git_missing_is_an_error(repo: GitRepo, tmp_path: Path) -> None:
    """Without git the ignore rules cannot be applied: exit 2, in one line."""
    repo.write("app.py", key_line())
    bin_dir = tmp_path / "bin-without-git"
    bin_dir.mkdir()
    run = run_cli("files", ".", cwd=repo.path, env={"PATH": str(bin_dir)})
    assert_one_line_error(run, "git was not found")


def test_what_git_ignores_is_counted_and_said_in_every_format(tmp_path: Path) -> None:
    # A downloaded directory with its own .git whose info/exclude says `*`: nothing is
    # read, and the run says how much was left out and how to scan it, in every format.
    tree = tmp_path / "download"
    subprocess.run(["git", "init", "-q", str(tree)], check=True)
    (tree / "cfg.env").write_text(key_line())
    (tree / "sub").mkdir()
    (tree / "sub" / "x.py").write_text(key_line())
    (tree / ".git" / "info").mkdir(exist_ok=True)
    (tree / ".git" / "info" / "exclude").write_text("*\n")
    said = "that git ignores (.gitignore, .git/info/exclude, core.excludesFile), not scanned: "
    said += "--include-ignored scans them"
    text = run_cli("files", ".", cwd=tree)
    assert text.code == 0, text.all
    assert f"skipped .: 1 file and 1 directory {said}" in text.out, text.all
    run, report = files(".", cwd=tree)
    assert [s["reason"] for s in report["stats"]["skipped"]] == [f"1 file and 1 directory {said}"]
    sarif = run_cli("files", ".", "--format", "sarif", cwd=tree)
    assert said in sarif.out, sarif.all
    summary = tmp_path / "summary.md"
    github = run_cli("files", ".", "--format", "github", cwd=tree,
                     env={"GITHUB_STEP_SUMMARY": str(summary)})  # fmt: skip
    assert said in github.out + summary.read_text(encoding="utf-8"), github.all
    run, report = files(".", "--include-ignored", cwd=tree)
    assert run.code == 1 and paths(report) == ["cfg.env", "sub/x.py"]
    assert report["stats"]["skipped"] == []


def test_a_file_named_like_an_option(tmp_path: Path) -> None:
    """A shell glob hands `files` a name such as `--help`: read as the option it exited 0
    having scanned nothing. Before `--` such a name is refused; after it, it is a path."""
    (tmp_path / "--help").write_text(f"KIMI_API_KEY={kimi_code_key()}\n")
    (tmp_path / "a.txt").write_text("clean\n")
    refused = run_cli("files", "a.txt", "--help", cwd=tmp_path)
    assert refused.code == 2, refused.all
    assert "`--help` is an option and also a file here" in refused.err
    found = run_cli("files", "--", "a.txt", "--help", cwd=tmp_path)
    assert found.code == 1 and "--help:1:14" in found.out, found.all
    dotted = run_cli("files", "./--help", cwd=tmp_path)
    assert dotted.code == 1, dotted.all


def test_a_named_pipe_or_fifo_is_read(tmp_path: Path) -> None:
    """Hostile review 8: `files <(echo KEY=...)` and a named FIFO exited 0 with no file
    scanned and the run called complete. They are read, up to the size limit."""
    line = f"MOONSHOT_API_KEY={kimi_code_key()}\n"
    piped = subprocess.run(
        ["bash", "-c", f'{sys.executable} -m kimi_secret_scan files <(printf %s "$K")'],
        cwd=tmp_path,
        env={**os.environ, "K": line},
        capture_output=True,
        text=True,
    )
    assert piped.returncode == 1 and ":1:18: " in piped.stdout, piped.stdout + piped.stderr
    fifo = tmp_path / "p"
    os.mkfifo(fifo)
    for limit, code in (("1000", 1), ("10", 2)):
        writer = subprocess.Popen(
            ["bash", "-c", 'printf %s "$K" > p'], cwd=tmp_path, env={**os.environ, "K": line}
        )
        run = run_cli("files", "--max-file-size", limit, "p", cwd=tmp_path)
        writer.wait(timeout=60)
        assert run.code == code, run.all
    assert "more than the size limit (10 bytes)" in run.err
