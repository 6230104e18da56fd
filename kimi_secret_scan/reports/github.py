"""GitHub Actions workflow commands: one `::error` annotation per finding, on the file and
line, plus a Markdown job summary appended to $GITHUB_STEP_SUMMARY when that is set."""

from __future__ import annotations

import os

import click

from kimi_secret_scan import inert, remediation
from kimi_secret_scan.finding import Confidence, Finding
from kimi_secret_scan.redaction import hidden_in, redact_text
from kimi_secret_scan.reports.text import summary
from kimi_secret_scan.result import NewSuppression, ScanResult

_escape_data = inert.workflow_data
_escape_property = inert.workflow_property


def _place(f: Finding) -> tuple[dict[str, str], str]:
    """The annotation's file and lines, and what the message says first: a key inside a
    container is annotated on the container (line 1), the member named in the message, so
    that a member name such as `../../README` never puts it on another file."""
    if f.member is None:
        lines = {"line": str(f.line), "endLine": str(f.line)}
        return {"file": f.path, **lines, "col": str(f.column), "endColumn": str(f.end_column)}, ""
    inside = f"Inside {f.file}: {f.member}, line {f.line}, column {f.column}: "
    return {"file": f.file, "line": "1"}, inside


def annotation(f: Finding, show_secrets: bool) -> str:
    level = "warning" if f.confidence == Confidence.LOW else "error"
    place, inside = _place(f)
    props = {**place, "title": f"{f.rule.title} ({f.rule.id})"}
    message = (
        f"{inside}{f.shown_secret(show_secrets)} [{f.confidence} confidence]: "
        f"{remediation.console_hint(f.key_kind)}."
    )
    if f.commit:
        message += f" Added in {f.commit.sha[:12]} by {f.commit.author} on {f.commit.date}."
    if f.verification:
        message += f" Verification: {f.verification.describe()}."
    if f.note:
        message += f" Note: {f.note}"  # what was not applied, and how to apply it
    shown = ",".join(f"{key}={_escape_property(value)}" for key, value in props.items())
    return f"::{level} {shown}::{_escape_data(message)}"


_cell = inert.markdown
_code = inert.markdown_code


def markdown_summary(result: ScanResult, show_secrets: bool) -> str:
    lines = [
        "## kimi-secret-scan",
        "",
        _cell(summary(result).removeprefix("kimi-secret-scan: ")),
        "",
    ]
    if result.findings:
        lines += ["| where | commit | rule | key | revoke |", "| --- | --- | --- | --- | --- |"]
        for f in result.findings:
            lines.append(
                f"| {_code(f'{f.path}:{f.line}:{f.column}')} "
                f"| {f.commit.sha[:12] if f.commit else ''} "
                f"| {f.rule.id} | {_code(f.shown_secret(show_secrets))}"
                + (f" ({f.verification.word})" if f.verification else "")
                + " "
                f"| {_cell(remediation.console_hint(f.key_kind))} |"
            )
        lines.append("")
    if result.new_suppressions:
        lines += [
            "Suppressed by this change:",
            "",
            "| where | commit | rule | key | why |",
            "| --- | --- | --- | --- | --- |",
        ]
        for h in result.new_suppressions:
            f = h.finding
            lines.append(
                f"| {_code(f'{f.path}:{f.line}:{f.column}')} "
                f"| {f.commit.sha[:12] if f.commit else ''} "
                f"| {f.rule.id} | {_code(f.redacted)} | {_cell(h.justification)} |"
            )
        lines.append("")
    for skipped in result.stats.skipped:
        lines.append(f"- skipped {_code(skipped.path)}: {_cell(skipped.reason)}")
    return "\n".join(lines) + "\n"


def suppressed_annotation(hidden: NewSuppression) -> str:
    """A `::warning` on the line: a key hidden by a suppression the change added."""
    f = hidden.finding
    place, inside = _place(f)
    props = {k: v for k, v in place.items() if k in ("file", "line", "col")}
    props["title"] = "Key hidden by a suppression this change added"
    message = f"{inside}{f.rule.title}: {f.redacted} is suppressed by {hidden.justification}"
    shown = ",".join(f"{key}={_escape_property(value)}" for key, value in props.items())
    return f"::warning {shown}::{_escape_data(message)}"


def render(result: ScanResult, show_secrets: bool, color: bool = False) -> str:
    out = [annotation(f, show_secrets) for f in result.findings]
    out += [suppressed_annotation(h) for h in result.new_suppressions]
    for skipped in result.stats.skipped:
        # Unread content, or a file over a size limit: a warning, never a mere notice.
        level = "warning" if skipped.unreadable or "size limit" in skipped.reason else "notice"
        text = _escape_data(skipped.path + ": " + skipped.reason)
        out.append(f"::{level} title=skipped::{text}")
    out.append(inert.lines(inert.text(summary(result))))
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_summary:
        # The job summary is a side channel GitHub reads after the step; the annotations
        # and the exit code do not depend on it, so a failure to write it only warns.
        try:
            text = markdown_summary(result, show_secrets)
            if not show_secrets:
                # Written here, not through the CLI's output: its net for a path or ref
                # named after a key (redact_text) is applied here too.
                text = redact_text(text, hidden_in(result))
            with open(step_summary, "a", encoding="utf-8") as handle:
                handle.write(text)
        except OSError as exc:
            click.echo(f"kimi-secret-scan: cannot write GITHUB_STEP_SUMMARY: {exc}", err=True)
    return "\n".join(out) + "\n"
