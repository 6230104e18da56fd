"""The result of a scan: findings, what was read and what was set aside.

A core type, beside `Finding`: the pipeline (scan.py) fills it, reports and commands read
it. Nothing here imports the pipeline, the sources or the renderers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kimi_secret_scan import record
from kimi_secret_scan.content import Skipped
from kimi_secret_scan.finding import Finding


@record.frozen
@dataclass(init=False, repr=False, eq=False)
class NewSuppression:
    """A finding hidden by something the scanned change itself added or changed.

    `kind` is SARIF's: "inSource" for an inline allow comment, "external" for the
    configuration or the baseline. `justification` says which, in words. The finding holds
    the key (like every Finding); renderers show it redacted.
    """

    finding: Finding
    kind: str
    justification: str

    def __init__(self, finding: Finding, kind: str, justification: str) -> None:
        record.assign(self, finding=finding, kind=kind, justification=justification)


@record.frozen
@dataclass(init=False, repr=False, eq=False)
class Allowed:
    """A finding a suppression allowed, and what allowed it (listed by --verbose)."""

    finding: Finding
    by: str

    def __init__(self, finding: Finding, by: str) -> None:
        record.assign(self, finding=finding, by=by)


@record.mutable
@dataclass(init=False, repr=False, eq=False)
class Stats:
    """What a scan read, set aside and suppressed."""

    files: int = 0
    lines: int = 0
    bytes: int = 0
    commits: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    suppressed: int = 0
    allowed: list[Allowed] = field(default_factory=list)
    # Messages, names and identities scanned (sources/metadata.py), apart from files.
    metadata: int = 0

    def __init__(
        self,
        files: int = 0,
        lines: int = 0,
        bytes: int = 0,
        commits: int = 0,
        skipped: list[Skipped] | None = None,
        suppressed: int = 0,
        allowed: list[Allowed] | None = None,
        metadata: int = 0,
    ) -> None:
        self.files = files
        self.lines = lines
        self.bytes = bytes
        self.commits = commits
        self.skipped = [] if skipped is None else skipped
        self.suppressed = suppressed
        self.allowed = [] if allowed is None else allowed
        self.metadata = metadata


@record.mutable
@dataclass(init=False, repr=False, eq=False)
class ScanResult:
    """A scan's findings and statistics."""

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
    # Gates in a work tree: a file a finding names that HEAD no longer holds at that path ->
    # where HEAD holds it now (renamed later in the range), or None (deleted): the plan's
    # commands name the file as the index holds it.
    at_head: dict[str, str | None] = field(default_factory=dict)

    def __init__(
        self,
        mode: str,
        scope: str,
        findings: list[Finding] | None = None,
        stats: Stats | None = None,
        new_suppressions: list[NewSuppression] | None = None,
        server_baseline: str | None = None,
        refuses_new_suppressions: bool = False,
        at_head: dict[str, str | None] | None = None,
    ) -> None:
        self.mode = mode
        self.scope = scope
        self.findings = [] if findings is None else findings
        self.stats = Stats() if stats is None else stats
        self.new_suppressions = [] if new_suppressions is None else new_suppressions
        self.server_baseline = server_baseline
        self.refuses_new_suppressions = refuses_new_suppressions
        self.at_head = {} if at_head is None else at_head

    @property
    def unread(self) -> list[Skipped]:
        """What could not be read or scanned: while it is not empty the scan is incomplete."""
        return [s for s in self.stats.skipped if s.unreadable]

    @property
    def complete(self) -> bool:
        return not self.unread
