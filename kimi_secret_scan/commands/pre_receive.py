"""`kimi-secret-scan pre-receive`: the server-side hook that rejects a push adding a key.

Git runs it in the receiving repository (bare, usually) with one `<old> <new> <ref>` line
per updated ref on stdin, before any ref moves. The pushed objects are visible to git
commands run from the hook (quarantine), and every existing ref still has its old value,
so the commits the push adds are exactly the new tips minus `--all`: new branches and
force pushes included. A deleted ref adds nothing. Any non-zero exit rejects the push, so
a scan that fails (exit 2) rejects it too.
"""

from __future__ import annotations

import sys

import click

from kimi_secret_scan.cli import ScanOptions, handle_errors, max_size_option, scan_options
from kimi_secret_scan.commands.range import git_dir_cwd, repo_option, scan_commits
from kimi_secret_scan.errors import ExitCode, ScanError
from kimi_secret_scan.sources.commits import RevRange, is_zero


def parse_updates(text: str) -> tuple[list[str], list[str]]:
    """The new tips to scan, and each ref's update in words."""
    tips: list[str] = []
    described: list[str] = []
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
            tips.append(new)
            described.append(f"new {ref}")
        else:
            tips.append(new)
            described.append(f"update {ref}")
    return tips, described


@click.command("pre-receive")
@repo_option
@max_size_option
@scan_options
@handle_errors
def command(repo: str, max_file_size: int, opts: ScanOptions) -> int:
    """Reject a push that adds a key (server-side hook; ref updates on stdin)."""
    cwd = git_dir_cwd(repo)
    tips, described = parse_updates(sys.stdin.read() if sys.stdin else "")
    scope = f"push ({', '.join(described) or 'nothing'}): commits not yet in this repository"
    code = scan_commits(
        opts, cwd, RevRange(tuple(tips), ("--all",)), "pre-receive", scope, max_file_size
    )
    if code == ExitCode.FINDINGS and not opts.quiet:
        click.echo(
            "kimi-secret-scan: push rejected: it adds the key(s) above. Remove them from the "
            "commits (git rebase -i / git commit --amend), revoke them, and push again.",
            err=True,
        )
    return code
