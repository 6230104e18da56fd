"""The pipeline: sources' content through the detectors and filters into one result."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace

from kimi_secret_scan.content import Content, Skipped
from kimi_secret_scan.detect.layered import holds_nothing
from kimi_secret_scan.detectors import DetectionTimeout, detect
from kimi_secret_scan.filters import DEFAULT_FILTERS, Filter, counted_lines
from kimi_secret_scan.finding import Confidence, Finding, redact_neighbours
from kimi_secret_scan.result import Allowed, ScanResult, Stats
from kimi_secret_scan.settings import DEFAULT_SETTINGS, DetectorSettings
from kimi_secret_scan.unpack import (
    Found,
    expand,
    locate,
    relocate,
)
from kimi_secret_scan.windows import (
    Window,
    in_context,
    merge_findings,
    names_context,
    own_findings,
    shift,
    windows,
)

__all__ = ["Allowed", "ScanResult", "Stats", "scan"]  # ScanResult and Stats live in result.py


# What each filter is called when it allows a finding; a filter with an `explain(content,
# finding)` attribute says more (the configuration names its setting).
_ALLOWED_BY = {"allow_comments": "an inline allow comment", "BaselineFilter": "the baseline"}


def allowed_by(keep: Filter, content: Content, finding: Finding) -> str:
    explain = getattr(keep, "explain", None)
    if explain is not None:
        return str(explain(content, finding))
    name = getattr(keep, "__name__", type(keep).__name__)
    return _ALLOWED_BY.get(name, name)


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
    unread_containers: Callable[[str], bool] | None = None,
    trusted: str = "the base side's configuration",
    min_confidence: Confidence = Confidence.LOW,
) -> ScanResult:
    """`unread_containers` (every gate): for a container path it says True of, what the
    container holds but could not be unpacked (a limit, an encrypted member, a damaged
    archive) makes the scan incomplete, exit 2, instead of a pass with a note: a key
    inside may be going in. `trusted` names the configuration whose exclude accepts it.
    `min_confidence`: the run's gate; a finding below it fails nothing, so it does not make
    its key known to a later version of a commit range (where it may be high)."""
    result = ScanResult(mode=mode, scope=scope)
    stats = result.stats
    # Per version of a commit range (Content.version): the keys that passed there, reported
    # as failing or known; only those are known to the later versions that inherit from it.
    # A finding below the minimum confidence is reported but fails nothing: were its key
    # known, the version making it high (a Moonshot base_url added) would pass the gate.
    passed: dict[str, frozenset[str]] = {}
    for item in items:
        if isinstance(item, Skipped):
            stats.skipped.append(item)
            continue
        if item.inherits:
            carried = frozenset().union(*(passed.get(v, frozenset()) for v in item.inherits))
            item = replace(item, known_secrets=item.known_secrets | carried)
        known, start, seen = item.known_secrets, len(result.findings), set[str]()
        # Only content whose first bytes name a container, or whose end is a zip's, or
        # a script with an archive behind it, is unpacked (unpack.locate: a few byte
        # comparisons and one search of the last 64 KiB per item otherwise).
        found = locate(item)
        if found is not None:
            unread = unread_containers is not None and unread_containers(
                item.container or item.path
            )
            inside = _scan_members(item, filters, settings, result, unread, trusted, found)
            seen |= inside
            if inside:
                # The container's own bytes are scanned too (a stored member, a deleted
                # database row still on its page), but a key found in a member is
                # reported there, once, not again at the container's path.
                item = replace(item, known_secrets=item.known_secrets | inside)
        done = _scan_one(item, filters, settings, result, seen)
        if item.version is not None:
            failing = (f for f in result.findings[start:] if f.confidence >= min_confidence)
            reported = {f.secret for f in failing} | (seen & known)
            if reported:  # most versions hold no key: absent means none passed
                passed[item.version] = frozenset(reported)
        if done and item.metadata:
            stats.metadata += 1
        elif done:
            stats.files += 1
    return result


def _scan_one(
    item: Content,
    filters: Sequence[Filter],
    settings: DetectorSettings,
    result: ScanResult,
    found: set[str] | None = None,
) -> bool:
    if item.chunks is not None:
        return _scan_windows(item, filters, settings, result, found)
    return _scan_whole(item, filters, settings, result, found)


def _scan_members(
    item: Content,
    filters: Sequence[Filter],
    settings: DetectorSettings,
    result: ScanResult,
    unread: bool = False,
    trusted: str = "",
    where: tuple[str, int] | None = None,
) -> frozenset[str]:
    """Scan what a container holds; the keys found in it, before any filter."""
    found: set[str] = set()
    inside = Found()
    for piece in expand(item, settings.limits, where):
        if isinstance(piece, Skipped):
            if unread and not piece.unreadable:
                why = piece.reason + _GATE_UNREAD.format(trusted=trusted)
                piece = Skipped(piece.path, why, unreadable=True)
            result.stats.skipped.append(piece)
        else:
            # A nested container's own bytes: a key found in what it holds is known there.
            known = inside.known(piece)
            if known:
                piece = replace(piece, known_secrets=piece.known_secrets | known)
            keys: set[str] = set()
            _scan_one(piece, filters, settings, result, keys)
            inside.add(piece, keys)
            found |= keys
    return frozenset(found)


_GATE_UNREAD = (
    "; a gate cannot tell what it holds, so the scan is incomplete (to accept that, "
    "exclude the file in {trusted})"
)


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


def _timed_out(item: Content, exc: DetectionTimeout) -> Skipped:
    """Content a pattern gave up on was not scanned: it may hold a key, so the run is
    incomplete (exit 2 unless keys were found), never a pass. Which content gives up
    depends on the machine's speed, so a limit must not be a way to get a key through."""
    where = f"{item.commit.sha[:12]}:{item.path}" if item.commit else item.path
    return Skipped(where, exc.reason, unreadable=True)


