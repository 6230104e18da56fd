"""`kimi-secret-scan baseline create|update|audit|add`: the file of keys already known.

The findings come from running one of the scanning commands (`--from files`, `staged`,
`history`, …, with its own arguments after `--`) exactly as it runs on its own, with the
project configuration and inline allow comments applied but no baseline; its results are
collected instead of reported. Any command registered with the shared scan options can be
named, so commands added later (history, range, …) work without a change here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from kimi_secret_scan import baseline as baseline_file
from kimi_secret_scan import inert, repo_paths, suppressions
from kimi_secret_scan.baseline import STATUSES, Baseline, Entry, entry_for
from kimi_secret_scan.cli import ResultSink, all_commands, handle_errors
from kimi_secret_scan.config import Config
from kimi_secret_scan.errors import ExitCode, ScanError
from kimi_secret_scan.filters.baseline import BaselineFilter
from kimi_secret_scan.finding import Finding

DEFAULT_SOURCE = "files"
F = TypeVar("F", bound=Callable[..., Any])


def _scanning_commands() -> dict[str, click.Command]:
    return {
        name: cmd
        for name, cmd in all_commands().items()
        if any(param.name == "baseline_file" for param in cmd.params)
    }


def _run_source(source: str, args: Sequence[str], config: Config) -> list[tuple[str, Finding]]:
    """(mode, finding) for every finding of the named scan, baseline not applied."""
    commands = _scanning_commands()
    if source not in commands:
        raise ScanError(
            f"--from {source}: not a scanning command (choose from {', '.join(sorted(commands))})"
        )
    if not args and source == "files":
        args = [str(config.root)]
    sink = ResultSink(config)
    try:
        code = commands[source].main(
            args=list(args),
            prog_name=f"kimi-secret-scan {source}",
            standalone_mode=False,
            obj=sink,
        )
    except SystemExit as exc:
        code = exc.code
    except click.ClickException as exc:
        raise ScanError(f"--from {source}: {exc.format_message()}") from None
    if code not in (None, ExitCode.CLEAN):
        # The scan printed its own one-line error.
        raise SystemExit(ExitCode.ERROR)
    if not sink.results:
        # A command that renders without opts.report() would otherwise give an empty baseline.
        raise ScanError(f"--from {source}: the command handed no scan result to the baseline")
    return [(result.mode, f) for result in sink.results for f in result.findings]


def _entry_path(mode: str, finding: Finding, root: Path) -> str:
    # `files` names paths from the current directory; the baseline names them from the root.
    if mode == "files":
        return repo_paths.from_cwd(finding.path, root)
    return Path(finding.path).as_posix()


def _new_entries(
    found: Iterable[tuple[str, Finding]], root: Path, status: str, reason: str, any_path: bool
) -> list[Entry]:
    entries: dict[tuple[str, str | None], Entry] = {}
    for mode, finding in found:
        path = None if any_path else _entry_path(mode, finding, root)
        entries.setdefault((finding.secret_sha256, path), entry_for(finding, path, status, reason))
    return list(entries.values())


def _baseline_path(config: Config, file: str | None) -> Path:
    return Path(file) if file else config.baseline_path


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


def _baseline_to_write(config: Config, file: str | None) -> Path:
    """The baseline file a command writes. A repository's own configuration is written by
    whoever wrote the repository: its `baseline` setting may only name a file inside it
    (symbolic links resolved), or `baseline create` in a downloaded repository would create
    `~/.bash_profile` with file names of that repository's choosing in it."""
    path = _baseline_path(config, file)
    source = config.source
    if (
        file is None
        and config.baseline is not None
        and source is not None
        and _inside(source, config.root)
        and not _inside(path, config.root)
    ):
        raise ScanError(
            f"refusing to write the baseline {path}: `baseline` in {_shown(source)} names a "
            f"file outside the repository ({path.resolve()}); pass --file to write there"
        )
    return path


def _shown(path: Path) -> str:
    try:
        return path.absolute().relative_to(Path.cwd()).as_posix()
    except ValueError:
        return str(path)


def _plural(n: int, word: str, words: str = "") -> str:
    return f"{n} {word}" if n == 1 else f"{n} {words or word + 's'}"


