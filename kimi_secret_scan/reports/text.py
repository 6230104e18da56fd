"""Text for people: each finding, what to do per kind of key, and a summary line."""

from __future__ import annotations

import os

import click

from kimi_secret_scan import inert
from kimi_secret_scan.finding import Finding
from kimi_secret_scan.result import ScanResult, Stats


def shown_path(path: str) -> str:
    """A path on one line: names with a newline, a tab or other control characters are
    quoted with escapes (as git quotes them; C1 and bidi controls too), undecodable bytes
    shown as U+FFFD."""
    return inert.path(path.encode("utf-8", "surrogateescape").decode("utf-8", "replace"))


def plural(n: int, word: str) -> str:
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"


def set_aside(stats: Stats) -> str:
    """What a summary line adds about items skipped and findings allowed."""
    text = f"; {len(stats.skipped)} skipped" if stats.skipped else ""
    if stats.suppressed:
        text += f"; {stats.suppressed} allowed by baseline, comment or config"
    return text


def new_suppressions(result: ScanResult) -> str:
    """The summary's words for findings hidden by suppressions the change added."""
    n = len(result.new_suppressions)
    return f"; {n} of them by suppressions this change added" if n else ""


def clean_verdict(stats: Stats, nothing: str) -> str:
    """The summary's verdict when nothing was found: `nothing` when nothing was read."""
    if any(s.unreadable for s in stats.skipped):
        return "no Kimi keys found in what could be read (INCOMPLETE: see skipped)"
    if stats.files == 0 and not stats.skipped and not stats.metadata:
        return nothing
    return "no Kimi keys found"


def summary(result: ScanResult) -> str:
    stats = result.stats
    what = "added line" if result.mode in ("staged",) else "line"
    scanned = f"scanned {plural(stats.files, 'file')}, {plural(stats.lines, what)}"
    if stats.commits:
        scanned += f", {plural(stats.commits, 'commit')}"
    if stats.metadata and stats.commits:  # (a hook's one file name or identity: not said)
        what = "message, name or identity" if stats.metadata == 1 else "messages, names, identities"
        scanned += f", {stats.metadata:,} {what}"
    scanned += set_aside(stats) + new_suppressions(result)
    if result.findings:
        keys = len({f.secret_sha256 for f in result.findings})
        files = len({f.path for f in result.findings})
        found = (
            f"{plural(len(result.findings), 'finding')} ({plural(keys, 'distinct key')}) "
            f"in {plural(files, 'file')}"
        )
        if not result.complete:
            # Keys were found, and something was not read: both are said.
            found += (
                f"; INCOMPLETE: {plural(len(result.unread), 'item')} could not be read or "
                "scanned (see skipped), and may hold more"
            )
    else:
        found = clean_verdict(stats, "nothing to scan")
    return f"kimi-secret-scan: {found}; {scanned} ({inert.text(result.scope)})"


def _finding(f: Finding, show_secrets: bool, color: bool) -> list[str]:
    where = f"{shown_path(f.path)}:{f.line}:{f.column}"
    if f.commit and f.commit.sha[:12] not in f.path:  # "commit message of <sha>" names it
        where = f"{f.commit.sha[:12]}:{where}"
    head = (
        click.style(where, bold=True, fg="red") if color else where
    ) + f": {f.rule.title} [{f.rule.id}, {f.confidence} confidence]"
    lines = [head, f"    {inert.text(f.shown_excerpt(show_secrets).strip())}"]
    if f.commit:
        lines.append(
            f"    committed by {inert.text(f.commit.author)} on {inert.text(f.commit.date)}"
        )
    if f.encoding:
        lines.append(f"    found {f.encoding}-encoded")
    if f.note:
        lines.append(f"    note: {inert.text(f.note)}")
    if f.verification:
        lines.append(f"    verification: {f.verification.describe()}")
    from kimi_secret_scan import remediation  # only a report with findings needs it

    lines.append(f"    → {remediation.console_line(f.key_kind)}")
    return lines


def render(result: ScanResult, show_secrets: bool, color: bool = False) -> str:
    out: list[str] = []
    for f in result.findings:
        out.extend(_finding(f, show_secrets, color))
        out.append("")
    out.extend(plan_lines(result, show_secrets, color))
    for hidden in result.new_suppressions:
        f = hidden.finding
        where = f"{f.commit.sha[:12]}:" if f.commit else ""
        out.append(
            f"suppressed by this change: {where}{shown_path(f.path)}:{f.line}:{f.column}: "
            f"{f.rule.title} {f.redacted}: {inert.text(hidden.justification)}"
        )
    for skipped in result.stats.skipped:
        out.append(f"skipped {shown_path(skipped.path)}: {inert.text(skipped.reason)}")
    line = summary(result)
    if color:
        line = click.style(line, fg="red" if result.findings else "green")
    out.append(line)
    return inert.lines("\n".join(out) + "\n")


def step_lines(number: str, step: list[str]) -> list[str]:
    """One numbered step: its text, then its commands on lines of their own (`$ ...`,
    indented, to copy as they are)."""
    out = []
    for i, raw in enumerate(step):
        # Steps quote paths, refs and commit subjects: the repository author's text.
        line = inert.text(raw)
        if line.startswith("$ "):
            out.append(f"       {line}")
        elif i == 0:
            out.append(f"  {number} {line}")
        else:
            out.append(f"     {line}")
    return out


def plan_lines(result: ScanResult, show_secrets: bool, color: bool) -> list[str]:
    """What to do, by the stage the keys reached (remediation.plan), then the way out of a
    false positive for a report that blocks the user."""
    if not result.findings:
        return []
    from kimi_secret_scan import remediation  # a clean hook run does not load it

    leaks = remediation.leaks_from(result.findings, show_secrets)
    title = remediation.plan_title(result.mode, len(leaks))
    out = [click.style(title, bold=True) if color else title]
    now, moved = remediation.at_head(leaks, result.at_head)
    steps = remediation.plan(result.mode, now)
    if moved and steps:
        steps.insert(1, *moved)  # after whether to revoke, before the files' steps
    for n, step in enumerate(steps, 1):
        out.extend(step_lines(f"{n}.", step))
    out.append("")
    lines: dict[tuple[str, int], set[str]] = {}
    for f in result.findings:
        lines.setdefault((f.path, f.line), set()).add(f.secret_sha256)
    several = {place for place, keys in lines.items() if len(keys) > 1}
    # pre-commit sets PRE_COMMIT=1 for the hooks it runs: only then is `SKIP=` a way out.
    if result.mode == "pre-receive":
        way_out = remediation.server_way_out(
            leaks, several, result.server_baseline, result.refuses_new_suppressions
        )
    else:
        way_out = remediation.way_out(
            result.mode, leaks, several, bool(os.environ.get("PRE_COMMIT"))
        )
    if way_out:
        way_out = [inert.text(line) for line in way_out]
        out.extend(f"       {line}" if line.startswith("$ ") else line for line in way_out)
        out.append("")
    return out


def finding_lines(f: Finding, show_secrets: bool, color: bool) -> list[str]:
    """One finding's lines as the text report prints them (for --quiet, which prints only these)."""
    return _finding(f, show_secrets, color)
