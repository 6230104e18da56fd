"""The result of a scan: findings, what was read and what was set aside.

A core type, beside `Finding`: the pipeline (scan.py) fills it, reports and commands read
it. Nothing here imports the pipeline, the sources or the renderers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kimi_secret_scan.content import Skipped
from kimi_secret_scan.finding import Finding


@dataclass(frozen=True)
class NewSuppression:
    """A finding hidden by something the scanned change itself added or changed.

    `kind` is SARIF's: "inSource" for an inline allow comment, "external" for the
    configuration or the baseline. `justification` says which, in words. The finding holds
    the key (like every Finding); renderers show it redacted.
    """

    finding: Finding
    kind: str
    justification: str


@dataclass(frozen=True)
class Allowed:
    """A finding a suppression allowed, and what allowed it (listed by --verbose)."""

    finding: Finding
    by: str


@dataclass
class Stats:
    files: int = 0
    lines: int = 0
    bytes: int = 0
    commits: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    suppressed: int = 0
    allowed: list[Allowed] = field(default_factory=list)
    # Messages, names and identities scanned (sources/metadata.py), apart from files.
    metadata: int = 0


@dataclass
class ScanResult:
    mode: str
    scope: str  # what was scanned, in words, e.g. "staged changes against HEAD"
    findings: list[Finding] = field(default_factory=list)
    stats: Stats = field(default_factory=Stats)
    # Findings hidden by a suppression the scanned change added (gates only).
    new_suppressions: list[NewSuppression] = field(default_factory=list)
    # pre-receive: what the server's own configuration offers a pusher whose finding is not
    # a key (its baseline file, if it names one, and whether it refuses suppressions a push
    # adds); the way out of a false positive is then the server's to give.
    server_baseline: str | None = None
    refuses_new_suppressions: bool = False

    @property
    def unread(self) -> list[Skipped]:
        """What could not be read or scanned: while it is not empty the scan is incomplete."""
        return [s for s in self.stats.skipped if s.unreadable]

    @property
    def complete(self) -> bool:
        return not self.unread
