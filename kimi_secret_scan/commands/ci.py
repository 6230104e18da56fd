"""`kimi-secret-scan ci`: the commits this CI job's push or pull request adds."""

from __future__ import annotations

import os
from pathlib import Path

import click

from kimi_secret_scan import git
from kimi_secret_scan.ci_env import CiRange, detect_range
from kimi_secret_scan.cli import (
    ScanOptions,
    handle_errors,
    max_size_option,
    new_suppressions_option,
    scan_options,
)
from kimi_secret_scan.commands.range import (
    git_dir_cwd,
    range_between,
    repo_option,
    scan_commits,
)
from kimi_secret_scan.errors import ExitCode
from kimi_secret_scan.sources.commits import (
    RevRange,
    is_shallow,
    missing_commit_error,
    resolve_commit,
)


def other_branches(cwd: Path, branch: str | None) -> tuple[str, ...]:
    """Every remote-tracking branch except the pushed one's own (and the HEAD aliases)."""
    out = git.run_git(["for-each-ref", "--format=%(refname)", "refs/remotes/"], cwd)
    refs = []
    for ref in out.decode("utf-8", "surrogateescape").splitlines():
        remote_branch = ref.split("/", 3)[3] if ref.count("/") >= 3 else ""
        if remote_branch == "HEAD" or (branch is not None and remote_branch == branch):
            continue
        refs.append(ref)
    return tuple(refs)


def _new_branch(cwd: Path, ci: CiRange, head_id: str) -> tuple[RevRange, str]:
    exclude = other_branches(cwd, ci.branch)
    what = f"commits of {head_id[:12]} on no other branch"
    return RevRange((head_id,), exclude), what


def choose_range(cwd: Path, ci: CiRange) -> tuple[RevRange, str]:
    head_id = resolve_commit(cwd, ci.head)
    if head_id is None and ci.fallback_head:
        head_id = resolve_commit(cwd, ci.fallback_head)
    if head_id is None:
        raise missing_commit_error(cwd, ci.head, "head")
    if ci.base is None:
        return _new_branch(cwd, ci, head_id)
    base_id = resolve_commit(cwd, ci.base)
    if base_id is None:
        if ci.forced and not is_shallow(cwd):
            # The old tip of a force push is often gone from every ref the clone fetched.
            return _new_branch(cwd, ci, head_id)
        raise missing_commit_error(cwd, ci.base, "base")
    return RevRange((head_id,), (base_id,)), f"{base_id[:12]}..{head_id[:12]}"


@click.command("ci")
@click.option("--base", help="Scan the commits HEAD has that BASE lacks (overrides CI detection).")
@click.option("--head", default="HEAD", show_default=True, help="The tip to scan, with --base.")
@repo_option
@max_size_option
@new_suppressions_option
@scan_options
@handle_errors
def command(
    base: str | None,
    head: str,
    repo: str,
    max_file_size: int,
    no_new_suppressions: bool,
    opts: ScanOptions,
) -> int:
    """Scan the commits the current CI push or pull request adds.

    GitHub Actions (pull_request, push, merge_group) and GitLab CI (merge requests and
    pushes) are detected from their environment; elsewhere pass --base. The range chosen
    is printed. A shallow clone that lacks the base fails with exit 2 and the fix.
    """
    cwd = git_dir_cwd(repo)
    if base is not None:
        rev_range, shown = range_between(cwd, base, head)
        scope = f"--base: commits in {shown}"
    else:
        ci = detect_range(os.environ)
        if ci.nothing:
            if not opts.quiet:
                click.echo(f"kimi-secret-scan: {ci.provider} {ci.event}: nothing to scan", err=True)
            result = opts.scan("ci", f"{ci.provider} {ci.event}", [])
            opts.report(result)
            return ExitCode.CLEAN
        rev_range, shown = choose_range(cwd, ci)
        scope = f"{ci.provider} {ci.event}: {shown}"
    return scan_commits(opts, cwd, rev_range, "ci", scope, no_new_suppressions=no_new_suppressions)
