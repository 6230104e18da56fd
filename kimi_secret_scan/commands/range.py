"""`kimi-secret-scan range BASE..HEAD`: the commits HEAD has that BASE lacks.

Also the shared runner of every command that scans commits (ci, pre-push, pre-receive).
"""

from __future__ import annotations

from pathlib import Path

import click

from kimi_secret_scan import git, inert
from kimi_secret_scan.cli import ScanOptions, handle_errors, max_size_option, scan_options
from kimi_secret_scan.errors import ScanError
from kimi_secret_scan.redaction import redact_text
from kimi_secret_scan.sources.commits import (
    RevRange,
    iter_commit_contents,
    list_commits,
    missing_commit_error,
    resolve_commit,
)
from kimi_secret_scan.sources.files import DEFAULT_MAX_SIZE


def git_dir_cwd(repo: str) -> Path:
    """A directory to run git in: a work tree or a bare repository (the server side)."""
    path = Path(repo)
    if not path.is_dir():
        raise ScanError(f"{repo} is not a directory")
    git.require_repo(path, f"{path.resolve()} is not a git repository")
    return path


def scan_commits(
    opts: ScanOptions,
    cwd: Path,
    rev_range: RevRange,
    mode: str,
    scope: str,
    max_size: int = DEFAULT_MAX_SIZE,
) -> int:
    """List the range's commits, say on stderr what is scanned, scan, and report."""
    commits = list_commits(cwd, rev_range)
    n = len(commits)
    # The scope quotes the revisions as typed: a key typed as one is not echoed whole.
    line = f"kimi-secret-scan: {scope}: {n} commit{'' if n == 1 else 's'}"
    click.echo(inert.text(redact_text(line)), err=True)
    items = iter_commit_contents(cwd, commits, max_size=max_size, settings=opts.settings)
    result = opts.scan(mode, scope, items)
    result.stats.commits = n
    # The source yields blobs that need no comparison first; report in commit order.
    order = {c.commit.sha: i for i, c in enumerate(commits)}
    result.findings.sort(
        key=lambda f: (order.get(f.commit.sha, n) if f.commit else n, f.path, f.line, f.column)
    )
    return opts.report(result)


def parse_range(spec: str) -> tuple[str, str]:
    """`A..B` or `A...B` → (A, B); an empty side means HEAD, as in git."""
    sep = "..." if "..." in spec else ".."
    if sep not in spec:
        raise ScanError(f"{spec!r} is not a range: write BASE..HEAD (for example main..HEAD)")
    base, head = spec.split(sep, 1)
    return base or "HEAD", head or "HEAD"


def range_between(cwd: Path, base: str, head: str) -> tuple[RevRange, str]:
    """The range `head` minus `base`, with both resolved; and its description."""
    head_id = resolve_commit(cwd, head)
    if head_id is None:
        raise missing_commit_error(cwd, head, "head")
    base_id = resolve_commit(cwd, base)
    if base_id is None:
        raise missing_commit_error(cwd, base, "base")
    return RevRange((head_id,), (base_id,)), f"{base_id[:12]}..{head_id[:12]}"


repo_option = click.option(
    "--repo",
    default=".",
    type=click.Path(file_okay=False),
    help="The repository (default: the current directory).",
)


@click.command("range")
@click.argument("spec", metavar="BASE..HEAD")
@repo_option
@max_size_option
@scan_options
@handle_errors
def command(spec: str, repo: str, max_file_size: int, opts: ScanOptions) -> int:
    """Scan every commit in BASE..HEAD (merge commits included) for keys they add.

    BASE...HEAD names the same commits: those HEAD has that BASE lacks. Only keys a commit
    adds are reported; a key its parent already had, or one it deletes, is not.
    """
    cwd = git_dir_cwd(repo)
    base, head = parse_range(spec)
    rev_range, shown = range_between(cwd, base, head)
    return scan_commits(
        opts, cwd, rev_range, "range", f"commits in {shown} ({spec})", max_file_size
    )