def _describe(entry: Entry) -> str:
    where = f" in {entry.path}" if entry.path else " (any path)"
    return (
        f"{entry.secret or entry.sha256[:12]} [{entry.rule or 'unknown rule'}]{where}, "
        f"{entry.status}, sha256:{entry.sha256[:12]}"
    )


def _common(command: F) -> F:
    """Options every baseline subcommand takes."""
    for option in reversed(
        [
            click.option(
                "--file",
                "file",
                type=click.Path(dir_okay=False),
                help="The baseline file (default: the configured one, else "
                ".kimi-secret-scan-baseline.toml at the repository root).",
            ),
            click.option(
                "--from",
                "source",
                default=None,
                help="The scanning command whose findings count: files (the default, the "
                "whole repository), staged, history, … Its arguments follow `--`.",
            ),
            click.option(
                "--config",
                "config_file",
                type=click.Path(dir_okay=False),
                help="Read the configuration from this file.",
            ),
            click.option("--no-config", is_flag=True, help="Ignore the project configuration."),
            click.argument("source_args", nargs=-1),
        ]
    ):
        command = option(command)
    return command


def _new_entry_options(command: F) -> F:
    for option in reversed(
        [
            click.option(
                "--status",
                type=click.Choice(STATUSES),
                default=baseline_file.DEFAULT_STATUS,
                show_default=True,
                help="Status of the entries added (e.g. revoked after rotating the keys).",
            ),
            click.option("--reason", default="", help="Reason recorded on the entries added."),
            click.option(
                "--any-path",
                is_flag=True,
                help="Acknowledge each key wherever it appears (one entry per key) instead of "
                "only in the files it was found in.",
            ),
        ]
    ):
        command = option(command)
    return command


@click.group("baseline")
def command() -> None:
    """Create, update and audit the baseline of known keys (by SHA-256, never the key).

    Findings listed in the baseline are not reported by any scan.
    """


@command.command("create")
@_common
@_new_entry_options
@click.option("--force", is_flag=True, help="Replace an existing baseline file.")
@handle_errors
def create(
    file: str | None,
    source: str | None,
    config_file: str | None,
    no_config: bool,
    source_args: tuple[str, ...],
    status: str,
    reason: str,
    any_path: bool,
    force: bool,
) -> int:
    """Write a baseline of what a scan finds now.

    \b
    Examples:
      kimi-secret-scan baseline create
      kimi-secret-scan baseline create --from history --status revoked --any-path \\
          --reason "leaked in 2024, revoked and rotated"
      kimi-secret-scan baseline create --from files -- tests/fixtures
    """
    config = suppressions.load_config(config_file, not no_config)
    path = _baseline_to_write(config, file)
    if path.exists() and not force:
        raise ScanError(f"{path} exists: use `baseline update`, or --force to replace it")
    source = source or DEFAULT_SOURCE
    found = _run_source(source, source_args, config)
    entries = _new_entries(found, config.root, status, reason, any_path)
    baseline_file.write(Baseline(entries=tuple(entries), source=source), path)
    click.echo(
        f"kimi-secret-scan: wrote {_shown(path)} with {_plural(len(entries), 'entry', 'entries')} "
        f"({_plural(len({e.sha256 for e in entries}), 'distinct key')}) from `{source}`"
    )
    return ExitCode.CLEAN


@command.command("update")
@_common
@_new_entry_options
@handle_errors
def update(
    file: str | None,
    source: str | None,
    config_file: str | None,
    no_config: bool,
    source_args: tuple[str, ...],
    status: str,
    reason: str,
    any_path: bool,
) -> int:
    """Add what a scan finds that the baseline lacks; drop entries nothing matches.

    Entries that still match keep their status and reason. The scan is the one the
    baseline was created with unless --from names another.
    """
    config = suppressions.load_config(config_file, not no_config)
    path = _baseline_to_write(config, file)
    old = baseline_file.load(path)
    source = source or old.source or DEFAULT_SOURCE
    found = _run_source(source, source_args, config)
    matcher = BaselineFilter(old, config.root)
    unlisted = [(mode, f) for mode, f in found if not matcher.entries_for(f)]
    for _, finding in found:
        matcher.matched.update(matcher.entries_for(finding))
    added = _new_entries(unlisted, config.root, status, reason, any_path)
    kept = [e for e in old.normalized().entries if e in matcher.matched]
    dropped = len(old.normalized().entries) - len(kept)
    baseline_file.write(Baseline(entries=(*kept, *added), source=source), path)
    click.echo(
        f"kimi-secret-scan: updated {_shown(path)}: {len(added)} added, {len(kept)} kept, "
        f"{dropped} dropped (no longer found by `{source}`)"
    )
    return ExitCode.CLEAN


