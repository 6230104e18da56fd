"""The configuration a gate trusts is the one of the base the user or the CI names (range's
BASE, a pull request's base, a merge request's target branch, the remote's old tip or
default branch), never the parent of the oldest scanned commit: a change chooses that by
where it forks (review h8b, findings 5 to 7). Real repositories, clones and the real CLI."""

from __future__ import annotations

import json
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.gitrepo import GitRepo, Run, run_cli
from tests.keygen import moonshot_key
from tests.remotes import ZERO, cloned, with_origin
from tests.test_ci import github_env, gitlab_env

FAIL = 'new-suppressions = "fail"\n'


@dataclass
class Project:
    origin: GitRepo
    work: GitRepo
    old: str  # main's first commit, whose configuration main has since changed
    tmp: Path

    def clone(self, name: str) -> GitRepo:
        return cloned(f"file://{self.origin.path}", self.tmp / name)


def project(tmp: Path, old_config: str | None, branches: dict[str, str]) -> Project:
    """origin's main: c0 (with `old_config`, if any), then c1 setting new-suppressions =
    "fail" (and dropping the rest); each branch of `branches` forks from c0 and commits one
    file (name -> content); all pushed."""
    origin, work = with_origin(tmp)
    if old_config is not None:
        work.write(".kimi-secret-scan.toml", old_config)
        work.add(".kimi-secret-scan.toml")
    old = work.commit_file("README.md", "hello\n", "c0")
    work.commit_file(".kimi-secret-scan.toml", FAIL, "c1: fail on new suppressions")
    work.git("push", "-q", "origin", "main")
    for name, content in branches.items():
        path, text = content.split("\0")
        work.git("checkout", "-q", "-b", name, old)
        work.write(path, text)
        work.add(path)
        work.git("commit", "-q", "--no-verify", "-m", f"add {path}")
        work.git("push", "-q", "origin", name)
    work.git("checkout", "-q", "main")
    return Project(origin, work, old, tmp)


def allowed_key() -> str:
    return f"a.env\0K={moonshot_key()}  # kimi-secret-scan: allow\n"


def github_pr_on_merge(p: Project, clone: GitRepo, branch: str) -> Run:
    """GitHub pull_request as actions/checkout runs it: the test merge checked out,
    base.sha = main's tip."""
    main = clone.git("rev-parse", "origin/main").strip()
    head = clone.git("rev-parse", f"origin/{branch}").strip()
    clone.git("checkout", "-q", "--detach", main)
    clone.git("merge", "-q", "--no-ff", "--no-edit", "--allow-unrelated-histories", head)
    payload = {"number": 1, "pull_request": {"base": {"sha": main}, "head": {"sha": head}}}
    env = github_env(p.tmp, "pull_request", payload, clone.head())
    return run_cli("ci", "--format", "json", env=env, cwd=clone.path)


def failing_on_suppression(run: Run) -> None:
    assert run.code == 1, run.all
    [hidden] = json.loads(run.out)["suppressed"]
    assert hidden["path"] in ("a.env", "legacy/a.env")
    assert "hidden by suppressions this change added: failing" in run.err


def test_a_branch_from_before_main_removed_an_exclude_is_checked_against_main(
    tmp_path: Path,
) -> None:
    key = moonshot_key()
    p = project(tmp_path, 'exclude = ["legacy/"]\n', {"mr-old": f"legacy/a.env\0K={key}\n"})
    clone = p.clone("ci")
    clone.git("checkout", "-q", "mr-old")  # GitLab's merge request pipelines: the head
    head = clone.head()
    run = run_cli("range", "refs/remotes/origin/main..HEAD", "--format", "json", cwd=clone.path)
    failing_on_suppression(run)
    env = gitlab_env(
        CI_MERGE_REQUEST_IID="7",
        CI_MERGE_REQUEST_TARGET_BRANCH_NAME="main",
        CI_MERGE_REQUEST_DIFF_BASE_SHA=p.old,  # the merge base: where the branch forked
        CI_COMMIT_SHA=head,
    )
    run = run_cli("ci", "--format", "json", env=env, cwd=clone.path)
    failing_on_suppression(run)
    assert key not in run.all


def test_a_merge_request_whose_target_is_not_in_the_clone_says_how_to_fetch_it(
    tmp_path: Path,
) -> None:
    p = project(tmp_path, 'exclude = ["legacy/"]\n', {"mr-old": allowed_key()})
    clone = p.clone("ci")
    clone.git("checkout", "-q", "mr-old")
    clone.git("update-ref", "-d", "refs/remotes/origin/main")
    env = gitlab_env(
        CI_MERGE_REQUEST_IID="7",
        CI_MERGE_REQUEST_TARGET_BRANCH_NAME="main",
        CI_MERGE_REQUEST_DIFF_BASE_SHA=p.old,
        CI_COMMIT_SHA=clone.head(),
    )
    run = run_cli("ci", env=env, cwd=clone.path)
    assert run.code == 2, run.all
    assert "target branch (origin/main) is not in this clone" in run.err
    [command] = [c for c in run.err.split("`") if c.startswith("git fetch ")]
    subprocess.run(shlex.split(command), cwd=clone.path, check=True, capture_output=True)
    assert run_cli("ci", env=env, cwd=clone.path).code == 1


