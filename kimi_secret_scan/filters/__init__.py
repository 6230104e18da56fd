"""Filters drop findings that are allowed. Each is a plain function of one content's findings.

A filter never adds a finding, and applies the same way to every source.
"""

from __future__ import annotations

from collections.abc import Callable

from kimi_secret_scan.content import Content
from kimi_secret_scan.finding import Finding

Filter = Callable[[Content, list[Finding]], list[Finding]]


def counted_lines(content: Content, findings: list[Finding]) -> list[Finding]:
    """Keep what the source says counts: the added lines, and keys not already there."""
    return [
        f
        for f in findings
        if (content.lines is None or f.line in content.lines)
        and f.secret not in content.known_secrets
    ]


DEFAULT_FILTERS: tuple[Filter, ...] = (counted_lines,)
