"""Inline allow comments.

On the key's line, after the key:   `kimi-secret-scan: allow` (also `pragma: allowlist
secret` and `gitleaks:allow`, for projects migrating from detect-secrets and gitleaks).
On the line before the key:        `kimi-secret-scan: allow-next-line` (also `pragma:
allowlist nextline secret`), for formats without trailing comments (.env, .properties, JSON).

What a comment covers, precisely:
- only keys on the line it applies to; on its own line, only keys that end before the
  comment starts (a key pasted into or after the comment is never covered);
- a bare comment covers one key: when the covered part of the line holds two or more
  distinct keys it covers none of them, and each is reported with a note saying how to
  name the one meant;
- `kimi-secret-scan: allow sha256:1a2b3c4d` (a prefix of at least 8 hex digits of the key's
  SHA-256, as the JSON report prints it) or `… allow moonshot-api-key` (a rule id) covers
  exactly the keys named, however many keys the line holds. Other words after the marker
  are free text (a reason).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from kimi_secret_scan import record
from kimi_secret_scan.content import Content
from kimi_secret_scan.finding import Finding
from kimi_secret_scan.lazy_regex import lazy
from kimi_secret_scan.rules import RULES_BY_ID

if TYPE_CHECKING:
    import regex  # imported where a pattern is compiled: it costs a hook run ~5 ms

_SAME_LINE = (
    r"kimi-secret-scan:[ \t]*allow(?![\w-])|pragma:[ \t]*allowlist[ \t]+secret|gitleaks:allow"
)
_NEXT_LINE = (
    r"kimi-secret-scan:[ \t]*allow-next-line(?![\w-])"
    r"|pragma:[ \t]*allowlist[ \t]+nextline[ \t]+secret"
)
_TARGET = r"sha256:([0-9a-fA-F]{8,64})\b|([a-z0-9]+(?:-[a-z0-9]+)+)"


@functools.cache
def _compiled(pattern: str) -> regex.Pattern[str]:
    # Compiled on first use: a clean hook run never needs them.
    import regex

    return regex.compile(pattern, regex.IGNORECASE if pattern != _TARGET else 0)


# Only our own marker takes targets; its words run to the end of the line or a comment end.
_OWN = "kimi-secret-scan:"
_QUICK = (b"allow", b"ALLOW", b"Allow")

AMBIGUOUS_NOTE = (
    "an allow comment here covers one key, but this line holds several: name this one with "
    "`kimi-secret-scan: allow sha256:{prefix}`"
)


@record.frozen
@dataclass(init=False, repr=False, eq=False)
class _Allow:
    """An allow comment: where it is, and the keys and rules it names."""

    # Character offset of the comment in its line; None for allow-next-line (whole line).
    start: int | None
    shas: tuple[str, ...]
    rules: tuple[str, ...]

    def __init__(self, start: int | None, shas: tuple[str, ...], rules: tuple[str, ...]) -> None:
        record.assign(self, start=start, shas=shas, rules=rules)

    @property
    def named(self) -> bool:
        return bool(self.shas or self.rules)

    def names(self, finding: Finding) -> bool:
        return finding.rule.id in self.rules or any(
            finding.secret_sha256.startswith(s) for s in self.shas
        )


def _targets(text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    shas: list[str] = []
    rules: list[str] = []
    for match in _compiled(_TARGET).finditer(text):
        if match.group(1):
            shas.append(match.group(1).lower())
        elif match.group(2) in RULES_BY_ID:
            rules.append(match.group(2))
    return tuple(shas), tuple(rules)


def _allow(line: str, pattern: str, next_line: bool) -> _Allow | None:
    match = _compiled(pattern).search(line)
    if match is None:
        return None
    shas: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()
    if match.group(0).lower().startswith(_OWN):
        shas, rules = _targets(line[match.end() :])
    return _Allow(start=None if next_line else match.start(), shas=shas, rules=rules)


def _lines(data: bytes, wanted: set[int]) -> dict[int, str]:
    """The text of the wanted 1-based line numbers, reading no further than needed."""
    found: dict[int, str] = {}
    last = max(wanted)
    start, number = 0, 1
    while number <= last and start <= len(data):
        end = data.find(b"\n", start)
        stop = len(data) if end < 0 else end
        if number in wanted:
            found[number] = data[start:stop].rstrip(b"\r").decode("utf-8", "replace")
        if end < 0:
            break
        start, number = end + 1, number + 1
    return found


def _before(f: Finding, allow: _Allow, width: int) -> bool:
    """Whether the comment's part of the line holds the finding: it ends before the comment,
    or (a key in pieces over several lines: it ends past its first line, `width` long) its
    first piece starts before the comment, where a plan says to put one."""
    if allow.start is None or f.end_column - 1 <= allow.start:
        return True
    return f.end_column - 1 > width and f.column - 1 < allow.start


def _cover(findings: list[Finding], allow: _Allow, width: int) -> tuple[set[int], set[int]]:
    """(covered, ambiguous) indexes of the findings of one line under one comment."""
    before = [i for i, f in enumerate(findings) if _before(f, allow, width)]
    if allow.named:
        return {i for i in before if allow.names(findings[i])}, set()
    if len({findings[i].secret_sha256 for i in before}) == 1:
        return set(before), set()
    return set(), set(before)


def allow_comments(content: Content, findings: list[Finding]) -> list[Finding]:
    if not any(word in content.data for word in _QUICK):
        return findings
    covered, ambiguous = _judge(content, findings)
    kept: list[Finding] = []
    for i, f in enumerate(findings):
        if i in covered:
            continue
        if i in ambiguous:
            note = AMBIGUOUS_NOTE.format(prefix=f.secret_sha256[:12])
            f = replace(f, note=f"{f.note} {note}" if f.note else note)
        kept.append(f)
    return kept


# An allow comment's words, to the end of their line. What may open the comment (`#`, `//`,
# `--`, `;`, `/*`, `<!--`, `%`, `'`, `REM`) and the blanks around it are read back from the
# words (_comment_start): one pattern that starts with optional blanks and openers is tried at
# every byte of the content (15 ms for one 34 KB file of psf/requests, where
# `allow_redirects` makes every file a candidate: half a second of a history audit); the
# words alone are found by their literal text (0.4 ms).
_WORDS = rb"(?i:" + (_SAME_LINE + "|" + _NEXT_LINE).encode() + rb")[^\r\n]*"
_WORDS_FOUND = lazy(_WORDS)
_BLANKS = b" \t"


def _back_over(data: bytes, i: int, low: int, chars: bytes) -> int:
    """Where the run of `chars` that ends at `i` starts (not before `low`)."""
    return low + len(data[low:i].rstrip(chars))


def _comment_start(data: bytes, words: int, low: int) -> int:
    """Where an allow comment whose words start at `words` begins: the leftmost start of
    `[ \\t]*(?:#+|//+|--+|;+|/\\*+|<!--|%+|'|REM\\b)?[ \\t]*` ending there (not before `low`)."""
    end = _back_over(data, words, low, _BLANKS)
    i = end
    last = data[i - 1 : i]
    if last in (b"#", b";", b"%"):
        i = _back_over(data, i, low, last)
    elif last == b"'":
        i -= 1
    elif last == b"*":
        stars = _back_over(data, i, low, b"*")
        if data[stars - 1 : stars] == b"/" and stars - 1 >= low:
            i = stars - 1
    elif last in (b"/", b"-"):
        run = _back_over(data, i, low, last)
        if i - run >= 2:
            i = run
            if last == b"-" and end - run == 2 and data[run - 2 : run] == b"<!" and run - 2 >= low:
                i = run - 2
    elif end < words and end - 3 >= low and data[end - 3 : end].lower() == b"rem":
        i = end - 3
    return _back_over(data, i, low, _BLANKS) if i != end else end


def without_allow_comments(content: Content) -> Content | None:
    """`content` with each allow comment blanked (spaces, so lines and columns stay), or None
    when it holds none. An allow comment must not hide a key by being there: written after
    the first piece of a key in pieces (`"sk-kimi-…"  # kimi-secret-scan: allow` ⏎ `"…"`,
    as a plan advises), it stands between the pieces, and the detectors would not join
    them. The scan also reads the content so blanked, and each key found only there goes
    through the filters like any other: the comment's allowing it is counted and said."""
    import dataclasses

    data = content.data
    if not any(word in data for word in _QUICK):
        return None
    blanked = bytearray()
    done = 0
    for m in _WORDS_FOUND.finditer(data):
        # A comment does not reach back past its line's start.
        line = max(data.rfind(b"\n", done, m.start()), data.rfind(b"\r", done, m.start()))
        start = _comment_start(data, m.start(), max(done, line + 1))
        blanked += data[done:start]
        blanked += b" " * (m.end() - start)
        done = m.end()
    if not done:
        return None
    blanked += data[done:]
    return dataclasses.replace(content, data=bytes(blanked))


