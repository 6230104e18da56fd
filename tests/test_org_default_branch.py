"""The org audit's default branch is one that exists (hostile review 10a, 4 and 7): a
server repository made with `git init --bare` names `master` in HEAD while only `main` was
pushed; its audit said "not in the default branch" of a key in the tip of its only branch."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.gitrepo import GitRepo, git, run_cli
from tests.keygen import moonshot_key
from tests.orgsetup import git_daemon

NO_CI = {"CI": ""}


def _served(tmp_path: Path, branches: list[str]) -> Path:
    """srv/s.git: `git init --bare` (HEAD -> master, unborn), `branches` pushed, each
    holding the key in its tip."""
    work = GitRepo(tmp_path / "w")
    work.commit_file("k.env", f"MOONSHOT_API_KEY={moonshot_key()}\n", "key")
    served = tmp_path / "srv"
    (served / "s.git").mkdir(parents=True)
    git(served / "s.git", "-c", "init.defaultBranch=master", "init", "-q", "--bare")
    for name in branches:
        work.git("push", "-q", str(served / "s.git"), f"HEAD:refs/heads/{name}")
    assert git(served / "s.git", "symbolic-ref", "HEAD").strip() == "refs/heads/master"
    return served


def _audit(tmp_path: Path, served: Path) -> tuple[str, list[dict[str, Any]], str]:
    env = {**NO_CI, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    with git_daemon(served) as base:
        run = run_cli(
            "audit", "--no-progress", "--output-dir", "out", f"{base}/s.git", cwd=tmp_path, env=env
        )
    assert run.code == 1, run.all
    merged = run_cli("merge", "out", "--format", "json", cwd=tmp_path)
    html = run_cli("merge", "out", "--format", "html", cwd=tmp_path).out
    return run.out, json.loads(merged.out)["keys"][0]["repositories"], html


def test_an_unborn_head_names_the_only_branch_inferred(tmp_path: Path) -> None:
    out, repos, html = _audit(tmp_path, _served(tmp_path, ["main"]))
    said = "HEAD names refs/heads/master, which does not exist: inferred, the only branch"
    assert f"now:   still in refs/heads/main ({said}): k.env" in out, out
    assert "not in the default branch" not in out
    (repo,) = repos
    assert repo["default_branch"] == "refs/heads/main"
    assert repo["default_branch_note"] == said
    assert repo["in_default_branch"] is True and repo["on_default_branch"] is True
    assert repo["head_paths"] == ["k.env"]
    assert f'<span class="present">still in refs/heads/main ({said})</span>' in html


def test_with_no_branch_to_infer_the_default_branch_is_unknown(tmp_path: Path) -> None:
    out, repos, html = _audit(tmp_path, _served(tmp_path, ["feat", "dev"]))
    (repo,) = repos
    assert repo["default_branch"] is None and repo["on_default_branch"] is False
    assert "refs/heads/master" not in out.replace("HEAD names refs/heads/master", "")
    assert (
        "now:   the default branch is unknown (HEAD names refs/heads/master, which does not "
        "exist, and no branch is the default one: unknown); reachable from refs/heads/dev, "
        "refs/heads/feat" in out
    ), out
    assert "default branch unknown" in html


def test_a_key_only_in_a_commit_message_of_main_is_in_its_history(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "r")
    repo.commit_file("x", "x\n", f"set MOONSHOT_API_KEY={moonshot_key()}")
    run = run_cli("audit", "--no-progress", str(repo.path), cwd=tmp_path, env=NO_CI)
    assert run.code == 1, run.all
    assert (
        "now:   in refs/heads/main's history, not in its files now: only a rewrite of it "
        "removes the key; reachable from refs/heads/main" in run.out
    ), run.out
    assert "not in the default branch" not in run.out
    html = run_cli("merge", "kimi-secret-scan-audit", "--format", "html", cwd=tmp_path).out
    assert 'class="bar history"' in html and "not in its files now" in html
