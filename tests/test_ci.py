"""`kimi-secret-scan ci`: the range each CI sets up, against real remotes and clones."""

from __future__ import annotations

import json
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.gitrepo import GitRepo, Run, run_cli
from tests.remotes import ZERO, cloned, findings, key_line, readme_block, with_origin

DOC = Path(__file__).resolve().parents[1] / "docs" / "ci.md"
_GITHUB_VARS = (
    "GITHUB_EVENT_NAME",
    "GITHUB_EVENT_PATH",
    "GITHUB_SHA",
    "GITHUB_REF",
    "GITHUB_BASE_REF",
    "GITHUB_STEP_SUMMARY",
)
_GITLAB_VARS = (
    "CI_COMMIT_SHA",
    "CI_COMMIT_BEFORE_SHA",
    "CI_COMMIT_BRANCH",
    "CI_COMMIT_TAG",
    "CI_COMMIT_REF_NAME",
    "CI_MERGE_REQUEST_IID",
    "CI_MERGE_REQUEST_DIFF_BASE_SHA",
    "CI_MERGE_REQUEST_TARGET_BRANCH_NAME",
)


def no_ci() -> dict[str, str]:
    """Blank every CI variable we read, so the tests behave the same inside a real CI."""
    return {name: "" for name in ("GITHUB_ACTIONS", "GITLAB_CI", *_GITHUB_VARS, *_GITLAB_VARS)}


def github_env(tmp: Path, event: str, payload: dict[str, object], sha: str) -> dict[str, str]:
    path = tmp / f"{event}-event.json"
    path.write_text(json.dumps(payload), encoding="utf-8")
    return {
        **no_ci(),
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": event,
        "GITHUB_EVENT_PATH": str(path),
        "GITHUB_SHA": sha,
    }


def gitlab_env(**values: str) -> dict[str, str]:
    return {**no_ci(), "GITLAB_CI": "true", **values}


@dataclass
class Project:
    origin: GitRepo
    work: GitRepo
    old_main: str  # main before the push; its history holds an old key already
    new_main: str  # main after a push that adds a key
    feature: str  # a branch off old_main adding a key
    tmp: Path

    def ci_clone(self, *args: str) -> GitRepo:
        name = f"ci{len(list(self.tmp.glob('ci*')))}"
        return cloned(f"file://{self.origin.path}", self.tmp / name, *args)


@pytest.fixture
def project(tmp_path: Path) -> Project:
    origin, work = with_origin(tmp_path)
    old_line, _ = key_line()
    work.commit_file("legacy.py", old_line, "an old key, already on the remote")
    old_main = work.commit_file("README.md", "hello\n")
    work.git("push", "-q", "origin", "main")
    work.git("checkout", "-q", "-b", "feature")
    line, _ = key_line()
    work.commit_file("feature.py", line, "feature adds a key")
    feature = work.commit_file("feature.txt", "clean\n")
    work.git("push", "-q", "origin", "feature")
    work.git("checkout", "-q", "main")
    line, _ = key_line()
    new_main = work.commit_file("main.py", line, "main adds a key")
    work.git("push", "-q", "origin", "main")
    return Project(origin, work, old_main, new_main, feature, tmp_path)


def _paths(run: Run) -> list[str]:
    return [f["path"] for f in findings(run)]


def test_github_pull_request_scans_base_to_head(project: Project) -> None:
    clone = project.ci_clone()
    payload = {
        "number": 7,
        "pull_request": {"base": {"sha": project.old_main}, "head": {"sha": project.feature}},
    }
    env = github_env(project.tmp, "pull_request", payload, project.feature)
    run = run_cli("ci", "--format", "json", env=env, cwd=clone.path)
    assert run.code == 1, run.all
    assert _paths(run) == ["feature.py"]
    assert "GitHub Actions pull request #7" in run.err
    assert f"{project.old_main[:12]}..{project.feature[:12]}" in run.err
    assert "2 commits" in run.err


