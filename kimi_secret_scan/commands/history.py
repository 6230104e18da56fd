"""`kimi-secret-scan history`: audit every ref's history after a leak."""

from __future__ import annotations

import functools
import os
import shlex
import sys
from collections.abc import Iterable
from pathlib import Path

import click

from kimi_secret_scan import audit, inert
from kimi_secret_scan import config as config_file
from kimi_secret_scan.cli import (
    ScanOptions,
    configure,
    handle_errors,
    lfs_option,
    max_size_option,
    scan_options,
)
from kimi_secret_scan.config import Config
from kimi_secret_scan.content import Skipped
from kimi_secret_scan.errors import ExitCode, ScanError
from kimi_secret_scan.filters import pragma
from kimi_secret_scan.filters.pragma import NotedAllowComments, allow_comments
from kimi_secret_scan.finding import Finding
from kimi_secret_scan.gate import _under
from kimi_secret_scan.progress import Progress
from kimi_secret_scan.redaction import redact_text
from kimi_secret_scan.reports import history_json, history_text
from kimi_secret_scan.sources.history import Selection, find_repo_dir


@click.command("history")
@click.argument("revs", nargs=-1)
@click.option(
    "--repo",
    default=".",
    type=click.Path(file_okay=False),
    help="The repository (default: the one around the current directory; bare ones too).",
)
@click.option(
    "--since",
    metavar="REV",
    help="Only what is not already reachable from REV (for example the last audited tag).",
)
@click.option(
    "--no-reflog",
    is_flag=True,
    help="Leave out commits reachable only from reflogs (older stash entries, amended or "
    "reset commits). Ignored when REVS are given.",
)
@click.option(
    "--allow-shallow",
    is_flag=True,
    help="In a shallow clone, audit what is here and exit 0 when it is clean (default: exit "
    "2, since the history before the shallow boundary is not scanned).",
)
@max_size_option
@lfs_option
@click.option(
    "--write-replacements",
    "replacements",
    metavar="FILE",
    type=click.Path(dir_okay=False),
    help="Write the keys found, whole, as a `git filter-repo --replace-text` file (mode "
    "0600, refused inside any git work tree), print one line saying where, and exit 0 instead "
    "of printing the report. Delete it after the purge.",
)
@click.option(
    "--inline-allows",
    is_flag=True,
    help="Apply the audited repository's inline allow comments (`kimi-secret-scan: allow`, "
    "`gitleaks:allow`, …). Default: a key such a comment covers is reported, with a note "
    "saying so: a repository must not allow its own keys in an audit of it.",
)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    help="Processes that read and scan the history, each with its own git (default: one "
    "per CPU this process may use; one for a small history).",
)
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Progress on stderr (default: only when stderr is a terminal).",
)
@functools.partial(scan_options, unparsed_config=True)
@handle_errors
def command(
    revs: tuple[str, ...],
    repo: str,
    since: str | None,
    no_reflog: bool,
    allow_shallow: bool,
    max_file_size: int,
    replacements: str | None,
    progress: bool | None,
    jobs: int | None,
    inline_allows: bool,
    unparsed_config: tuple[Path, ScanError] | None,
    opts: ScanOptions,
) -> int:
    """Audit history: every blob, commit and tag message reachable from every ref.

    By default every ref (branches, tags, remote-tracking branches, refs/stash, pull-request
    refs, notes) and every reflog entry; REVS (for example `main v1.0`) or --since narrow
    it. Keys are grouped by distinct key, with where each first appeared, the refs it is
    reachable from, whether it is still in HEAD, and the revoke-then-purge plan.

    The audited repository's own configuration and baseline apply only when named with
    --config and --baseline, and its inline allow comments only with --inline-allows: a
    repository must not allow its own keys in an audit of it.
    """
    for rev in (*revs, since or ""):
        if rev.startswith("-"):
            # Passed on to git log / rev-list, an option such as --output=FILE would write.
            raise ScanError(f"{rev}: a revision cannot start with '-'")
    root = find_repo_dir(repo)
    opts, max_file_size, left_out = _without_the_audited_repositorys_own(
        opts, root, max_file_size, unparsed_config
    )
    if not inline_allows and opts.sink is None:
        # The inline allow comments are the audited repository's content: said, not applied.
        # (`baseline create --from history` is the user's own run: it applies them.)
        again = "run: " + _command_again("history", "--inline-allows")
        opts.filters = [
            NotedAllowComments(again) if f is allow_comments else f for f in opts.filters
        ]
    selection = Selection(revs=revs, since=since, reflog=not no_reflog)
    show = (Progress.wanted() and not opts.quiet) if progress is None else progress
    meter = Progress("kimi-secret-scan history") if show else None
    report = audit.run_history(
        root,
        selection,
        opts.scan,
        opts.settings,
        max_file_size,
        meter,
        allow_shallow=allow_shallow,
        allow_missing_lfs=opts.allow_missing_lfs,
        before_grouping=opts.verify_keys,
        jobs=jobs,
        # As in the gates: a limit the user set (not the audited repository's own) accepts
        # the blobs over it; over the default one, the audit is incomplete.
        size_limit_accepted=opts.max_file_size_option is not None
        or bool(opts.config and opts.config.max_file_size_set),
    )
    # Said in every format, as the skips are: what was not applied, and how to apply it.
    report.result.stats.skipped.extend(left_out)
    report.result.stats.skipped.extend(inline_allows_not_applied(report.result.findings, opts))
    groups = report.groups
    if report.target is not None:
        report.target.options = _plan_options(opts, allow_shallow, inline_allows)
    if replacements and groups:
        written = audit.write_replacements(groups, replacements, root)
        shown = shlex.quote(str(written))
        click.echo(
            f"kimi-secret-scan: wrote {len(groups)} key(s), whole, to {written} (mode 0600). "
            f"Use it in a mirror clone: git filter-repo --sensitive-data-removal --replace-text "
            f"{shown} --replace-message {shown} (`kimi-secret-scan history` prints every step"
            + (
                # No replacement reaches a key in an archive's compressed bytes.
                ", and the versions to strip with --strip-blobs-with-ids"
                if any(g.container_blobs or g.unreached for g in groups)
                else ""
            )
            + "); delete it after the purge."
        )
        unread = report.result.unread
        if unread:
            # The file holds only the keys found in what was read: a purge with it would
            # leave any key in the rest, while every check of the plan says clean.
            # Paths and reasons are the repository's text: made inert, and redacted (a path
            # may be named after a key).
            listed = "; ".join(f"{inert.path(s.path)}: {inert.text(s.reason)}" for s in unread[:5])
            more = f"; and {len(unread) - 5} more" if len(unread) > 5 else ""
            line = (
                f"kimi-secret-scan: INCOMPLETE: {len(unread)} item(s) of the history were not "
                f"scanned, so {written} holds only the keys found in the rest (a purge with it "
                f"would leave any key in them): {listed}{more}. Run `kimi-secret-scan history` "
                "for the whole report, and write the file again with the options that read them."
            )
            click.echo(redact_text(line), err=True)
            return ExitCode.ERROR
        return ExitCode.CLEAN
    return _report(opts, report)


