"""`kimi-secret-scan merge`: one report from many per-target or per-shard reports."""

from __future__ import annotations

import click

from kimi_secret_scan.cli import handle_errors, valid_utf8
from kimi_secret_scan.errors import ScanError
from kimi_secret_scan.org import merge
from kimi_secret_scan.redaction import redact_text
from kimi_secret_scan.reports import merged as merged_report

format_option = click.option(
    "--format",
    "output_format",
    type=click.Choice(merged_report.FORMATS),
    default="text",
    show_default=True,
    help="Format of the merged report.",
)
output_option = click.option(
    "--output",
    "output_file",
    type=click.Path(dir_okay=False),
    help="Write the merged report to this file instead of standard output (`-`: standard output).",
)


def emit(merged: dict[str, object], output_format: str, output_file: str | None) -> int:
    """Render, write, and return the exit code (2 when a target could not be audited)."""
    text = redact_text(valid_utf8(merged_report.render(merged, output_format)))
    if output_file and output_file != "-":  # `-`: standard output, as for the scans
        from kimi_secret_scan import outfile

        # Never through a link nor into a git directory, as every report file.
        outfile.write(output_file, text, whole_keys=False)
        if output_format != "text":
            first = merged_report.render_text(merged).splitlines()[0]
            click.echo(redact_text(first), err=True)
    else:
        click.echo(text, nl=False)
    return merge.exit_code(merged)


@click.command("merge")
@click.argument("reports", nargs=-1, required=True, type=click.Path())
@format_option
@output_option
@handle_errors
def command(reports: tuple[str, ...], output_format: str, output_file: str | None) -> int:
    """Merge audit reports (files, or directories of *.json) into one, grouped by key.

    For each distinct key: its kind, every repository, ref and path where it appears, where it
    first appeared in each, whether a default branch still holds it, and whether it is live
    (where the audit ran with verification). Exit 2 when an input lists a repository that
    could not be audited, or a shard of a sharded audit (or a report it wrote) is missing,
    or no key was found and a report covers part of a history only (`history --since`),
    else 1 when keys were found, else 0.
    """
    files = merge.input_files(reports)
    if not files:
        raise ScanError("no reports to merge (a directory holds no *.json)")
    loaded = [(path, merge.load(path)) for path in files]
    return emit(merge.merge(loaded), output_format, output_file)