@pytest.mark.parametrize(
    ("payload", "said"),
    [
        ({"number": 7, "pull_request": {"number": 7}}, "pull request #7"),
        ({"pull_request": {"number": 9}}, "pull request #9"),  # only under pull_request
        ({"pull_request": {}}, "pull request"),  # never "pull request #None"
    ],
)
def test_github_pull_request_number_as_the_event_file_gives_it(
    tmp_path: Path, payload: dict[str, dict[str, object]], said: str
) -> None:
    from kimi_secret_scan import ci_env

    pr = payload["pull_request"]
    pr["base"], pr["head"] = {"sha": "a" * 40}, {"sha": "b" * 40}
    env = github_env(tmp_path, "pull_request", payload, "b" * 40)
    assert ci_env.github(env).event == said


def test_github_pull_request_falls_back_to_the_checked_out_merge(project: Project) -> None:
    clone = project.ci_clone()
    # actions/checkout checks out the PR's test merge; pretend its head is not fetched.
    clone.git("checkout", "-q", "-b", "pr-merge", project.old_main)
    clone.git("merge", "-q", "--no-ff", "-m", "Merge feature into main", "origin/feature")
    payload = {
        "number": 7,
        "pull_request": {"base": {"sha": project.old_main}, "head": {"sha": "1" * 40}},
    }
    env = github_env(project.tmp, "pull_request", payload, clone.head())
    assert _paths(run_cli("ci", "--format", "json", env=env, cwd=clone.path)) == ["feature.py"]


def _pr_target_env(project: Project) -> dict[str, str]:
    """pull_request_target as GitHub runs it: GITHUB_SHA is the base branch's tip."""
    payload = {
        "number": 3,
        "pull_request": {"base": {"sha": project.old_main}, "head": {"sha": project.feature}},
    }
    env = github_env(project.tmp, "pull_request_target", payload, project.new_main)
    env.update(GITHUB_REF="refs/heads/main", GITHUB_BASE_REF="main")
    return env


def test_github_pull_request_target_without_the_head_fails_with_the_fix(
    project: Project,
) -> None:
    # actions/checkout under pull_request_target: the base branch only, no PR head.
    clone = project.ci_clone("--single-branch", "--branch", "main")
    with pytest.raises(AssertionError):
        clone.git("cat-file", "-e", project.feature)
    env = _pr_target_env(project)
    run = run_cli("ci", env=env, cwd=clone.path)
    # Never GITHUB_SHA (the base tip) as the head: that scanned 0 commits and passed.
    assert run.code == 2, run.all
    assert f"the head {project.feature} is not in this clone" in run.err
    checkout = yaml.safe_load(readme_block("pull_request_target", "yaml"))[0]
    assert checkout["with"]["fetch-depth"] == 0
    ref = checkout["with"]["ref"]
    assert ref == "${{ github.event.pull_request.head.sha }}"
    assert f"`ref: {ref}`" in " ".join(run.err.split())
    assert "runs none of it" in " ".join(DOC.read_text(encoding="utf-8").split())
    # The fetch it prints brings the head in; then the pull request's key is found.
    [fetch] = [c for c in run.err.split("`") if c.startswith("git fetch ")]
    clone.git(*shlex.split(fetch)[1:])
    run = run_cli("ci", "--format", "json", env=env, cwd=clone.path)
    assert run.code == 1, run.all
    assert _paths(run) == ["feature.py"]
    assert f"{project.old_main[:12]}..{project.feature[:12]}" in run.err


def test_github_pull_request_target_with_the_head_checked_out(project: Project) -> None:
    clone = project.ci_clone()
    clone.git("checkout", "-q", project.feature)
    run = run_cli("ci", "--format", "json", env=_pr_target_env(project), cwd=clone.path)
    assert run.code == 1, run.all
    assert _paths(run) == ["feature.py"]
    assert "GitHub Actions pull request #3" in run.err


def test_github_pull_request_without_base_sha_uses_github_base_ref(project: Project) -> None:
    clone = project.ci_clone()
    payload = {"number": 8, "pull_request": {"head": {"sha": project.feature}}}
    env = github_env(project.tmp, "pull_request", payload, project.feature)
    env["GITHUB_BASE_REF"] = "main"
    run = run_cli("ci", "--format", "json", env=env, cwd=clone.path)
    assert _paths(run) == ["feature.py"]


