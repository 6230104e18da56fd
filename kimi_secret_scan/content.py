"""What sources yield: a piece of content and where it lives."""

from __future__ import annotations

from dataclasses import dataclass

from kimi_secret_scan.finding import Commit


@dataclass(frozen=True)
class Content:
    path: str
    data: bytes
    # 1-based line numbers whose findings count (the lines a commit adds); None: every line.
    lines: frozenset[int] | None = None
    commit: Commit | None = None
    # Keys already present before the change (binary files have no line diff): not reported.
    known_secrets: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Skipped:
    """Something a source could not scan. Reported, never dropped silently."""

    path: str
    reason: str
    # True when the content exists but could not be read (a missing or corrupt object, an
    # unreadable file): a run that found nothing else then exits 2, never 0, since what was
    # not read may hold a key. False for skips by policy (size limit, submodule, symlink).
    unreadable: bool = False
