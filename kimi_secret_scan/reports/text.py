"""Text for people: each finding, what to do per kind of key, and a summary line."""

from __future__ import annotations

import click

from kimi_secret_scan import inert, remediation
from kimi_secret_scan.finding import Finding
from kimi_secret_scan.scan import ScanResult, Stats


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


def clean_verdict(stats: Stats, nothing: str) -> str:
    """The summary's verdict when nothing was found: `nothing` when nothing was read."""
    if any(s.unreadable for s in stats.skipped):
        return "no Kimi keys found in what could be read (INCOMPLETE: see skipped)"
    if stats.files == 0 and not stats.skipped:
        return nothing
    return "no Kimi keys found"


def summary(result: ScanResult) -> str:
    stats = result.stats
    what = "added line" if result.mode in ("staged",) else "line"
    scanned = f"scanned {plural(stats.files, 'file')}, {plural(stats.lines, what)}"
    if stats.commits:
        scanned += f", {plural(stats.commits, 'commit')}"
    scanned += set_aside(stats)
    if result.findings:
        keys = len({f.secret_sha256 for f in result.findings})
        files = len({f.path for f in result.findings})
        found = (
            f"{plural(len(result.findings), 'finding')} ({plural(keys, 'distinct key')}) "
            f"in {plural(files, 'file')}"
        )
    else:
        found = clean_verdict(stats, "nothing to scan")
    return f"kimi-secret-scan: {found}; {scanned} ({inert.text(result.scope)})"


def _finding(f: Finding, show_secrets: bool, color: bool) -> list[str]:
    where = f"{shown_path(f.path)}:{f.line}:{f.column}"
    if f.commit:
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
    lines.append(f"    → {remediation.console_hint(f.key_kind)}")
    return lines


def render(result: ScanResult, show_secrets: bool, color: bool = False) -> str:
    out: list[str] = []
    for f in result.findings:
        out.extend(_finding(f, show_secrets, color))
        out.append("")
    by_kind: dict[str, list[str]] = {}
    for f in result.findings:
        shown = f.shown_secret(show_secrets)
        if shown not in by_kind.setdefault(f.key_kind, []):
            by_kind[f.key_kind].append(shown)
    for kind, keys in by_kind.items():
        title = f"What to do about the {remediation.KIND_NAMES[kind]}"
        out.append(click.style(title, bold=True) if color else title)
        steps = [*remediation.revoke_steps(kind, keys), remediation.fix_step(result.mode)]
        out.extend(f"  {n}. {step}" for n, step in enumerate(steps, 1))
        out.append("")
    for skipped in result.stats.skipped:
        out.append(f"skipped {shown_path(skipped.path)}: {inert.text(skipped.reason)}")
    line = summary(result)
    if color:
        line = click.style(line, fg="red" if result.findings else "green")
    out.append(line)
    return inert.lines("\n".join(out) + "\n")
