"""The history audit for people: the plan first (revoke, clean the tree, purge), then each
occurrence, then one summary line."""

from __future__ import annotations

import click

from kimi_secret_scan import audit, inert, remediation
from kimi_secret_scan.audit import HistoryReport, KeyGroup
from kimi_secret_scan.finding import Finding
from kimi_secret_scan.reports.text import (
    clean_verdict,
    plural,
    set_aside,
    shown_path,
    step_lines,
)
from kimi_secret_scan.verdict import rank, tagged

_MAX_REFS_SHOWN = 6


def _size(n: int) -> str:
    return f"{n / 1_000_000:,.1f} MB" if n >= 100_000 else f"{n:,} bytes"


def summary(report: HistoryReport) -> str:
    result = report.result
    stats = result.stats
    scanned = (
        f"scanned {plural(report.blobs, 'blob')} ({_size(stats.bytes)}), "
        f"{plural(report.commits, 'commit')}"
    )
    if report.tags:
        scanned += f", {plural(report.tags, 'tag')}"
    scanned += set_aside(stats)
    if result.findings:
        files = len({f.path for f in result.findings})
        found = (
            f"{plural(len(result.findings), 'finding')} "
            f"({plural(len(report.groups), 'distinct key')}) in {plural(files, 'path')}"
        )
    elif report.commits or report.blobs or report.tags or any(s.unreadable for s in stats.skipped):
        found = clean_verdict(stats, "no Kimi keys found")
    else:
        found = "nothing to scan: no commits yet"
    return f"kimi-secret-scan: {found}; {scanned} ({inert.text(result.scope)})"


def _where(f: Finding) -> str:
    place = f"{shown_path(f.path)}:{f.line}:{f.column}"
    if not f.commit or not f.commit.sha or f.commit.sha[:12] in f.path:
        return place  # `author of 1a2b3c4d5e6f` names its commit already
    return f"{f.commit.sha[:12]} {place}"


# Names a history audit reads as one piece each (sources/metadata.history_names).
_NAMES = {
    "ref names": (
        "in the name of a ref (the purge below renames it in the mirror; rename or delete it "
        "here and on every other remote)"
    ),
    "path names": (
        "in the name of a file some commit holds (the purge below renames it in history "
        "too, with filter-repo's --filename-callback)"
    ),
}


def _by(f: Finding) -> str:
    if not f.commit:
        if f.path in _NAMES:
            return _NAMES[f.path]
        return (
            "no commit adds it (reachable through a tag or ref that points at the blob, or at "
            "a tree that holds it)"
        )
    who = inert.text(f"{f.commit.author} <{f.commit.email}> on {f.commit.date}")
    if f.path in _NAMES:  # a path name, located at the commit that added it
        return f"{_NAMES[f.path]}; added by {who}"
    return f"by {who}"


def _refs(g: KeyGroup) -> str:
    if not g.refs:
        if g.reflog_only:
            return "on no ref: only in reflogs of this clone (older stash entry, amended or reset)"
        return "on no ref"
    shown = ", ".join(map(inert.path, g.refs[:_MAX_REFS_SHOWN]))
    more = len(g.refs) - _MAX_REFS_SHOWN
    tail = f" and {more:,} more" if more > 0 else ""
    return f"reachable from {plural(len(g.refs), 'ref')}: {shown}{tail}"


def _key_block(g: KeyGroup, show_secrets: bool, color: bool) -> list[str]:
    title = f"Key {g.number}: {g.shown(show_secrets)} ({remediation.KIND_NAMES[g.kind]})"
    first = g.first
    lines = [
        f"  {click.style(title, bold=True, fg='red') if color else title}",
        f"     first appeared: {_where(first)}, {_by(first)}",
        f"     {plural(len(g.occurrences), 'occurrence')}; {_refs(g)}",
    ]
    if g.head_paths or g.head_names:
        held = [*map(shown_path, g.head_paths), *(f"{n} (in its name)" for n in g.head_names)]
        lines.append(f"     still in the current HEAD tree: {', '.join(held)}")
    else:
        lines.append("     not in the current HEAD tree (history only)")
    if g.verification:
        lines.append(f"     verification: {g.verification.describe()}")
    lines.append(f"     → {remediation.console_hint(g.kind)}")
    return lines