def test_github_push_scans_before_to_after(project: Project) -> None:
    clone = project.ci_clone()
    payload = {"ref": "refs/heads/main", "before": project.old_main, "after": project.new_main}
    env = github_env(project.tmp, "push", payload, project.new_main)
    run = run_cli("ci", "--format", "json", env=env, cwd=clone.path)
    assert _paths(run) == ["main.py"]
    assert "push to main" in run.err and "1 commit" in run.err


def test_github_new_branch_scans_only_commits_on_no_other_branch(project: Project) -> None:
    clone = project.ci_clone()
    payload = {
        "ref": "refs/heads/feature",
        "before": ZERO,
        "after": project.feature,
        "created": True,
    }
    env = github_env(project.tmp, "push", payload, project.feature)
    run = run_cli("ci", "--format", "json", env=env, cwd=clone.path)
    assert _paths(run) == ["feature.py"]  # not legacy.py, which main already had
    assert "new branch feature" in run.err and "2 commits" in run.err


def _twin_branches(project: Project) -> str:
    """One push creating two branches at a commit that adds a key."""
    work = project.work
    work.git("checkout", "-q", "-b", "twin", project.new_main)
    line, _ = key_line()
    tip = work.commit_file("twin.py", line, "twin adds a key")
    work.git("push", "-q", "origin", "twin:refs/heads/twin-a", "twin:refs/heads/twin-b")
    return tip


@pytest.mark.parametrize("default_named", [True, False])
def test_github_twin_new_branches_do_not_subtract_each_other(
    project: Project, default_named: bool
) -> None:
    """Each job once excluded the other branch of the same push: 0 commits, exit 0."""
    tip = _twin_branches(project)
    for branch in ("twin-a", "twin-b"):
        clone = project.ci_clone()
        payload: dict[str, object] = {"ref": f"refs/heads/{branch}", "before": ZERO, "after": tip}
        if default_named:
            payload["repository"] = {"default_branch": "main"}
        else:  # then origin/HEAD names it
            assert clone.git("symbolic-ref", "refs/remotes/origin/HEAD").strip().endswith("main")
        env = github_env(project.tmp, "push", payload, tip)
        run = run_cli("ci", "--format", "json", env=env, cwd=clone.path)
        assert run.code == 1, run.all
        assert _paths(run) == ["twin.py"]
        assert "not on origin/main (the default branch" in run.err and "1 commit" in run.err


def test_gitlab_twin_new_branches_compare_with_ci_default_branch(project: Project) -> None:
    tip = _twin_branches(project)
    clone = project.ci_clone()
    clone.git("remote", "set-head", "origin", "-d")  # only CI_DEFAULT_BRANCH names it
    for branch in ("twin-a", "twin-b"):
        env = gitlab_env(
            CI_COMMIT_BEFORE_SHA=ZERO,
            CI_COMMIT_SHA=tip,
            CI_COMMIT_BRANCH=branch,
            CI_DEFAULT_BRANCH="main",
        )
        run = run_cli("ci", "--format", "json", env=env, cwd=clone.path)
        assert _paths(run) == ["twin.py"], run.all


def test_new_branch_without_a_default_branch_scans_the_whole_history(project: Project) -> None:
    tip = _twin_branches(project)
    clone = project.ci_clone()
    clone.git("remote", "set-head", "origin", "-d")
    env = gitlab_env(CI_COMMIT_BEFORE_SHA=ZERO, CI_COMMIT_SHA=tip, CI_COMMIT_BRANCH="twin-a")
    run = run_cli("ci", "--format", "json", env=env, cwd=clone.path)
    # More than the push added (main's keys too), never less.
    assert sorted(_paths(run)) == ["legacy.py", "main.py", "twin.py"], run.all
    assert "every commit of" in run.err and "the default branch is unknown" in run.err


def test_github_branch_without_new_commits_scans_nothing(project: Project) -> None:
    project.work.git("push", "-q", "origin", "main:copy")
    clone = project.ci_clone()
    payload = {"ref": "refs/heads/copy", "before": ZERO, "after": project.new_main}
    run = run_cli(
        "ci", env=github_env(project.tmp, "push", payload, project.new_main), cwd=clone.path
    )
    assert run.code == 0, run.all
    assert "0 commits" in run.err


