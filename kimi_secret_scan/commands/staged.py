"""`kimi-secret-scan staged`: what the next commit adds (the pre-commit hook)."""

from __future__ import annotations

import dataclasses
import itertools
import os
from typing import TYPE_CHECKING

import click

from kimi_secret_scan import gate_limits, git
from kimi_secret_scan.cli import (
    ScanOptions,
    handle_errors,
    lfs_option,
    max_size_option,
    new_suppressions_option,
    scan_options,
)
from kimi_secret_scan.config import Config
from kimi_secret_scan.gate_limits import head_side, watched
from kimi_secret_scan.sources import lfs
from kimi_secret_scan.sources.staged import (
    StagedChanges,
    iter_staged,
    iter_whole_files,
    staged_changes,
    whole_file_paths,
)

if TYPE_CHECKING:
    from kimi_secret_scan.gate import Trusted


def _head_limits(
    found: git.Repo,
    opts: ScanOptions,
    config: Config,
    touched: set[str],
    changes: StagedChanges,
    max_file_size: int,
    accepted: bool,
) -> tuple[int, bool, StagedChanges, Trusted | None]:
    """When the staged change edits the configuration file, its limits are the change's
    (`max-file-size = 1` would skip every file, `min-confidence = "high"` pass a medium
    finding): HEAD's apply instead, as the base side's do in the commit gates, unless the
    command line sets them. (max size, whether a skip over it is accepted, the changes,
    HEAD's side when it was read)."""
    from kimi_secret_scan import gate
    from kimi_secret_scan.config import DEFAULT_MAX_FILE_SIZE

    if not gate.changed_by(config, found.root, touched):
        return max_file_size, accepted, changes, None
    side = head_side(found.root, config, opts.filters, opts.config_given)
    trusted = side.config
    if opts.max_file_size_option is None:
        limit = trusted.max_file_size if trusted.max_file_size_set else DEFAULT_MAX_FILE_SIZE
        accepted = trusted.max_file_size_set
        if limit != max_file_size:
            changes = staged_changes(found, limit)  # git diffs with the limit as threshold
        max_file_size = limit
    opts.settings = dataclasses.replace(opts.settings, limits=trusted.settings.limits)
    if not opts.min_confidence_given:
        opts.min_confidence = trusted.min_confidence
    return max_file_size, accepted, changes, side


@click.command("staged")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option(
    "--repo",
    default=".",
    type=click.Path(file_okay=False),
    help="The repository (default: the one around the current directory).",
)
@max_size_option
@lfs_option
@new_suppressions_option
@scan_options
@handle_errors
def command(
    paths: tuple[str, ...],
    repo: str,
    max_file_size: int,
    no_new_suppressions: bool,
    opts: ScanOptions,
) -> int:
    """Scan what the next commit adds: the index against HEAD, only added lines.

    PATHS limit the scan (not under the pre-commit framework, where the whole staged
    change is scanned). A PATH the commit does not change is scanned whole, from disk:
    that is how `pre-commit run --all-files` and `--files` are honoured. Put `--` before
    PATHS that may begin with `-`.
    """
    found = git.find_repo(repo)
    changes = staged_changes(found, max_file_size)
    # A file over the default size limit fails the hook (exit 2); one over a limit the
    # user set (--max-file-size, max-file-size) is skipped and said.
    config = opts.config
    accepted = opts.max_file_size_option is not None or bool(config and config.max_file_size_set)
    head: Trusted | None = None
    if config is not None and config.source is not None:
        touched = {p for c, _ in changes for p in (c.path, c.old_path)}
        # A cheap look at the names first: the hook's usual run never loads gate.py.
        if config.source.name in {p.rpartition("/")[2] for p in touched}:
            max_file_size, accepted, changes, head = _head_limits(
                found, opts, config, touched, changes, max_file_size, accepted
            )
    whole = whole_file_paths(found, list(paths), changes) if paths else None
    if whole is None and os.environ.get("PRE_COMMIT"):
        # pre-commit hands over the staged names it selected: never a gitlink, a symbolic
        # link only if the hook's `types` let it through, none that `exclude:` leaves out.
        # Its names choose what `--all-files` / `--files` read whole, never what a commit
        # adds: the whole staged change is scanned, as the plain git hook scans it.
        paths = ()
    if whole is not None:
        # pre-commit --all-files / --files: the named files, whole, as `files` would.
        items = iter_whole_files(found, whole, max_size=max_file_size)
        result = opts.scan(
            "files",
            "the named files, whole: they are not all staged changes",
            gate_limits.size_skips_unread(items, accepted),
            unread_containers=gate_limits.must_unpack(config),
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
    # The names of the files the commit creates are published with it.
    named = set(paths)
    created = [c.path for c, _ in changes if c.status in "ARC" and (not named or c.path in named)]
    # A file tracked by Git LFS is staged as a pointer: its content, in .git/lfs, too.
    items = lfs.accepting(
        lfs.Store(found.root, max_file_size).resolve(items), opts.allow_missing_lfs
    )
    all_items = itertools.chain(
        gate_limits.size_skips_unread(items, accepted),
        gate_limits.new_path_names(created, "path name"),
    )
    # What the change's own suppressions hide is said, as in the commit gates; and a
    # container not wholly unpacked fails the hook unless HEAD's configuration excludes it.
    hidden = watched(opts, found.root, head) if opts.sink is None else None
    if hidden is not None:
        opts.filters = hidden.filters()
    result = opts.scan(
        "staged",
        f"staged changes against {base}",
        all_items,
        unread_containers=gate_limits.must_unpack(head.config if head else config),
    )
    if hidden is not None:
        result.new_suppressions = hidden.found
        opts.fail_new_suppressions = hidden.fails(no_new_suppressions)
    return opts.report(result)
