"""A local audit target (`audit PATH`, `history --repo PATH`) that git does not take for a
repository, inside another repository.

git's discovery walks up from PATH: a repository whose HEAD is damaged, or a plain
directory the outer repository ignores, was audited as the outer repository, under PATH's
name, exit 0 while PATH's own history held a key. It is "not a git repository" (exit 2);
`history` run from a directory of a work tree still reads that work tree's repository.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.gitrepo import GitRepo, run_cli
from tests.remotes import key_line

NO_CI = {"CI": ""}


@pytest.fixture
def nested(tmp_path: Path) -> tuple[GitRepo, GitRepo]:
    """A clean repository `outer`, which ignores `inner/`: a repository whose commit holds
    a key. Returns (outer, inner)."""
    outer = GitRepo(tmp_path / "outer")
    outer.commit_file(".gitignore", "inner/\nplain/\n")
    inner = GitRepo(outer.path / "inner")
    line, _ = key_line()
    inner.commit_file("config.py", line)
    return outer, inner


def _audit(target: Path, tmp_path: Path, name: str) -> tuple[int, str, dict[str, object]]:
    out = tmp_path / name
    run = run_cli(
        "audit",
        str(target),
        "--no-progress",
        "--cache",
        str(tmp_path / "cache"),
        "--output-dir",
        str(out),
        cwd=tmp_path,
        env=NO_CI,
    )
    [report] = [json.loads(p.read_text()) for p in out.glob("*.json") if p.name != "merged.json"]
    return run.code, " ".join(run.all.split()), report


def test_a_damaged_repository_is_not_read_as_the_one_around_it(
    nested: tuple[GitRepo, GitRepo], tmp_path: Path
) -> None:
    outer, inner = nested
    assert _audit(inner.path, tmp_path, "intact")[0] == 1  # the key is found while intact
    (inner.path / ".git" / "HEAD").write_text("garbage\n")
    code, said, report = _audit(inner.path, tmp_path, "damaged")
    assert code == 2, said  # it was exit 0: the outer repository, audited as inner
    assert f"{inner.path} is not a git repository git can read" in said
    assert f"git would read the repository {outer.path} around it instead" in said
    assert "error" in report
    run = run_cli("history", "--repo", str(inner.path), cwd=tmp_path)
    assert run.code == 2, run.all
    assert f"{inner.path} is not a git repository git can read" in " ".join(run.err.split())
    # The same from a directory inside it.
    (inner.path / "deep").mkdir()
    run = run_cli("history", cwd=inner.path / "deep")
    assert run.code == 2, run.all
    assert f"{inner.path} is not a git repository git can read" in " ".join(run.err.split())


def test_a_damaged_bare_repository_is_not_read_as_the_one_around_it(
    nested: tuple[GitRepo, GitRepo], tmp_path: Path
) -> None:
    outer, inner = nested
    bare = outer.path / "served.git"
    inner.git("clone", "-q", "--bare", str(inner.path), str(bare))
    (bare / "HEAD").write_text("garbage\n")
    run = run_cli("history", "--repo", str(bare), cwd=tmp_path)
    assert run.code == 2, run.all
    assert f"{bare} is not a git repository git can read" in " ".join(run.err.split())
    assert _audit(bare, tmp_path, "bare")[0] == 2


def test_a_plain_directory_inside_a_repository(
    nested: tuple[GitRepo, GitRepo], tmp_path: Path
) -> None:
    outer, _ = nested
    plain = outer.path / "plain"  # ignored by outer
    plain.mkdir()
    line, _ = key_line()
    (plain / "config.py").write_text(line)
    code, said, _ = _audit(plain, tmp_path, "plain")
    assert code == 2, said
    assert f"{plain} is not a git repository: git would read {outer.path} instead" in said
    run = run_cli("history", "--repo", str(plain), cwd=tmp_path)
    assert run.code == 2, run.all
    assert "is a directory that the repository" in run.err and "ignores" in run.err
    # A directory of outer's work tree: an audit target must be the repository itself,
    # while `history` reads the repository around it, as git does.
    sub = outer.path / "src"
    sub.mkdir()
    outer.commit_file("src/config.py", line)
    code, said, _ = _audit(sub, tmp_path, "sub")
    assert code == 2, said
    assert f"{sub} is not a git repository: git would read {outer.path} instead" in said
    for run in (
        run_cli("history", cwd=sub),
        run_cli("history", "--repo", "src", cwd=outer.path),
    ):
        assert run.code == 1, run.all


def test_the_gates_never_scan_the_repository_around_a_damaged_one(
    nested: tuple[GitRepo, GitRepo], tmp_path: Path
) -> None:
    outer, inner = nested
    outer.commit_file("b.txt", "clean\n")
    (inner.path / ".git" / "HEAD").write_text("garbage\n")
    for args in (["range", "HEAD~1..HEAD"], ["ci", "--base", "HEAD~1"]):
        run = run_cli(*args, "--repo", str(inner.path), cwd=tmp_path)
        assert run.code == 2, run.all  # it scanned outer's last commit: exit 0
        assert f"{inner.path} is not a git repository git can read" in " ".join(run.err.split())
        (outer.path / "src").mkdir(exist_ok=True)
        assert run_cli(*args, "--repo", "src", cwd=outer.path).code == 0  # a subdirectory