def test_github_deleted_branch_scans_nothing(project: Project) -> None:
    clone = project.ci_clone()
    payload = {
        "ref": "refs/heads/feature",
        "before": project.feature,
        "after": ZERO,
        "deleted": True,
    }
    run = run_cli("ci", env=github_env(project.tmp, "push", payload, ZERO), cwd=clone.path)
    assert run.code == 0, run.all
    assert "deletion of feature: nothing to scan" in run.err


def test_github_force_push_to_the_default_branch_scans_its_whole_history(
    project: Project,
) -> None:
    work = project.work
    work.git("reset", "-q", "--hard", project.old_main)
    line, _ = key_line()
    rewritten = work.commit_file("rewritten.py", line, "rewritten history")
    work.git("push", "-q", "-f", "origin", "main")
    clone = project.ci_clone()  # the old tip is on no ref the clone fetched
    payload = {
        "ref": "refs/heads/main",
        "before": project.new_main,
        "after": rewritten,
        "forced": True,
    }
    run = run_cli(
        "ci",
        "--format",
        "json",
        env=github_env(project.tmp, "push", payload, rewritten),
        cwd=clone.path,
    )
    # The old tip is gone, and main is the default branch: no base a push cannot move.
    assert sorted(_paths(run)) == ["legacy.py", "rewritten.py"]
    assert "force push to main" in run.err and "main is the default branch itself" in run.err


def test_github_force_push_to_a_branch_scans_what_the_default_branch_lacks(
    project: Project,
) -> None:
    work = project.work
    work.git("checkout", "-q", "-B", "feature", project.old_main)
    line, _ = key_line()
    rewritten = work.commit_file("rewritten.py", line, "rewritten history")
    work.git("push", "-q", "-f", "origin", "feature")
    clone = project.ci_clone()
    payload = {
        "ref": "refs/heads/feature",
        "before": project.feature,
        "after": rewritten,
        "forced": True,
        "repository": {"default_branch": "main"},
    }
    env = github_env(project.tmp, "push", payload, rewritten)
    run = run_cli("ci", "--format", "json", env=env, cwd=clone.path)
    assert _paths(run) == ["rewritten.py"]


def test_github_shallow_checkout_fails_with_the_fix(project: Project) -> None:
    clone = project.ci_clone("--depth", "1", "--branch", "feature")
    payload = {
        "number": 7,
        "pull_request": {"base": {"sha": project.old_main}, "head": {"sha": project.feature}},
    }
    run = run_cli(
        "ci", env=github_env(project.tmp, "pull_request", payload, project.feature), cwd=clone.path
    )
    assert run.code == 2, run.all
    assert "shallow" in run.err and "fetch-depth: 0" in run.err
    assert run.out == "" and "Traceback" not in run.all


def test_github_shallow_new_branch_fails_rather_than_scanning_everything(
    project: Project,
) -> None:
    clone = project.ci_clone("--depth", "1", "--branch", "feature")
    payload = {"ref": "refs/heads/feature", "before": ZERO, "after": project.feature}
    run = run_cli(
        "ci", env=github_env(project.tmp, "push", payload, project.feature), cwd=clone.path
    )
    assert run.code == 2, run.all
    assert "shallow clone" in run.err and "fetch-depth: 0" in run.err


def test_github_event_without_a_range_is_an_error(project: Project) -> None:
    clone = project.ci_clone()
    run = run_cli(
        "ci", env=github_env(project.tmp, "schedule", {}, project.new_main), cwd=clone.path
    )
    assert run.code == 2
    assert "'schedule' has no commit range" in run.err and "--base" in run.err


def test_gitlab_merge_request_uses_the_diff_base(project: Project) -> None:
    clone = project.ci_clone()
    env = gitlab_env(
        CI_MERGE_REQUEST_IID="3",
        CI_MERGE_REQUEST_DIFF_BASE_SHA=project.old_main,
        CI_MERGE_REQUEST_TARGET_BRANCH_NAME="main",
        CI_COMMIT_SHA=project.feature,
        CI_COMMIT_BEFORE_SHA=ZERO,
    )
    run = run_cli("ci", "--format", "json", env=env, cwd=clone.path)
    assert _paths(run) == ["feature.py"]
    assert "GitLab CI merge request !3" in run.err


