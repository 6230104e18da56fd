"""The pipeline: sources' content through the detectors and filters into one result."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from kimi_secret_scan.content import Content, Skipped
from kimi_secret_scan.detectors import DetectionTimeout, detect
from kimi_secret_scan.filters import DEFAULT_FILTERS, Filter, counted_lines
from kimi_secret_scan.finding import Finding, redact_neighbours
from kimi_secret_scan.settings import DEFAULT_SETTINGS, DetectorSettings


@dataclass
class Stats:
    files: int = 0
    lines: int = 0
    bytes: int = 0
    commits: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    suppressed: int = 0


@dataclass
class ScanResult:
    mode: str
    scope: str  # what was scanned, in words, e.g. "staged changes against HEAD"
    findings: list[Finding] = field(default_factory=list)
    stats: Stats = field(default_factory=Stats)


def _line_count(content: Content) -> int:
    if content.lines is not None:
        return len(content.lines)
    data = content.data
    if not data:
        return 0
    return data.count(b"\n") + (0 if data.endswith(b"\n") else 1)


def scan(
    mode: str,
    scope: str,
    items: Iterable[Content | Skipped],
    filters: Sequence[Filter] = DEFAULT_FILTERS,
    settings: DetectorSettings = DEFAULT_SETTINGS,
) -> ScanResult:
    result = ScanResult(mode=mode, scope=scope)
    stats = result.stats
    for item in items:
        if isinstance(item, Skipped):
            stats.skipped.append(item)
            continue
        try:
            findings = redact_neighbours(detect(item, settings))
        except DetectionTimeout as exc:
            stats.skipped.append(Skipped(item.path, exc.reason))
            continue
        stats.files += 1
        stats.lines += _line_count(item)
        stats.bytes += len(item.data)
        for keep in filters:
            if not findings:
                break
            before = len(findings)
            findings = keep(item, findings)
            if keep is not counted_lines:
                # Allowed by configuration, an inline comment or the baseline: said in the
                # summary, so a run that suppressed something never looks like a plain pass.
                stats.suppressed += before - len(findings)
        result.findings.extend(findings)
    return result
