"""`kimi-secret-scan pre-push`: the commits a push would send that the remote lacks.

Works as a plain git hook (`<remote> <url>` arguments, one `<local ref> <local sha>
<remote ref> <remote sha>` line per pushed ref on stdin, every line honoured) and under
the pre-commit framework (PRE_COMMIT_FROM_REF / PRE_COMMIT_TO_REF / PRE_COMMIT_REMOTE_NAME;
pre-commit keeps stdin to itself: only its one range is scanned, and the scope says what
is not, see pre_commit_scope).

What the remote certainly has is excluded: the old tip git reports for each pushed ref
(read from the remote for this push). Remote-tracking branches are not: they are what the
remote held at the last fetch, and a branch deleted or rewritten there since (to take a
leaked key away) would pass again. So an update scans old..new, a force push what is new
since the old tip, a deleted ref nothing, and a new branch every commit no pushed ref's old
tip holds.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

import click

from kimi_secret_scan import git
from kimi_secret_scan.cli import (
    ScanOptions,
    handle_errors,
    lfs_option,
    max_size_option,
    new_suppressions_option,
    scan_options,
)
from kimi_secret_scan.commands.range import git_dir_cwd, repo_option, scan_commits
from kimi_secret_scan.errors import ExitCode, ScanError
from kimi_secret_scan.org.targets import without_credentials
from kimi_secret_scan.sources.commits import (
    RevRange,
    is_zero,
    missing_commit_error,
    resolve_commit,
)
from kimi_secret_scan.sources.metadata import PushedRef


def _on_remote(cwd: Path, remote_shas: list[str]) -> tuple[str, ...]:
    """The commits to exclude: the remote's old tips this clone has (one it lacks, after
    a force push over commits never fetched, excludes nothing: more is scanned, not less)."""
    return tuple(sha for sha in remote_shas if resolve_commit(cwd, sha))


def remote_default_tip(cwd: Path, remote: str) -> str | None:
    """The remote's default branch as this clone knows it (`<remote>/HEAD`, set by clone or
    `git remote set-head`), or None: the configuration a new branch's push trusts."""
    target = git.try_git(["symbolic-ref", "-q", f"refs/remotes/{remote}/HEAD"], cwd)
    name = target.decode("utf-8", "surrogateescape").strip() if target else ""
    return resolve_commit(cwd, name) if name.startswith("refs/remotes/") else None


def trusted_base(cwd: Path, remote: str, rev_range: RevRange, updated: bool) -> str | None:
    """The commit whose configuration the push is checked against: the remote's old tip of
    the first ref it updates (what the remote holds and the change goes onto), or for new
    branches only, the remote's default branch; never the parent of the oldest pushed
    commit, which the change chooses by where it forks (docs/suppressions.md)."""
    if updated and rev_range.exclude:
        return rev_range.exclude[0]
    return remote_default_tip(cwd, remote)


def from_stdin(
    cwd: Path, remote: str, text: str, refs: list[PushedRef] | None = None
) -> tuple[RevRange, list[str]]:
    """The range of a plain hook's stdin; and, per pushed ref, what it does, in words.
    The refs pushed (local and remote names, and what they point at) go to `refs`."""
    include: list[str] = []
    remote_shas: list[str] = []
    described: list[str] = []
    refs = [] if refs is None else refs
    for line in text.splitlines():
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 4:
            raise ScanError(f"unexpected pre-push input line: {line[:120]!r}")
        _local_ref, local_sha, remote_ref, remote_sha = parts
        if is_zero(local_sha):
            described.append(f"delete {remote_ref}")
            continue
        include.append(local_sha)
        refs += [PushedRef(_local_ref, local_sha), PushedRef(remote_ref, local_sha)]
        if is_zero(remote_sha):
            described.append(f"new {remote_ref}")
        else:
            remote_shas.append(remote_sha)
            described.append(f"update {remote_ref}")
    return RevRange(tuple(include), _on_remote(cwd, remote_shas)), described


def from_pre_commit(cwd: Path, env: Mapping[str, str]) -> tuple[RevRange, list[str]]:
    """pre-commit keeps stdin and passes one range: FROM_REF is the remote's old tip, or for a
    new branch pre-commit's own choice (the parent of the first commit on none of the
    remote-tracking branches): the only base it gives, so the one excluded."""
    to_ref = env.get("PRE_COMMIT_TO_REF")
    from_ref = env.get("PRE_COMMIT_FROM_REF")
    branch = env.get("PRE_COMMIT_REMOTE_BRANCH") or "the remote branch"
    if to_ref:
        remote_shas = [from_ref] if from_ref and not is_zero(from_ref) else []
        # pre-commit does not say whether the branch is new there: FROM_REF is either.
        return RevRange((to_ref,), _on_remote(cwd, remote_shas)), [branch]
    # pre-commit passes no refs when the push includes a root commit (it runs "all files").
    local = env.get("PRE_COMMIT_LOCAL_BRANCH") or "HEAD"
    return RevRange((local,), ()), [f"new {branch}"]


