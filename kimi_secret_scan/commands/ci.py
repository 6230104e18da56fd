"""`kimi-secret-scan ci`: the commits this CI job's push or pull request adds."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

import click

from kimi_secret_scan import git
from kimi_secret_scan.ci_env import CiRange, detect_range
from kimi_secret_scan.cli import (
    ScanOptions,
    handle_errors,
    lfs_option,
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
from kimi_secret_scan.errors import ExitCode, ScanError
from kimi_secret_scan.sources.commits import (
    RevRange,
    fetch_hint,
    is_shallow,
    missing_commit_error,
    resolve_commit,
)
from kimi_secret_scan.sources.metadata import PushedRef


def default_branch_ref(cwd: Path, ci: CiRange) -> tuple[str | None, str]:
    """The remote-tracking ref of the repository's default branch, or None; and, in words,
    why it is what it is.

    A new branch's commits that the default branch already has were scanned by the
    default branch's own jobs. No other branch is such a base: one push can create two
    branches at the same commit (`git push origin key:refs/heads/a key:refs/heads/b`), and
    each job would then subtract the other and scan nothing. The default branch's name
    comes from the CI (GitHub's event, GitLab's CI_DEFAULT_BRANCH) or the clone's
    origin/HEAD, none of which a push sets.
    """
    name = ci.default_branch
    if name is None:
        target = git.try_git(["symbolic-ref", "-q", "refs/remotes/origin/HEAD"], cwd)
        prefix = "refs/remotes/origin/"
        text = target.decode("utf-8", "surrogateescape").strip() if target else ""
        name = text[len(prefix) :] if text.startswith(prefix) else None
    if name is None:
        return None, "the default branch is unknown (no origin/HEAD in this clone)"
    if ci.branch == name:
        return None, f"{name} is the default branch itself"
    ref = f"refs/remotes/origin/{name}"
    if resolve_commit(cwd, ref) is None:
        return None, f"the default branch origin/{name} is not in this clone"
    return ref, f"origin/{name}"


def _new_branch(cwd: Path, ci: CiRange, head_id: str) -> tuple[RevRange, str, str | None]:
    base, why = default_branch_ref(cwd, ci)
    if base is None:
        # No base a push cannot forge: the whole history is scanned (more than needed,
        # never less), and the scope says so; no configuration is trusted.
        return RevRange((head_id,)), f"every commit of {head_id[:12]} ({why})", None
    what = f"commits of {head_id[:12]} not on {why} (the default branch; other branches' too)"
    return RevRange((head_id,), (base,)), what, resolve_commit(cwd, base)


def merge_request_target(cwd: Path, ci: CiRange) -> str:
    """The commit whose configuration a GitLab merge request's scan trusts: its target
    branch's tip. Not the diff base: that is where the merge request forked, which it
    chooses (an old commit whose configuration still excluded a path main has since
    un-excluded, or set no `new-suppressions = "fail"` yet)."""
    assert ci.target is not None
    for name in ci.target:
        found = resolve_commit(cwd, name)
        if found is not None:
            return found
    if not ci.target:
        # GitLab names the target branch in every merge request pipeline; without it,
        # the default branch is the likeliest target.
        ref, _why = default_branch_ref(cwd, ci)
        found = resolve_commit(cwd, ref) if ref else None
        if found is not None:
            return found
    named = ci.target[0].removeprefix("refs/remotes/") if ci.target else "the target branch"
    branch = named.removeprefix("origin/")
    spec = shlex.quote(f"+refs/heads/{branch}:refs/remotes/origin/{branch}")
    raise ScanError(
        f"the merge request's target branch ({named}) is not in this clone: its configuration "
        "is the one the scan trusts (not the diff base's, which the merge request chooses); "
        f"set `GIT_DEPTH: 0` in the job's variables, or fetch it (`git fetch origin {spec}`) "
        "and run again"
    )


def choose_range(cwd: Path, ci: CiRange) -> tuple[RevRange, str, str | None]:
    """The range to scan, in words, and the commit whose configuration is trusted (the
    base the CI names: the pull request's base, the target branch's tip, `before`, the
    default branch for a new branch; None when there is none)."""
    head_id = resolve_commit(cwd, ci.head)
    base_id = resolve_commit(cwd, ci.base) if ci.base is not None else None
    if head_id is None and ci.fallback_head:
        head_id = resolve_commit(cwd, ci.fallback_head)
        if head_id is not None and head_id == base_id:
            # The fallback is the base itself: base..base would scan nothing.
            head_id = None
    if head_id is None:
        if ci.head_advice:
            hint = fetch_hint(cwd, ci.head, shallow=False)
            raise ScanError(
                f"the head {ci.head} is not in this clone: {ci.head_advice}; or fetch it "
                f"here (`{hint}`) and run again"
            )
        raise missing_commit_error(cwd, ci.head, "head")
    if ci.base is None:
        return _new_branch(cwd, ci, head_id)
    if base_id is None:
        if ci.forced and not is_shallow(cwd):
            # The old tip of a force push is often gone from every ref the clone fetched.
            return _new_branch(cwd, ci, head_id)
        raise missing_commit_error(cwd, ci.base, "base")
    trusted = merge_request_target(cwd, ci) if ci.target is not None else base_id
    return RevRange((head_id,), (base_id,)), f"{base_id[:12]}..{head_id[:12]}", trusted


def tag_push(cwd: Path, ci: CiRange) -> tuple[RevRange, str, PushedRef, str | None]:
    """What a pushed tag publishes: its name, its tag object (the message and tagger, a
    tag of a tag followed), and the commits it names that the default branch lacks (all of
    them when there is no default branch to compare with; none for a tag of a blob or a
    tree, whose objects scan_commits reads). A tag object that is not in the clone is an
    error that says how to fetch it, never a pass on its name alone."""
    assert ci.tag is not None
    oid = ci.tag_object
    if oid is None:
        # GitLab names the commit only: the tag object is the one the clone fetched.
        local = git.try_git(["rev-parse", "--verify", "-q", ci.tag], cwd)
        oid = local.decode("ascii", "replace").strip() if local else None
    elif git.try_git(["cat-file", "-e", oid], cwd) is None:
        oid = None
    if oid is None:
        remote = "origin"
        remotes = (git.try_git(["remote"], cwd) or b"").decode("utf-8", "surrogateescape")
        if remotes.split() and "origin" not in remotes.split():
            remote = remotes.split()[0]
        spec = shlex.quote(f"+{ci.tag}:{ci.tag}")
        pushed = f" ({ci.tag_object})" if ci.tag_object else ""
        raise ScanError(
            f"the pushed tag {ci.tag}{pushed} is not in this clone, so what it publishes "
            f"cannot be read; fetch it (`git fetch {shlex.quote(remote)} {spec}`) and run again"
        )
    tips: list[str] = []
    for name in (oid, None if ci.tag_object else ci.head):
        if name is None:
            continue
        commit = resolve_commit(cwd, name)
        if commit is None and name == ci.head:
            raise missing_commit_error(cwd, ci.head, "head")
        if commit is not None and commit not in tips:
            tips.append(commit)
    base, why = default_branch_ref(cwd, ci)
    named = f"the tag {ci.tag.removeprefix('refs/tags/')} ({oid[:12]})"
    if not tips:
        what = f"{named}: it names no commit"
    elif base is None:
        what = f"{named} and every commit it names ({why})"
    else:
        what = f"{named} and the commits it names not on {why} (the default branch)"
    trusted = resolve_commit(cwd, base) if base else None  # the default branch's tip
    return RevRange(tuple(tips), (base,) if base else ()), what, PushedRef(ci.tag, oid), trusted


@click.command("ci")
@click.option("--base", help="Scan the commits HEAD has that BASE lacks (overrides CI detection).")
@click.option("--head", default="HEAD", show_default=True, help="The tip to scan, with --base.")
@repo_option
@max_size_option
@lfs_option
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

    GitHub Actions (pull_request, pull_request_target, push, merge_group) and GitLab CI
    (merge requests and pushes) are detected from their environment; elsewhere pass --base.
    A pushed tag's name and message are scanned with the commits it adds.
    The range chosen is printed. A shallow clone that lacks the base fails with exit 2 and the fix.
    """
    cwd = git_dir_cwd(repo)
    if base is not None:
        rev_range, shown = range_between(cwd, base, head)
        trusted: str | None = rev_range.exclude[0]  # --base as resolved
        scope = f"--base: commits in {shown}"
    else:
        ci = detect_range(os.environ)
        if ci.nothing:
            if not opts.quiet:
                click.echo(f"kimi-secret-scan: {ci.provider} {ci.event}: nothing to scan", err=True)
            result = opts.scan("ci", f"{ci.provider} {ci.event}", [])
            opts.report(result)
            return ExitCode.CLEAN
        if ci.tag is not None:
            rev_range, shown, pushed, trusted = tag_push(cwd, ci)
            scope = f"{ci.provider} {ci.event}: {shown}"
            return scan_commits(
                opts,
                cwd,
                rev_range,
                "ci",
                scope,
                refs=[pushed],
                no_new_suppressions=no_new_suppressions,
                base=trusted,
            )
        rev_range, shown, trusted = choose_range(cwd, ci)
        scope = f"{ci.provider} {ci.event}: {shown}"
    return scan_commits(
        opts,
        cwd,
        rev_range,
        "ci",
        scope,
        no_new_suppressions=no_new_suppressions,
        base=trusted,
    )
