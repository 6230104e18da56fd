"""A gate's plan for a key whose file a later commit of the same range renamed or deleted
(review h9a, finding 5): the commands name the file as HEAD holds it now (naming the old
path, `git rm --cached` failed with exit 128 and the redo re-committed the key at the new
one), and a deleted file gets no command. Real repositories, the real CLI, the plan pasted."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.gitrepo import GitRepo, run_cli
from tests.keygen import kimi_code_key
from tests.test_remedy import plan_commands, run_ok, sh


def _repo(tmp_path: Path) -> tuple[GitRepo, str, str]:
    repo = GitRepo(tmp_path / "r")
    base = repo.commit_file("a.py", "x = 1\n", "base")
    key = kimi_code_key()
    return repo, base, key


def _gate_commands(out: str) -> list[str]:
    return [c for c in plan_commands(out) if not c.startswith("kimi-secret-scan ")]


@pytest.mark.parametrize("edit", [False, True])
def test_a_file_renamed_later_in_the_range_is_named_as_head_holds_it(
    tmp_path: Path, edit: bool
) -> None:
    repo, base, key = _repo(tmp_path)
    first = repo.commit_file("src/k.env", f"KIMI_API_KEY={key}\n", "add")
    new = "settings.env" if edit else "k.env"
    repo.git("mv", "src/k.env", new)
    if edit:
        repo.write(new, f"KIMI_API_KEY={key}\nOTHER=1\n")
        repo.add()
    repo.commit("move")
    run = run_cli("range", f"{base}..HEAD", cwd=repo.path)
    assert run.code == 1, run.all
    assert f"src/k.env (now {new})" in run.out, run.out
    cmds = _gate_commands(run.out)
    assert any(f"git rm --cached -q -- {new}" in c for c in cmds), cmds
    assert not any("src/k.env" in c for c in cmds), cmds
    for command in cmds:
        run_ok(command, repo.path)
    assert repo.git("log", "-1", "--format=%s").strip() == "add"
    assert repo.git("rev-parse", "HEAD^").strip() == base
    assert new not in repo.git("ls-tree", "-r", "--name-only", "HEAD").split()
    assert repo.git("check-ignore", new).strip() == new
    assert run_cli("range", f"{base}..HEAD", cwd=repo.path).code == 0
    assert repo.git("rev-parse", "HEAD").strip() != first  # the commit redone


def test_a_file_deleted_later_in_the_range_gets_no_command(tmp_path: Path) -> None:
    repo, base, key = _repo(tmp_path)
    repo.commit_file("k.env", f"KIMI_API_KEY={key}\n", "add")
    repo.commit_file("b.py", "y = 2\n", "more")
    repo.git("rm", "-q", "k.env")
    repo.commit("delete")
    run = run_cli("range", f"{base}..HEAD", cwd=repo.path)
    assert run.code == 1, run.all
    assert "Deleted by a later commit of these: k.env" in run.out, run.out
    cmds = _gate_commands(run.out)
    assert not any("k.env" in c for c in cmds), cmds
    for command in cmds:
        run_ok(command, repo.path)
    assert repo.git("rev-parse", "HEAD^").strip() == base
    assert run_cli("range", f"{base}..HEAD", cwd=repo.path).code == 0

    # Nothing else added: `git commit` says so (exit 1), as the plan warns; the branch is
    # back at the base.
    other, base, key = _repo(tmp_path / "o")
    other.commit_file("k.env", f"KIMI_API_KEY={key}\n", "add")
    other.git("rm", "-q", "k.env")
    other.commit("delete")
    run = run_cli("range", f"{base}..HEAD", cwd=other.path)
    assert run.code == 1 and "there is nothing to commit" in run.out, run.all
    cmds = _gate_commands(run.out)
    run_ok(cmds[0], other.path)
    assert sh(cmds[1], other.path).code == 1
    assert other.git("rev-parse", "HEAD").strip() == base


def test_a_range_of_another_branch_says_nothing_of_what_head_holds(tmp_path: Path) -> None:
    """HEAD not built on the range's commits (checked out elsewhere): nothing renamed or
    deleted is said, the files are named as the commits hold them."""
    repo, _base, key = _repo(tmp_path)
    repo.git("checkout", "-q", "-b", "feature")
    repo.commit_file("k.env", f"KIMI_API_KEY={key}\n", "add")
    repo.git("checkout", "-q", "main")
    run = run_cli("range", "main..feature", cwd=repo.path)
    assert run.code == 1, run.all
    assert "Deleted by" not in run.out and "Renamed by" not in run.out, run.out
    assert any("git rm --cached -q -- k.env" in c for c in _gate_commands(run.out))
