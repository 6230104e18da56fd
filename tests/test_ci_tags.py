"""`kimi-secret-scan ci` in a job for a pushed tag (a GitLab tag pipeline, a GitHub `push` of
refs/tags/NAME): the tag's name, its message and tagger, and the commits it names that the
default branch lacks are what the push publishes, and are scanned. It was "new branch v1 ...
0 commits", exit 0, with a key in the tag's message."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from tests.gitrepo import GitRepo, run_cli
from tests.keygen import kimi_code_key
from tests.remotes import ZERO, cloned, key_line, with_origin
from tests.test_ci import github_env, gitlab_env


@pytest.fixture
def origin(tmp_path: Path) -> tuple[GitRepo, GitRepo]:
    """A remote whose main is clean, and the work repository that pushes to it."""
    origin, work = with_origin(tmp_path)
    work.commit_file("README.md", "hello\n")
    work.git("push", "-q", "origin", "main")
    return origin, work


def _github_tag(tmp: Path, tag: str, after: str, commit: str) -> dict[str, str]:
    payload = {
        "ref": f"refs/tags/{tag}",
        "before": ZERO,
        "after": after,
        "repository": {"default_branch": "main"},
    }
    env = github_env(tmp, "push", payload, commit)
    env["GITHUB_REF"] = f"refs/tags/{tag}"
    return env


def _gitlab_tag(tag: str, commit: str) -> dict[str, str]:
    return gitlab_env(
        CI_COMMIT_SHA=commit,
        CI_COMMIT_TAG=tag,
        CI_COMMIT_REF_NAME=tag,
        CI_COMMIT_BEFORE_SHA=ZERO,
        CI_DEFAULT_BRANCH="main",
    )


def _where(run_out: str) -> list[str]:
    return [f["path"] for f in json.loads(run_out)["findings"]]


def test_an_annotated_tags_message_is_scanned(
    origin: tuple[GitRepo, GitRepo], tmp_path: Path
) -> None:
    remote, work = origin
    commit = work.head()  # already on main: no commit to scan
    work.git("tag", "-a", "-m", f"release; token {kimi_code_key()}", "v1")
    work.git("push", "-q", "origin", "v1")
    tag = work.git("rev-parse", "v1").strip()
    clone = cloned(f"file://{remote.path}", tmp_path / "ci")
    for env in (_gitlab_tag("v1", commit), _github_tag(tmp_path, "v1", tag, commit)):
        run = run_cli("ci", "--format", "json", cwd=clone.path, env=env)
        assert run.code == 1, run.all  # it was exit 0: "new branch v1 ... nothing to scan"
        assert _where(run.out) == ["tag message of v1"]
        said = " ".join(run.err.split())
        assert f"tag v1: the tag v1 ({tag[:12]}) and the commits it names not on origin/main" in (
            said
        )
        assert "0 commits" in said


def test_a_tags_commits_off_the_default_branch_and_its_name_are_scanned(
    origin: tuple[GitRepo, GitRepo], tmp_path: Path
) -> None:
    remote, work = origin
    work.git("checkout", "-q", "-b", "release")
    line, _ = key_line()
    commit = work.commit_file("deploy.py", line, "only on the tag")
    work.git("tag", "v2")  # lightweight, and on no pushed branch
    name = f"x-{kimi_code_key()}"
    work.git("tag", name)
    work.git("push", "-q", "origin", "--tags")
    clone = cloned(f"file://{remote.path}", tmp_path / "ci")
    run = run_cli("ci", "--format", "json", cwd=clone.path, env=_gitlab_tag("v2", commit))
    assert run.code == 1, run.all
    assert _where(run.out) == ["deploy.py"]
    assert "1 commit" in run.err
    run = run_cli(
        "ci", "--format", "json", cwd=clone.path, env=_github_tag(tmp_path, name, commit, commit)
    )
    assert run.code == 1, run.all
    assert "ref name" in _where(run.out)
    # A clean tag of a commit already on main: scanned, and clean.
    work.git("checkout", "-q", "main")
    work.git("tag", "-a", "-m", "release 3", "v3")
    work.git("push", "-q", "origin", "v3")
    clone.git("fetch", "-q", "--tags", "origin")
    tag = clone.git("rev-parse", "v3").strip()
    run = run_cli("ci", cwd=clone.path, env=_github_tag(tmp_path, "v3", tag, work.head()))
    assert run.code == 0, run.all
    assert "0 commits" in run.err


def test_a_tag_object_the_clone_lacks_is_an_error_with_the_fetch(
    origin: tuple[GitRepo, GitRepo], tmp_path: Path
) -> None:
    """A checkout that made the tag a lightweight one at the commit (the tag object itself
    not fetched): its message cannot be read, exit 2 with the fetch, which works."""
    remote, work = origin
    commit = work.head()
    work.git("tag", "-a", "-m", f"release; token {kimi_code_key()}", "v1")
    work.git("push", "-q", "origin", "v1")
    tag = work.git("rev-parse", "v1").strip()
    clone = cloned(f"file://{remote.path}", tmp_path / "ci", "--no-tags")
    clone.git("tag", "v1", commit)
    env = _github_tag(tmp_path, "v1", tag, commit)
    run = run_cli("ci", cwd=clone.path, env=env)
    assert run.code == 2, run.all
    said = " ".join(run.err.split())
    assert f"the pushed tag refs/tags/v1 ({tag}) is not in this clone" in said
    [fetch] = [c for c in said.split("`") if c.startswith("git fetch ")]
    assert fetch == "git fetch origin +refs/tags/v1:refs/tags/v1"
    clone.git(*shlex.split(fetch)[1:])
    run = run_cli("ci", "--format", "json", cwd=clone.path, env=env)
    assert run.code == 1, run.all
    assert _where(run.out) == ["tag message of v1"]
