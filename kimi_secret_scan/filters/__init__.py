"""Filters drop findings that are allowed. Each is a plain function of one content's findings.

A filter never adds a finding, and applies the same way to every source.
"""

from __future__ import annotations

from collections.abc import Callable

from kimi_secret_scan.content import Content
from kimi_secret_scan.finding import Finding

Filter = Callable[[Content, list[Finding]], list[Finding]]


def counted_lines(content: Content, findings: list[Finding]) -> list[Finding]:
    """Keep what the source says counts: keys not already there, on the added lines, or
    off them when the content's earlier version did not hold the key (a key in pieces that
    starts on an unchanged line and ends on an added one is new all the same)."""
    kept = []
    earlier: frozenset[str] | None = None
    for f in findings:
        if f.secret in content.known_secrets:
            continue
        if content.lines is None or f.line in content.lines:
            kept.append(f)
            continue
        if content.earlier_secrets is None:
            continue
        if earlier is None:
            earlier = content.earlier_secrets()  # read once, and only when needed
        if f.secret not in earlier:
            kept.append(f)
    return kept


DEFAULT_FILTERS: tuple[Filter, ...] = (counted_lines,)
