"""`kimi-secret-scan pre-receive`: the server-side hook that rejects a push adding a key.

Git runs it in the receiving repository (bare, usually) with one `<old> <new> <ref>` line
per updated ref on stdin, before any ref moves. The pushed objects are visible to git
commands run from the hook (quarantine), and every existing ref still has its old value,
so the commits the push adds are the new tips minus the refs pushes go through this hook
to set (`GUARDED`): new branches and force pushes included. A deleted ref adds nothing. Any
non-zero exit rejects the push, so a scan that fails (exit 2) rejects it too.
"""

from __future__ import annotations

import sys

import click

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
from kimi_secret_scan.sources.commits import RevRange, is_zero
from kimi_secret_scan.sources.metadata import PushedRef

# The refs whose commits count as already scanned: those only a push (through this hook)
# sets. Not `--all`: a server also keeps refs no push passed through a hook for
# (GitLab's refs/merge-requests/*/head fetched from a fork, refs/pull/*, refs/keep-around/*),
# and a commit held only there, pushed as a branch, would be scanned as nothing.
GUARDED = ("--branches", "--tags", "--glob=refs/notes/*")


def parse_updates(text: str, refs: list[PushedRef] | None = None) -> tuple[list[str], list[str]]:
    """The new tips to scan, and each ref's update in words; the refs set go to `refs`."""
    tips: list[str] = []
    described: list[str] = []
    refs = [] if refs is None else refs
    for line in text.splitlines():
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 3:
            raise ScanError(f"unexpected pre-receive input line: {line[:120]!r}")
        old, new, ref = parts
        if is_zero(new):
            described.append(f"delete {ref}")
        elif is_zero(old):
            refs.append(PushedRef(ref, new))
            tips.append(new)
            described.append(f"new {ref}")
        else:
            refs.append(PushedRef(ref, new))
            tips.append(new)
            described.append(f"update {ref}")
    return tips, described


@click.command("pre-receive")
@repo_option
@max_size_option
@lfs_option
@new_suppressions_option
@scan_options
@handle_errors
def command(repo: str, max_file_size: int, no_new_suppressions: bool, opts: ScanOptions) -> int:
    """Reject a push that adds a key (server-side hook; ref updates on stdin).

    The configuration is this repository's own (`.kimi-secret-scan.toml` in the directory
    git runs the hook in, i.e. the bare repository) or --config: never the pushed commits'.
    """
    cwd = git_dir_cwd(repo)
    refs: list[PushedRef] = []
    tips, described = parse_updates(sys.stdin.read() if sys.stdin else "", refs)
    scope = (
        f"push ({', '.join(described) or 'nothing'}): "
        "commits not yet on this repository's branches, tags or notes"
    )
    code = scan_commits(
        opts,
        cwd,
        RevRange(tuple(tips), GUARDED),
        "pre-receive",
        scope,
        refs,
        server=True,
        no_new_suppressions=no_new_suppressions,
    )
    if code == ExitCode.FINDINGS and not opts.quiet:
        click.echo(
            "kimi-secret-scan: push rejected: it adds the key(s) above, and nothing was "
            "stored. Revoke them first, take them out of the commits (the steps above), then "
            "push again.",
            err=True,
        )
    return code