@command.command("audit")
@_common
@handle_errors
def audit(
    file: str | None,
    source: str | None,
    config_file: str | None,
    no_config: bool,
    source_args: tuple[str, ...],
) -> int:
    """List baseline entries that no longer match anything (exit 1 when there are some).

    Also counts the findings the baseline does not list.
    """
    config = suppressions.load_config(config_file, not no_config)
    path = _baseline_path(config, file)
    old = baseline_file.load(path)
    source = source or old.source or DEFAULT_SOURCE
    found = _run_source(source, source_args, config)
    matcher = BaselineFilter(old, config.root)
    unlisted = 0
    for _, finding in found:
        entries = matcher.entries_for(finding)
        matcher.matched.update(entries)
        unlisted += not entries
    stale = baseline_file.unmatched(old, matcher.matched)
    for entry in stale:
        click.echo(f"stale: {inert.text(_describe(entry))}")  # the file may be a stranger's
    total = len(old.normalized().entries)
    stale_count = _plural(len(stale), "stale entry", "stale entries")
    click.echo(
        f"kimi-secret-scan: {_shown(path)}: {stale_count} of {total} "
        f"(no longer found by `{source}`); {_plural(unlisted, 'finding')} not in the baseline"
        + ("; `baseline update` drops stale entries" if stale else "")
    )
    return ExitCode.FINDINGS if stale else ExitCode.CLEAN


@command.command("add")
@click.option(
    "--hash",
    "hashes",
    multiple=True,
    required=True,
    metavar="SHA256",
    help="The SHA-256 of the key, as a blocked run prints it (repeatable). The key itself "
    "is never typed.",
)
@click.option("--reason", required=True, help="Why it is allowed (recorded on the entry).")
@click.option(
    "--status",
    type=click.Choice(STATUSES),
    default="false-positive",
    show_default=True,
    help="Status of the entries added.",
)
@click.option(
    "--path",
    "entry_path",
    default=None,
    help="Only in this path (from the repository root); default: wherever it appears.",
)
@click.option(
    "--file",
    "file",
    type=click.Path(dir_okay=False),
    help="The baseline file (default: the configured one, else "
    ".kimi-secret-scan-baseline.toml at the repository root).",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False),
    help="Read the configuration from this file.",
)
@click.option("--no-config", is_flag=True, help="Ignore the project configuration.")
@handle_errors
def add(
    hashes: tuple[str, ...],
    reason: str,
    status: str,
    entry_path: str | None,
    file: str | None,
    config_file: str | None,
    no_config: bool,
) -> int:
    """Add keys by their SHA-256, without scanning: the way out of a false positive that a
    blocked commit, push or CI run prints (it gives the hash).

    \b
    Example:
      kimi-secret-scan baseline add --hash 1f0e…(64 hex digits) --reason "test fixture"
    """
    config = suppressions.load_config(config_file, not no_config)
    path = _baseline_to_write(config, file)
    old = baseline_file.load(path) if path.exists() else Baseline()
    added = []
    for raw in hashes:
        sha = raw.strip().lower().removeprefix("sha256:")
        if not baseline_file.is_sha256(sha):
            raise ScanError(f"--hash {raw[:80]!r}: not a SHA-256 (64 hex digits)")
        added.append(
            Entry(sha256=sha, rule="", secret="", path=entry_path, status=status, reason=reason)
        )
    baseline_file.write(Baseline(entries=(*added, *old.entries), source=old.source), path)
    click.echo(
        f"kimi-secret-scan: added {_plural(len(added), 'entry', 'entries')} to {_shown(path)} "
        f"(status {status}); "
        + (
            "commit it so that every scan and CI read it"
            if path.resolve().is_relative_to(config.root.resolve())
            # A server's baseline (pre-receive) lives beside its bare repositories.
            else "every scan that uses this file reads it from now on"
        )
    )
    return ExitCode.CLEAN