NOT_APPLIED = "an inline allow comment in the audited repository covers this key: not applied"
NOT_APPLIED_NOTE = (
    NOT_APPLIED + " (an audit of history is not talked out of its findings by the repository "
    "audited). If the comment is yours, apply the repository's allow comments: {command}"
)


@dataclass(frozen=True)
class NotedAllowComments:
    """The allow comments of a repository audited by `history` or `audit`, not applied: each
    finding a comment would have allowed is kept, with a note saying so and the command
    that applies them (`command`, the same run with --inline-allows). A class, not a
    closure: the history scan's worker processes receive it pickled."""

    command: str

    def __call__(self, content: Content, findings: list[Finding]) -> list[Finding]:
        if not findings or not any(word in content.data for word in _QUICK):
            return findings
        covered, _ = _judge(content, findings)
        if not covered:
            return findings
        note = NOT_APPLIED_NOTE.format(command=self.command)
        return [
            replace(f, note=f"{f.note} {note}" if f.note else note) if i in covered else f
            for i, f in enumerate(findings)
        ]


def _judge(content: Content, findings: list[Finding]) -> tuple[set[int], set[int]]:
    """(covered, ambiguous): the indexes of the findings an allow comment covers, and of
    those a bare comment would cover but for other keys on the line."""
    by_line: dict[int, list[int]] = {}
    for i, f in enumerate(findings):
        by_line.setdefault(f.line, []).append(i)
    wanted = set(by_line) | {n - 1 for n in by_line if n > 1}
    text = _lines(content.data, wanted)
    covered: set[int] = set()
    ambiguous: set[int] = set()
    for number, indexes in by_line.items():
        line_findings = [findings[i] for i in indexes]
        for allow in (
            _allow(text.get(number, ""), _SAME_LINE, next_line=False),
            _allow(text.get(number - 1, ""), _NEXT_LINE, next_line=True),
        ):
            if allow is None:
                continue
            hit, unclear = _cover(line_findings, allow, len(text.get(number, "")))
            covered |= {indexes[i] for i in hit}
            ambiguous |= {indexes[i] for i in unclear}
    return covered, ambiguous
