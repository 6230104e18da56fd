"""`kimi-secret-scan history`: audit every ref's history after a leak."""

from __future__ import annotations

import os
import sys

import click

from kimi_secret_scan import audit
from kimi_secret_scan.cli import (
    ScanOptions,
    handle_errors,
    max_size_option,
    outcome,
    scan_options,
    valid_utf8,
)
from kimi_secret_scan.errors import ScanError
from kimi_secret_scan.progress import Progress
from kimi_secret_scan.redaction import redact_text
from kimi_secret_scan.reports import history_json, history_text
from kimi_secret_scan.sources.history import (
    HistorySource,
    Selection,
    find_repo_dir,
)


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
@max_size_option
@click.option(
    "--write-replacements",
    "replacements",
    metavar="FILE",
    type=click.Path(dir_okay=False),
    help="Write the keys found, whole, as a `git filter-repo --replace-text` file (mode "
    "0600, refused inside the repository). Delete it after the purge.",
)
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Progress on stderr (default: only when stderr is a terminal).",
)
@scan_options
@handle_errors
def command(
    revs: tuple[str, ...],
    repo: str,
    since: str | None,
    no_reflog: bool,
    max_file_size: int,
    replacements: str | None,
    progress: bool | None,
    opts: ScanOptions,
) -> int:
    """Audit history: every blob, commit and tag message reachable from every ref.

    By default every ref (branches, tags, remote-tracking branches, refs/stash, pull-request
    refs, notes) and every reflog entry; REVS (for example `main v1.0`) or --since narrow
    it. Keys are grouped by distinct key, with where each first appeared, the refs it is
    reachable from, whether it is still in HEAD, and the revoke-then-purge plan.
    """
    for rev in (*revs, since or ""):
        if rev.startswith("-"):
            # Passed on to git log / rev-list, an option such as --output=FILE would write.
            raise ScanError(f"{rev}: a revision cannot start with '-'")
    root = find_repo_dir(repo)
    selection = Selection(revs=revs, since=since, reflog=not no_reflog)
    show = Progress.wanted() if progress is None else progress
    meter = Progress("kimi-secret-scan history") if show else None
    source = HistorySource(root, selection, opts.settings, max_file_size, meter)
    try:
        result = opts.scan("history", selection.describe(), source.items())
    finally:
        if meter is not None:
            meter.done()
    stats = source.stats
    result.stats.files = stats.blobs
    result.stats.bytes = stats.bytes
    result.stats.commits = stats.commits
    groups = audit.group(result.findings, source.commit_age)
    audit.attach_refs(groups, root, source.ref_walk)
    head = source.head_paths()
    for g in groups:
        g.head_paths = sorted(head.get(g.sha256, []))
    report = audit.HistoryReport(
        result, groups, stats.blobs, stats.commits, stats.tags, replacements
    )
    if replacements and groups:
        audit.write_replacements(groups, replacements, root)
        click.echo(
            f"kimi-secret-scan: wrote {len(groups)} key(s) WHOLE to {replacements} (mode 0600). "
            "Keep it out of the repository and delete it after the purge.",
            err=True,
        )
    return _report(opts, report)


def _report(opts: ScanOptions, report: audit.HistoryReport) -> int:
    """ScanOptions.report, with the history renderers for text and JSON (the plan and the
    groups need more than a ScanResult). Every other case goes through ScanOptions.report."""
    if opts.sink is not None or opts.output_format not in ("text", "json"):
        return opts.report(report.result)
    use_color = (
        opts.output_file is None
        and opts.output_format == "text"
        and sys.stdout.isatty()
        and not os.environ.get("NO_COLOR")
    )
    if opts.output_format == "text":
        text = history_text.render(report, opts.show_secrets, use_color)
    else:
        text = history_json.render(report, opts.show_secrets)
    text = valid_utf8(text)
    if not opts.show_secrets:
        text = redact_text(text)  # a path or a ref can be named after a key
    if opts.output_file:
        from kimi_secret_scan import outfile

        outfile.write(opts.output_file, text, whole_keys=opts.show_secrets)
        click.echo(redact_text(history_text.summary(report)), err=True)
    else:
        click.echo(text, nl=False, color=use_color)
    findings = report.result.findings
    failing = [f for f in findings if f.confidence >= opts.min_confidence]
    if len(failing) < len(findings):
        click.echo(
            f"kimi-secret-scan: {len(findings) - len(failing)} of {len(findings)} findings "
            f"below the minimum confidence ({opts.min_confidence}): reported, not failing",
            err=True,
        )
    return outcome(bool(failing), report.result.stats.skipped)