def _plan_options(opts: ScanOptions, allow_shallow: bool, inline_allows: bool) -> list[str]:
    """This run's options that change what `history` reads or reports, for the plan's own
    `kimi-secret-scan history` commands: without the --max-file-size the audit needed, the
    replacements file would lack the key in the big file, and the check of the rewritten
    mirror would not read it either. Paths made absolute (pasted from any directory)."""
    params = click.get_current_context().params
    options: list[str] = []
    if opts.max_file_size_option is not None:
        options += ["--max-file-size", str(opts.max_file_size_option)]
    if opts.allow_missing_lfs:
        options.append("--allow-missing-lfs")
    if allow_shallow:
        options.append("--allow-shallow")
    if inline_allows:
        options.append("--inline-allows")
    for name, option in (("config_file", "--config"), ("baseline_file", "--baseline")):
        if params.get(name):
            options += [option, os.path.abspath(params[name])]
    for name, option in (("no_config", "--no-config"), ("no_baseline", "--no-baseline")):
        if params.get(name):
            options.append(option)
    if params.get("min_confidence"):
        options += ["--min-confidence", str(params["min_confidence"])]
    return options


def _report(opts: ScanOptions, report: audit.HistoryReport) -> int:
    """ScanOptions.report, with the history renderers for text and JSON (the plan and the
    groups need more than a ScanResult); SARIF and GitHub render the result as elsewhere."""

    def own(output_format: str, color: bool) -> str | None:
        if output_format == "text":
            return history_text.render(report, opts.show_secrets, color)
        if output_format == "json":
            return history_json.render(report, opts.show_secrets)
        return None

    # The refs each key is reachable from are printed too (a ref may be named after a key).
    refs = {name for g in report.groups for name in (*g.refs, *g.head_paths)}
    return opts.report(report.result, own, tail=history_text.summary(report), printed=refs)


