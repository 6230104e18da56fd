"""The pipeline: sources' content through the detectors and filters into one result."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from kimi_secret_scan.content import Content, Skipped
from kimi_secret_scan.detectors import DetectionTimeout, detect
from kimi_secret_scan.filters import DEFAULT_FILTERS, Filter, counted_lines
from kimi_secret_scan.finding import Finding, redact_neighbours
from kimi_secret_scan.settings import DEFAULT_SETTINGS, DetectorSettings
from kimi_secret_scan.windows import own_findings, part, shift, windows


@dataclass(frozen=True)
class Allowed:
    """A finding a suppression allowed, and what allowed it (listed by --verbose)."""

    finding: Finding
    by: str


# What each filter is called when it allows a finding; a filter with an `explain(content,
# finding)` attribute says more (the configuration names its setting).
_ALLOWED_BY = {"allow_comments": "an inline allow comment", "BaselineFilter": "the baseline"}


def allowed_by(keep: Filter, content: Content, finding: Finding) -> str:
    explain = getattr(keep, "explain", None)
    if explain is not None:
        return str(explain(content, finding))
    name = getattr(keep, "__name__", type(keep).__name__)
    return _ALLOWED_BY.get(name, name)


@dataclass
class Stats:
    files: int = 0
    lines: int = 0
    bytes: int = 0
    commits: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    suppressed: int = 0
    allowed: list[Allowed] = field(default_factory=list)


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
        if item.chunks is not None:
            done = _scan_windows(item, filters, settings, result)
        else:
            done = _scan_whole(item, filters, settings, result)
        if done:
            stats.files += 1
    return result


def _filter(
    item: Content, findings: list[Finding], filters: Sequence[Filter], stats: Stats
) -> list[Finding]:
    for keep in filters:
        if not findings:
            break
        before = findings
        findings = keep(item, findings)
        if keep is not counted_lines and len(findings) < len(before):
            # Allowed by configuration, an inline comment or the baseline: said in the
            # summary, so a run that suppressed something never looks like a plain pass.
            stats.suppressed += len(before) - len(findings)
            kept = {id(f) for f in findings}
            stats.allowed.extend(
                Allowed(f, allowed_by(keep, item, f)) for f in before if id(f) not in kept
            )
    return findings


def _scan_whole(
    item: Content, filters: Sequence[Filter], settings: DetectorSettings, result: ScanResult
) -> bool:
    try:
        findings = redact_neighbours(detect(item, settings))
    except DetectionTimeout as exc:
        result.stats.skipped.append(Skipped(item.path, exc.reason))
        return False
    result.stats.lines += _line_count(item)
    result.stats.bytes += len(item.data)
    result.findings.extend(_filter(item, findings, filters, result.stats))
    return True


def _scan_windows(
    item: Content, filters: Sequence[Filter], settings: DetectorSettings, result: ScanResult
) -> bool:
    """Content too large to hold, one window at a time. The filters see each window as a
    content of its own (an allow comment is read on the window's lines), before the
    findings are moved to the whole content's lines."""
    assert item.chunks is not None
    findings: list[Finding] = []
    newlines = 0
    tail = b""
    stats = Stats()
    for win in windows(item.chunks()):
        window = part(item, win)
        try:
            found = redact_neighbours(own_findings(window, win, settings))
        except DetectionTimeout as exc:
            result.stats.skipped.append(Skipped(item.path, exc.reason))
            return False
        seen = len(stats.allowed)
        findings += shift(_filter(window, found, filters, stats), win)
        new = stats.allowed[seen:]
        moved = shift([a.finding for a in new], win)
        stats.allowed[seen:] = [Allowed(f, a.by) for a, f in zip(new, moved, strict=True)]
        own = win.data[win.own_start : win.own_end]
        newlines += own.count(b"\n")
        tail = own[-1:] or tail
    result.stats.suppressed += stats.suppressed
    result.stats.allowed.extend(stats.allowed)
    if item.lines is not None:
        result.stats.lines += len(item.lines)
    elif tail:
        result.stats.lines += newlines + (0 if tail == b"\n" else 1)
    result.stats.bytes += item.size
    result.findings.extend(findings)
    return True