def pre_commit_updates(cwd: Path, remote: str, env: Mapping[str, str]) -> bool:
    """Whether pre-commit's FROM_REF is the remote branch's old tip (an update), not the
    fork point pre-commit computes for a new branch (which the change chooses): the
    remote-tracking ref of the pushed branch points at it."""
    from_ref = env.get("PRE_COMMIT_FROM_REF") or ""
    branch = env.get("PRE_COMMIT_REMOTE_BRANCH") or ""
    if not from_ref or is_zero(from_ref) or not branch.startswith("refs/heads/"):
        return False
    tracking = resolve_commit(cwd, f"refs/remotes/{remote}/{branch.removeprefix('refs/heads/')}")
    return tracking is not None and tracking == resolve_commit(cwd, from_ref)


def pre_commit_scope(remote: str, described: list[str], env: Mapping[str, str]) -> str:
    """What pre-commit handed over, and what this hook cannot check under it, in words.

    pre-commit reads git's stdin itself and passes on one range: the first pushed ref with
    commits to send (the other refs of the same push never reach this process, so their
    number cannot be known here), and for a new branch a base it computes from the
    remote-tracking branches (stale once the remote deletes or rewrites one: the commits
    below it are taken as on the remote unread). Said in the scope, so in every format.
    """
    to_ref = env.get("PRE_COMMIT_TO_REF")
    from_ref = env.get("PRE_COMMIT_FROM_REF")
    others = "the other refs of the same push (pre-commit passes only the first)"
    if to_ref and from_ref:
        given = f"{from_ref[:12]}..{to_ref[:12]}"
        unchecked = (
            f"{others} and the commits pre-commit counted as on {remote} (from "
            "remote-tracking branches, which may be stale); the plain git hook "
            '`kimi-secret-scan pre-push "$@"` checks both'
        )
    else:
        # No range (a push with a root commit): every commit of the branch is scanned.
        given = f"every commit of {env.get('PRE_COMMIT_LOCAL_BRANCH') or 'HEAD'}"
        unchecked = f'{others}; the plain git hook `kimi-secret-scan pre-push "$@"` checks them'
    return (
        f"push to {remote} ({', '.join(described)}) as pre-commit handed it: {given}; "
        f"NOT checked under pre-commit: {unchecked} (docs/ci.md)"
    )


@click.command("pre-push")
@click.argument("remote", required=False)
@click.argument("url", required=False)
@repo_option
@max_size_option
@lfs_option
@new_suppressions_option
@scan_options
@handle_errors
def command(
    remote: str | None,
    url: str | None,
    repo: str,
    max_file_size: int,
    no_new_suppressions: bool,
    opts: ScanOptions,
) -> int:
    """Scan the commits a push sends that the remote does not have (the pre-push hook).

    Only the remote's old tips that git passes on stdin count as on the remote, never its
    remote-tracking branches (stale once the remote deletes or rewrites a branch): a new
    branch is scanned whole, but for the old tips of refs pushed with it. Run by hand (stdin
    a terminal), no tip is given, so it scans every commit of HEAD.
    """
    cwd = git_dir_cwd(repo)
    env = os.environ
    refs: list[PushedRef] = []
    scope = ""
    if env.get("PRE_COMMIT_TO_REF") or env.get("PRE_COMMIT_REMOTE_NAME"):
        rev_range, described = from_pre_commit(cwd, env)
        remote = env.get("PRE_COMMIT_REMOTE_NAME") or remote or "origin"
        updated = pre_commit_updates(cwd, remote, env)
        tip = rev_range.include[0]
        for name in ("PRE_COMMIT_LOCAL_BRANCH", "PRE_COMMIT_REMOTE_BRANCH"):
            if env.get(name):
                refs.append(PushedRef(env[name], tip))
        scope = pre_commit_scope(without_credentials(remote), described, env)
    elif sys.stdin is None or sys.stdin.isatty():
        remote = remote or "origin"
        if resolve_commit(cwd, "HEAD") is None:
            raise missing_commit_error(cwd, "HEAD", "head")  # an unborn branch, said plainly
        # No remote tip is given by hand: nothing is known to be on the remote (its
        # remote-tracking branches may be stale), so HEAD's every commit is scanned.
        rev_range = RevRange(("HEAD",), ())
        described = ["HEAD, run by hand: no tips of the remote given"]
        updated = False
        branch = git.try_git(["symbolic-ref", "-q", "HEAD"], cwd)
        if branch:
            name = branch.decode("utf-8", "surrogateescape").removesuffix("\n")
            refs.append(PushedRef(name, "HEAD"))
    else:
        remote = remote or "origin"
        rev_range, described = from_stdin(cwd, remote, sys.stdin.read(), refs)
        updated = any(what.startswith("update ") for what in described)
    # A push straight to a URL (`git push https://user:TOKEN@host/r.git`) passes that URL as
    # the remote: shown without its credentials, in every format.
    shown = without_credentials(remote)
    if not scope:
        what = ", ".join(described) or "nothing"
        scope = f"push to {shown} ({what}): commits not known to be on {shown}"
    code = scan_commits(
        opts,
        cwd,
        rev_range,
        "pre-push",
        scope,
        refs,
        no_new_suppressions=no_new_suppressions,
        base=trusted_base(cwd, remote, rev_range, updated),
    )
    if code == ExitCode.FINDINGS and not opts.quiet:
        click.echo(
            "kimi-secret-scan: push blocked: the key(s) above are in commits not known to be "
            f"on {shown}; nothing was sent. Take them out of those commits (the steps above), "
            "then push again.",
            err=True,
        )
    return code