def _command_again(name: str, option: str) -> str:
    """This run's command line with `option` added: what to run to apply what was not."""
    argv = sys.argv[1:]
    rest = argv[argv.index(name) + 1 :] if name in argv else []
    return shlex.join(["kimi-secret-scan", name, option, *rest])


def inline_allows_not_applied(findings: Iterable[Finding], opts: ScanOptions) -> list[Skipped]:
    """One line for the skips (so SARIF and GitHub say it too): how many findings an inline
    allow comment covers that was not applied, and the command that applies them."""
    noted = [f for f in opts.filters if isinstance(f, NotedAllowComments)]
    count = sum(1 for f in findings if f.note and pragma.NOT_APPLIED in f.note)
    if not noted or not count:
        return []
    reason = (
        f"{count} finding(s) covered by an inline allow comment in the audited repository, "
        "not applied (an audit of history is not talked out of its findings by the repository "
        f"audited): if the comments are yours, apply them: {noted[0].command}"
    )
    return [Skipped("inline allow comments", reason)]


def _inside(path: Path, root: Path) -> bool:
    # By its name, the file itself never resolved, as the gates decide a change's own
    # configuration: a committed `.kimi-secret-scan.toml -> ../outside/kimi.toml` is still
    # the repository's, not one the user chose outside it.
    return _under(path, root) is not None


def _without_the_audited_repositorys_own(
    opts: ScanOptions, root: Path, max_file_size: int, unparsed: tuple[Path, ScanError] | None
) -> tuple[ScanOptions, int, list[Skipped]]:
    """An audit of history is not talked out of its findings by the repository audited.

    A configuration or baseline file found inside the audited repository (its
    `.kimi-secret-scan.toml`, `pyproject.toml`, `.kimi-secret-scan-baseline.toml`) is the
    repository's own: a downloaded one would `exclude` its keys, allow them, disable the
    rules or set `max-file-size = 1`. It applies only when the command line names it
    (`--config`, `--baseline`), as in `audit`, which never reads it; else it is left out and
    listed as skipped, saying how to apply it. A file outside the repository (`history
    --repo downloaded.git` run from your own checkout) is yours, and applies.

    `unparsed`: the configuration found that could not be read (scan_options): the
    repository's own is left out unread, as it would be read; the user's own stops the run."""
    if unparsed is not None and not _inside(unparsed[0], root):
        raise unparsed[1]
    if opts.sink is not None:
        return opts, max_file_size, []  # `baseline create --from history`: the user's own
    params = click.get_current_context().params
    config = opts.config
    assert config is not None
    source = unparsed[0] if unparsed is not None else config.source
    own_config = not opts.config_given and source is not None and _inside(source, root)
    baseline_named = params.get("baseline_file") is not None
    # The baseline that applies when none is named: the one a configuration that still
    # applies names, else the default at the root.
    default_baseline = Config(root=config.root).baseline_path if own_config else None
    baseline = default_baseline or config.baseline_path
    own_baseline = (
        not baseline_named
        and not params.get("no_baseline")
        and baseline.is_file()
        and (own_config or config.baseline is None)
        and _inside(baseline, root)
    )
    if not own_config and not own_baseline:
        return opts, max_file_size, []
    left: list[Skipped] = []
    why = "the audited repository's own {what}, not applied (a repository must not allow its "
    why += "own keys in an audit of it): to apply it, name it with {option} {path}"
    if own_config:
        assert source is not None
        path = config_file.shown(source)
        said = why.format(what="configuration", option="--config", path=path)
        if unparsed is not None:
            said += f" (as it is, it is not valid: {unparsed[1]})"  # not read for this run
        left.append(Skipped(path, said))
    if own_baseline:
        path = config_file.shown(baseline)
        left.append(Skipped(path, why.format(what="baseline", option="--baseline", path=path)))
    again = configure(
        output_format=params.get("output_format"),
        output_file=params.get("output_file"),
        show_secrets=bool(params.get("show_secrets")),
        config_file=None if own_config else params.get("config_file"),
        use_config=not (own_config or params.get("no_config")),
        baseline_file=params.get("baseline_file"),
        use_baseline=not (own_baseline or params.get("no_baseline")),
        min_confidence=params.get("min_confidence"),
        reports=tuple(params.get("reports") or ()),
        verbose=bool(params.get("verbose")),
        quiet=bool(params.get("quiet")),
    )
    again.verify = opts.verify
    again.config_given = opts.config_given
    again.max_file_size_option = opts.max_file_size_option
    if opts.max_file_size_option is None and again.config is not None:
        max_file_size = again.config.max_file_size  # not the repository's own limit
    return again, max_file_size, left
