"""`kimi-secret-scan files`: files and directories on disk."""

from __future__ import annotations

import click

from kimi_secret_scan.cli import ScanOptions, handle_errors, max_size_option, scan_options
from kimi_secret_scan.sources.files import iter_files


@click.command("files")
# readable=False: an unreadable path is reported by the scan itself, in one line (exit 2).
@click.argument("paths", nargs=-1, type=click.Path(readable=False))
@click.option(
    "--include-ignored",
    is_flag=True,
    help="Also scan files that git ignores (inside a repository).",
)
@max_size_option
@scan_options
@handle_errors
def command(
    paths: tuple[str, ...],
    include_ignored: bool,
    max_file_size: int,
    opts: ScanOptions,
) -> int:
    """Scan files and directories, the current directory when none is named (dotfiles
    included; git-ignored files skipped). Put `--` before PATHS that may begin with `-`."""
    paths = paths or (".",)
    # Every path here was named by the user: a named symbolic link is followed (as cat
    # would); only links met while walking a directory are not.
    items = iter_files(
        paths, max_size=max_file_size, include_ignored=include_ignored, explicit=True
    )
    result = opts.scan("files", "files on disk", items)
    return opts.report(result)
