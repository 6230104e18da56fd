"""`kimi-secret-scan staged`: what the next commit adds (the pre-commit hook)."""

from __future__ import annotations

import click

from kimi_secret_scan import git
from kimi_secret_scan.cli import ScanOptions, handle_errors, max_size_option, scan_options
from kimi_secret_scan.sources.staged import (
    iter_staged,
    iter_whole_files,
    staged_changes,
    whole_file_paths,
)


@click.command("staged")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option(
    "--repo",
    default=".",
    type=click.Path(file_okay=False),
    help="The repository (default: the one around the current directory).",
)
@max_size_option
@scan_options
@handle_errors
def command(
    paths: tuple[str, ...],
    repo: str,
    max_file_size: int,
    opts: ScanOptions,
) -> int:
    """Scan what the next commit adds: the index against HEAD, only added lines.

    PATHS limit the scan. A PATH the commit does not change is scanned whole, from disk:
    that is how `pre-commit run --all-files` and `--files` are honoured.
    """
    found = git.find_repo(repo)
    changes = staged_changes(found, max_file_size)
    whole = whole_file_paths(found, list(paths), changes) if paths else None
    if whole is not None:
        # pre-commit --all-files / --files: the named files, whole, as `files` would.
        items = iter_whole_files(found, whole, max_size=max_file_size)
        result = opts.scan(
            "files", "the named files, whole: they are not all staged changes", items
        )
        return opts.report(result)
    base = "HEAD" if found.head else "the empty tree (first commit)"
    items = iter_staged(
        found,
        list(paths) if paths else None,
        max_size=max_file_size,
        changes=changes,
        settings=opts.settings,
    )
    result = opts.scan("staged", f"staged changes against {base}", items)
    return opts.report(result)
