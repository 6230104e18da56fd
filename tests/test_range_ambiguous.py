"""A base named by a short name that a pushed tag or branch also matches.

git resolves `origin/main` to refs/tags/origin/main before refs/remotes/origin/main: a pusher
who also pushes a tag `origin/main` at their key commit made `range origin/main..HEAD` (the
documented CI command) scan nothing. A name git finds ambiguous is refused (exit 2, naming
the refs it matches); the names the scanner builds itself are full refs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.gitrepo import GitRepo, run_cli
from tests.remotes import cloned, key_line, with_origin
from tests.test_ci import github_env, gitlab_env


@pytest.fixture
def ci_clone(tmp_path: Path) -> tuple[GitRepo, str]:
    """A CI clone of a pushed branch `feature` whose tip adds a key, with a tag
    `origin/main` at that tip, pushed beside it and fetched with the tags. Returns the
    clone and the tip."""
    origin, work = with_origin(tmp_path)
    work.commit_file("README.md", "hello\n")
    work.git("push", "-q", "origin", "main")
    work.git("checkout", "-q", "-b", "feature")
    line, _ = key_line()
    tip = work.commit_file("feature.py", line, "feature adds a key")
    work.git("tag", "origin/main", tip)
    work.git("push", "-q", "origin", "feature", "refs/tags/origin/main")
    clone = cloned(f"file://{origin.path}", tmp_path / "ci")
    clone.git("checkout", "-q", "feature")
    assert clone.git("tag").split() == ["origin/main"]
    return clone, tip


def test_range_refuses_a_base_a_pushed_tag_makes_ambiguous(ci_clone: tuple[GitRepo, str]) -> None:
    clone, _ = ci_clone
    run = run_cli("range", "origin/main..HEAD", cwd=clone.path)
    assert run.code == 2, run.all  # it passed with exit 0: 0 commits
    said = " ".join(run.err.split())
    assert "origin/main is ambiguous" in said
    assert "refs/tags/origin/main and refs/remotes/origin/main" in said
    assert "(for example refs/remotes/origin/main)" in said
    run = run_cli("ci", "--base", "origin/main", cwd=clone.path)
    assert run.code == 2, run.all
    assert "origin/main is ambiguous" in run.err
    # The same ambiguity inside a longer revision.
    run = run_cli("range", "origin/main~0..HEAD", cwd=clone.path)
    assert run.code == 2, run.all
    assert "origin/main (in origin/main~0) is ambiguous" in " ".join(run.err.split())
    # The full name it suggests scans the pushed commit.
    run = run_cli("range", "refs/remotes/origin/main..HEAD", cwd=clone.path)
    assert run.code == 1, run.all
    assert "1 commit" in run.err


def test_ci_fallback_bases_are_full_refs(ci_clone: tuple[GitRepo, str], tmp_path: Path) -> None:
    clone, tip = ci_clone
    payload = {"number": 8, "pull_request": {"head": {"sha": tip}}}
    env = github_env(tmp_path, "pull_request", payload, tip)
    env["GITHUB_BASE_REF"] = "main"
    run = run_cli("ci", cwd=clone.path, env=env)
    assert run.code == 1, run.all
    assert "1 commit" in run.err
    env = gitlab_env(
        CI_MERGE_REQUEST_IID="4", CI_MERGE_REQUEST_TARGET_BRANCH_NAME="main", CI_COMMIT_SHA=tip
    )
    run = run_cli("ci", cwd=clone.path, env=env)
    assert run.code == 1, run.all
    assert "1 commit" in run.err


def test_names_no_push_can_redirect_still_resolve(ci_clone: tuple[GitRepo, str]) -> None:
    """HEAD (the repository's own HEAD file comes first) and a full object id (the object
    comes before a ref so named) keep git's answer; a short id that a ref also matches is
    refused."""
    clone, tip = ci_clone
    base = clone.git("rev-parse", "refs/remotes/origin/main").strip()
    clone.git("update-ref", "refs/tags/HEAD", base)
    clone.git("update-ref", f"refs/heads/{base}", tip)
    run = run_cli("range", f"{base}..HEAD", cwd=clone.path)
    assert run.code == 1, run.all
    assert "1 commit" in run.err
    clone.git("branch", base[:12], tip)
    run = run_cli("range", f"{base[:12]}..HEAD", cwd=clone.path)
    assert run.code == 2, run.all
    assert f"{base[:12]} is ambiguous" in run.err


def test_a_tag_named_like_a_full_ref_neither_redirects_nor_blocks(
    ci_clone: tuple[GitRepo, str], tmp_path: Path
) -> None:
    """A pushed tag `refs/remotes/origin/main` at the key commit: with the remote-tracking
    ref in the clone, git takes the ref itself (not refused, the key is found); without
    it, git would take the tag without a word: the base is then not in the clone (exit 2)."""
    clone, tip = ci_clone
    clone.git("update-ref", "refs/tags/refs/remotes/origin/main", tip)
    env = gitlab_env(
        CI_MERGE_REQUEST_IID="4", CI_MERGE_REQUEST_TARGET_BRANCH_NAME="main", CI_COMMIT_SHA=tip
    )
    new_branch = gitlab_env(
        CI_COMMIT_SHA=tip,
        CI_COMMIT_BRANCH="feature",
        CI_COMMIT_BEFORE_SHA="0" * 40,
        CI_DEFAULT_BRANCH="main",
    )
    for run in (
        run_cli("ci", cwd=clone.path, env=env),
        run_cli("ci", cwd=clone.path, env=new_branch),
        run_cli("range", "refs/remotes/origin/main..HEAD", cwd=clone.path),
    ):
        assert run.code == 1, run.all
        assert "1 commit" in run.err
    clone.git("update-ref", "-d", "refs/remotes/origin/main")
    run = run_cli("ci", cwd=clone.path, env=env)
    assert run.code == 2, run.all
    assert "refs/remotes/origin/main is not a commit in this repository" in run.err
    run = run_cli("ci", "--format", "json", cwd=clone.path, env=new_branch)
    assert run.code == 1, run.all  # no default branch to compare with: every commit
    assert "every commit of" in run.err