def _head_leak(g: KeyGroup, show_secrets: bool) -> remediation.Leak:
    """The key's places in HEAD, for the fix of the current files: an archive whose member
    held the key is named by that member (`bundle.zip!app/.env`), so that the plan says to
    build the archive again, as the gates' plans do, rather than to edit it in place."""
    leak = remediation.Leak(g.shown(show_secrets), g.kind, g.sha256)
    members = [f.member for f in g.occurrences if f.member is not None]
    for name in g.head_names:  # no command names it: the name holds the key
        leak.places.append((f"path name in HEAD ({name})", 0))
    for path in g.head_paths:
        inside = [f.path for f in g.occurrences if f.member is not None and f.file == path]
        if not inside and members and len(members) == len(g.occurrences):
            # Found only inside archives, and at another path than this one (the archive
            # was renamed since): the version in HEAD is one of them.
            inside = [f"{path}!{members[0]}"]
        for place in inside or [path]:
            if (place, 0) not in leak.places:
                leak.places.append((place, 0))
            if inside:
                leak.containers[place] = path
    return leak


def _plan(report: HistoryReport, show_secrets: bool, color: bool) -> list[str]:
    # With --verify, live keys come first: they are the ones an attacker can use now.
    groups = sorted(report.groups, key=lambda g: rank(g.verification))

    def heading(text: str) -> str:
        return click.style(text, bold=True) if color else text

    out = [
        heading(
            f"History audit: {plural(len(groups), 'distinct key')} leaked, "
            f"{plural(len(report.result.findings), 'occurrence')}. The plan, in order:"
        ),
        "",
        heading("Step 1. Revoke and rotate every key, now (before anything else)"),
    ]
    for g in groups:
        out.extend(_key_block(g, show_secrets, color))
        out.append("")
    by_kind: dict[str, list[KeyGroup]] = {}
    for g in groups:
        by_kind.setdefault(g.kind, []).append(g)
    for kind, members in by_kind.items():
        numbers = ", ".join(str(g.number) for g in members)
        label = "Key" if len(members) == 1 else "Keys"
        out.append(f"  {label} {numbers}, {remediation.KIND_NAMES[kind]}:")
        steps = remediation.revoke_steps(
            kind, [tagged(g.shown(show_secrets), g.verification) for g in members]
        )
        out.extend(
            f"     {letter}. {step}" for letter, step in zip("abcdefgh", steps, strict=False)
        )
        out.append("")
    step = 2
    in_head = [g for g in groups if g.head_paths or g.head_names]
    target = report.target
    if in_head:
        out.append(heading(f"Step {step}. Remove the keys from the current files"))
        leaks = [_head_leak(g, show_secrets) for g in in_head]
        commands = target is not None and not target.bare
        fixes = remediation.file_steps(
            leaks,
            commands=commands,
            then="stage the edit, commit and push",
            rotated=True,
            # This repository's own path: pasted from any directory, even outside it.
            top=inert.shell_word(str(target.root)) if target else remediation.TOP_LEVEL,
        )
        for letter, fix in zip("abc", fixes, strict=False):
            out.extend(step_lines(f"{letter}.", fix))  # step_lines makes each line inert
        out.append("")
        step += 1
    out.append(heading(f"Step {step}. Once every key is revoked, purge history"))
    out.append(f"  {audit.USELESS_WITHOUT_REVOKE}")
    if target is not None:
        letters = "abcdefghijklmnopqrstuvwxyz"
        for letter, purge in zip(letters, audit.purge_steps(groups, target), strict=False):
            out.extend(step_lines(f"{letter}.", purge))
    out.append("")
    return out


def _occurrence(f: Finding, number: int, show_secrets: bool, color: bool) -> list[str]:
    where = _where(f)
    head = (
        click.style(where, bold=True) if color else where
    ) + f": key {number}, {f.rule.title} [{f.rule.id}, {f.confidence} confidence]"
    excerpt = inert.text(f.shown_excerpt(show_secrets).strip())
    lines = [head, f"    {excerpt}", f"    {_by(f)}"]
    if f.note:
        lines.append(f"    note: {inert.text(f.note)}")
    return lines


def render(report: HistoryReport, show_secrets: bool, color: bool = False) -> str:
    out: list[str] = []
    if report.groups:
        out.extend(_plan(report, show_secrets, color))
        out.append(click.style("Occurrences", bold=True) if color else "Occurrences")
        out.append("(each commit that introduced a key at a path, oldest first per key)")
        out.append("")
        for g in report.groups:
            for f in g.occurrences:
                out.extend(_occurrence(f, g.number, show_secrets, color))
                out.append("")
    for skipped in report.result.stats.skipped:
        out.append(f"skipped {shown_path(skipped.path)}: {inert.text(skipped.reason)}")
    line = summary(report)
    if color:
        line = click.style(line, fg="red" if report.result.findings else "green")
    out.append(line)
    return inert.lines("\n".join(out) + "\n")