def test_gitlab_push_uses_the_before_sha(project: Project) -> None:
    clone = project.ci_clone()
    env = gitlab_env(
        CI_COMMIT_BEFORE_SHA=project.old_main,
        CI_COMMIT_SHA=project.new_main,
        CI_COMMIT_BRANCH="main",
        CI_COMMIT_REF_NAME="main",
    )
    assert _paths(run_cli("ci", "--format", "json", env=env, cwd=clone.path)) == ["main.py"]


def test_gitlab_new_branch_scans_only_its_own_commits(project: Project) -> None:
    clone = project.ci_clone()
    env = gitlab_env(
        CI_COMMIT_BEFORE_SHA=ZERO,
        CI_COMMIT_SHA=project.feature,
        CI_COMMIT_BRANCH="feature",
        CI_COMMIT_REF_NAME="feature",
    )
    run = run_cli("ci", "--format", "json", env=env, cwd=clone.path)
    assert _paths(run) == ["feature.py"]
    assert "new branch feature" in run.err


def test_gitlab_shallow_clone_without_the_base_fails_with_the_fix(project: Project) -> None:
    clone = project.ci_clone("--depth", "1")
    env = gitlab_env(
        CI_COMMIT_BEFORE_SHA=project.old_main,
        CI_COMMIT_SHA=project.new_main,
        CI_COMMIT_BRANCH="main",
    )
    run = run_cli("ci", env=env, cwd=clone.path)
    assert run.code == 2
    assert "GIT_DEPTH: 0" in run.err


def test_generic_base_and_no_ci(project: Project) -> None:
    clone = project.ci_clone()
    run = run_cli("ci", "--base", project.old_main, "--format", "json", env=no_ci(), cwd=clone.path)
    assert _paths(run) == ["main.py"]
    assert f"--base: commits in {project.old_main[:12]}.." in run.err
    run = run_cli("ci", env=no_ci(), cwd=clone.path)
    assert run.code == 2
    assert "no supported CI detected" in run.err and "--base" in run.err


def _scanner_argv(command: str) -> list[str]:
    argv = shlex.split(command)
    assert argv[0] == "kimi-secret-scan"
    return argv[1:]


def test_readme_gitlab_job_runs_as_written(project: Project) -> None:
    job = yaml.safe_load(readme_block("GIT_DEPTH", "yaml"))["kimi-secret-scan"]
    assert job["variables"]["GIT_DEPTH"] == 0
    [scan] = [line for line in job["script"] if line.startswith("kimi-secret-scan")]
    argv = _scanner_argv(scan)
    clone = project.ci_clone()
    env = gitlab_env(
        CI_MERGE_REQUEST_IID="3",
        CI_MERGE_REQUEST_DIFF_BASE_SHA=project.old_main,
        CI_COMMIT_SHA=project.feature,
    )
    run = run_cli(*argv, env=env, cwd=clone.path)
    assert run.code == 1, run.all
    report = json.loads((clone.path / argv[argv.index("--output") + 1]).read_text())
    assert [f["path"] for f in report["findings"]] == ["feature.py"]
    assert job["artifacts"]["when"] == "always"
    assert sys.executable  # the scanner ran with this interpreter (run_cli)


def test_github_merge_queue(project: Project) -> None:
    clone = project.ci_clone()
    payload = {"merge_group": {"base_sha": project.old_main, "head_sha": project.feature}}
    env = github_env(project.tmp, "merge_group", payload, project.feature)
    run = run_cli("ci", "--format", "json", env=env, cwd=clone.path)
    assert _paths(run) == ["feature.py"] and "merge queue" in run.err


def test_gitlab_merge_request_without_diff_base_uses_the_target_branch(project: Project) -> None:
    clone = project.ci_clone()
    env = gitlab_env(
        CI_MERGE_REQUEST_IID="4",
        CI_MERGE_REQUEST_TARGET_BRANCH_NAME="main",
        CI_COMMIT_SHA=project.feature,
    )
    run = run_cli("ci", "--format", "json", env=env, cwd=clone.path)
    assert _paths(run) == ["feature.py"]
    assert f"{project.new_main[:12]}..{project.feature[:12]}" in run.err