def _behind_allow_comments(
    item: Content, findings: list[Finding], settings: DetectorSettings
) -> list[Finding]:
    """`findings`, and the keys an allow comment hid by standing between a key's pieces
    (pragma.without_allow_comments): found with the comments blanked, they go through the
    filters, where the comment allows them and the run counts and says so."""
    from kimi_secret_scan.filters.pragma import without_allow_comments

    blanked = without_allow_comments(item)
    if blanked is None:
        return findings
    known = {f.secret for f in findings}
    more = [f for f in relocate(item, detect(blanked, settings)) if f.secret not in known]
    if not more:
        return findings
    return redact_neighbours(sorted([*findings, *more], key=lambda f: (f.line, f.column)))


def _scan_whole(
    item: Content,
    filters: Sequence[Filter],
    settings: DetectorSettings,
    result: ScanResult,
    found: set[str] | None = None,
) -> bool:
    try:
        if holds_nothing(item.path, item.data, settings):
            # Most of a history audit's names and identities (psf/requests: 2,100 of
            # them, one content each, scanned after the objects, one after another).
            findings: list[Finding] = []
        else:
            findings = redact_neighbours(relocate(item, detect(item, settings)))
            findings = _behind_allow_comments(item, findings, settings)
    except DetectionTimeout as exc:
        result.stats.skipped.append(_timed_out(item, exc))
        return False
    if found is not None:
        found.update(f.secret for f in findings)
    if not item.metadata:
        result.stats.lines += _line_count(item)
        result.stats.bytes += len(item.data)
    result.findings.extend(_filter(item, findings, filters, result.stats))
    return True


def _window(
    item: Content,
    win: Window,
    context: bool,
    filters: Sequence[Filter],
    settings: DetectorSettings,
    stats: Stats,
    found: set[str] | None,
) -> list[Finding]:
    """One window's findings after the filters, located in the whole content; what the
    filters allow is counted in `stats`, located the same way. DetectionTimeout passes."""
    window = in_context(item, win, context)
    found_here = redact_neighbours(own_findings(window, win, settings))
    if found is not None:
        found.update(f.secret for f in found_here)
    seen = len(stats.allowed)
    kept = shift(_filter(window, found_here, filters, stats), win)
    new = stats.allowed[seen:]
    moved = shift([a.finding for a in new], win)
    stats.allowed[seen:] = [Allowed(f, a.by) for a, f in zip(new, moved, strict=True)]
    return kept


def _scan_windows(
    item: Content,
    filters: Sequence[Filter],
    settings: DetectorSettings,
    result: ScanResult,
    found: set[str] | None = None,
) -> bool:
    """Content too large to hold, one window at a time. The filters see each window as a
    content of its own (an allow comment is read on the window's lines), before the
    findings are moved to the whole content's lines."""
    assert item.chunks is not None
    findings: list[Finding] = []
    newlines = 0
    tail = b""
    stats = Stats()
    # A content that names Moonshot or a Kimi endpoint anywhere is a Kimi context throughout
    # (windows.detect_chunks): the windows before the one naming it are read again so.
    context = item.kimi_context
    late = 0
    try:
        for n, win in enumerate(windows(item.chunks())):
            findings += _window(item, win, context, filters, settings, stats, found)
            own = win.data[win.own_start : win.own_end]
            newlines += own.count(b"\n")
            tail = own[-1:] or tail
            if not context and names_context(win.data, settings):
                context, late = True, n
        if late:
            # The windows before the one naming the context, read again as Kimi context: what
            # they add (a base64 key) joins the findings; an allow comment counted once.
            again: list[Finding] = []
            more = Stats()
            source = windows(item.chunks())
            try:
                for _, win in zip(range(late), source, strict=False):
                    again += _window(item, win, True, filters, settings, more, found)
            finally:
                source.close()
            known = {(a.finding.line, a.finding.column) for a in stats.allowed}
            added = [a for a in more.allowed if (a.finding.line, a.finding.column) not in known]
            stats.allowed += added
            stats.suppressed += len(added)
            findings = merge_findings(findings, again)
    except DetectionTimeout as exc:
        result.stats.skipped.append(_timed_out(item, exc))
        return False
    result.stats.suppressed += stats.suppressed
    result.stats.allowed.extend(stats.allowed)
    if item.lines is not None:
        result.stats.lines += len(item.lines)
    elif tail:
        result.stats.lines += newlines + (0 if tail == b"\n" else 1)
    result.stats.bytes += item.size
    result.findings.extend(findings)
    return True