def test_a_branch_from_before_main_set_the_policy_is_held_to_it(tmp_path: Path) -> None:
    p = project(tmp_path, None, {"pr-old": allowed_key()})
    clone = p.clone("ci")
    run = run_cli(
        "range",
        "refs/remotes/origin/main..refs/remotes/origin/pr-old",
        "--format",
        "json",
        cwd=clone.path,
    )
    failing_on_suppression(run)
    failing_on_suppression(github_pr_on_merge(p, clone, "pr-old"))
    # The change still cannot relax main's policy with its own configuration.
    run = run_cli("ci", "--base", "origin/main", "--head", "origin/pr-old", cwd=clone.path)
    assert run.code == 1, run.all


def test_a_branch_starting_with_an_orphan_root_is_held_to_mains_policy(tmp_path: Path) -> None:
    p = project(tmp_path, None, {})
    work = p.work
    work.git("checkout", "-q", "--orphan", "pr-orphan")
    work.git("rm", "-rqf", ".")
    work.commit_file("o.txt", "o\n", "orphan root")
    work.git("merge", "-q", "--no-edit", "--allow-unrelated-histories", "main")
    path, text = allowed_key().split("\0")
    work.commit_file(path, text, "add a.env")
    work.git("push", "-q", "origin", "pr-orphan")
    clone = p.clone("ci")
    run = run_cli(
        "range",
        "refs/remotes/origin/main..refs/remotes/origin/pr-orphan",
        "--format",
        "json",
        cwd=clone.path,
    )
    failing_on_suppression(run)
    failing_on_suppression(github_pr_on_merge(p, clone, "pr-orphan"))


def test_pre_push_of_a_new_branch_trusts_the_remotes_default_branch(tmp_path: Path) -> None:
    p = project(tmp_path, None, {})
    clone = p.clone("dev")  # origin/HEAD -> origin/main, as a clone sets it
    path, text = allowed_key().split("\0")
    clone.git("checkout", "-q", "-b", "pr-old", p.old)
    clone.commit_file(path, text, "add a.env")
    stdin = f"refs/heads/pr-old {clone.head()} refs/heads/pr-old {ZERO}\n".encode()
    run = run_cli("pre-push", "origin", "url", "--format", "json", cwd=clone.path, input=stdin)
    failing_on_suppression(run)


def test_pre_push_of_an_update_trusts_the_remote_branchs_old_tip(tmp_path: Path) -> None:
    # The remote's feature branch already forked before the policy; its old tip's
    # configuration (the policy, merged in since) is the one trusted, not the fork point's.
    p = project(tmp_path, None, {"feature": "f.txt\0clean\n"})
    clone = p.clone("dev")
    clone.git("checkout", "-q", "feature")
    clone.git("merge", "-q", "--no-edit", "origin/main")
    clone.git("push", "-q", "origin", "feature")
    old = clone.head()
    path, text = allowed_key().split("\0")
    clone.commit_file(path, text, "add a.env")
    stdin = f"refs/heads/feature {clone.head()} refs/heads/feature {old}\n".encode()
    run = run_cli("pre-push", "origin", "url", "--format", "json", cwd=clone.path, input=stdin)
    failing_on_suppression(run)


def test_pre_receive_holds_a_branch_from_an_orphan_root_to_the_servers_policy(
    tmp_path: Path,
) -> None:
    # pre-receive never reads a commit's configuration: the server's own file decides.
    from tests.test_gates import push, setup

    server, work, _ = setup(tmp_path, hook=True)
    (server.path / ".kimi-secret-scan.toml").write_text(FAIL)
    work.git("checkout", "-q", "--orphan", "pr-orphan")
    work.git("rm", "-rqf", ".")
    path, text = allowed_key().split("\0")
    work.commit_file(path, text, "orphan root with a key")
    proc = push(work, "origin", "pr-orphan")
    assert proc.returncode != 0 and "failing" in proc.stderr, proc.stderr


def test_pre_push_under_pre_commit_does_not_trust_its_fork_point(tmp_path: Path) -> None:
    # pre-commit hands a new branch's push FROM_REF = the fork point it computes: the
    # remote's default branch is trusted instead.
    p = project(tmp_path, None, {})
    clone = p.clone("dev")
    path, text = allowed_key().split("\0")
    clone.git("checkout", "-q", "-b", "pr-old", p.old)
    clone.commit_file(path, text, "add a.env")
    env = {
        "PRE_COMMIT_FROM_REF": p.old,
        "PRE_COMMIT_TO_REF": clone.head(),
        "PRE_COMMIT_REMOTE_NAME": "origin",
        "PRE_COMMIT_REMOTE_BRANCH": "refs/heads/pr-old",
        "PRE_COMMIT_LOCAL_BRANCH": "refs/heads/pr-old",
    }
    run = run_cli("pre-push", "--format", "json", env=env, cwd=clone.path)
    failing_on_suppression(run)


def test_ci_new_branch_push_trusts_the_default_branch(tmp_path: Path) -> None:
    p = project(tmp_path, None, {"pr-old": allowed_key()})
    clone = p.clone("ci")
    head = clone.git("rev-parse", "origin/pr-old").strip()
    payload = {
        "ref": "refs/heads/pr-old",
        "before": ZERO,
        "after": head,
        "repository": {"default_branch": "main"},
    }
    run = run_cli(
        "ci", "--format", "json", env=github_env(p.tmp, "push", payload, head), cwd=clone.path
    )
    failing_on_suppression(run)
