"""sk- tokens and their shapes: which vendor a body belongs to, keys written in pieces, and
the judgement of one token (rule and confidence) from its shape and its context."""

from __future__ import annotations

import dataclasses
from array import array
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING

from kimi_secret_scan import decoders, rules
from kimi_secret_scan.detect import limits, marks
from kimi_secret_scan.detect.blocks import in_kimi_block
from kimi_secret_scan.detect.context import (
    ENDPOINT,
    KEY_ASSIGNMENT,
    OTHER_VENDOR,
    api_host,
    named_for_other_vendor,
)
from kimi_secret_scan.detect.excerpt import decode_text
from kimi_secret_scan.detect.headers import HEADER_BEFORE
from kimi_secret_scan.detect.layer import Layer
from kimi_secret_scan.finding import Confidence, Finding, KeyKind
from kimi_secret_scan.lazy_regex import lazy, lazy_re
from kimi_secret_scan.randomness import is_placeholder_body, looks_random, secret_looking

if TYPE_CHECKING:
    import re


# SK_TOKEN's guards for `re`: `regex`'s one variable-width look-behind becomes look-behinds
# of one width each, and the terminal colour's (whose width varies) a look at the `m` alone,
# its sequence checked by _sgr_ends_at. A hook run that finds a key used to import `regex`
# (~5 ms) and compile its patterns (~3 ms more than `re`) for this and the few below; no
# pattern here can backtrack without bound, so none needs `regex`'s time-out. The guards
# and `sk-` are matched first, the body only where they hold: a rejected `m` guard read the
# body to its end from each `msk-` of a line of them (quadratic: review h13a, a MiB took
# minutes).
_SK_HEAD_RE = lazy_re(
    rb"(?:(?<![A-Za-z0-9_-])|(?<=\\[nrtbfv0])|(?<=%[0-9A-Fa-f]{2})|(?<=\\u[0-9A-Fa-f]{4})"
    # The exact Kimi Code shape needs no left boundary: glued to what precedes it
    # (`Jsk-kimi-…`, an escape code, a name) it is still a key, and no random text holds it.
    # Its right end is judged in find_sk_tokens (`sk-kimi-…-old`, `__sk-kimi-…__`).
    rb"|(?=sk-kimi-[A-Za-z0-9]{64}(?![A-Za-z0-9]))"
    # The exact Open Platform shape after `_` (`__sk-…__` Markdown bold, `MOONSHOT_sk-…`) or
    # after a `-` that follows no letter or digit (`--sk-…`); `task-sk-…` stays a slug.
    rb"|(?:(?<=_)|(?<=-)(?<![A-Za-z0-9]-))(?=sk-[A-Za-z0-9]{48}(?![A-Za-z0-9]))"
    # Last, so that its (empty) group is set only where no other guard holds.
    rb"|(?<=m)())sk-"
)
# The token: `sk-` and its body, matched where the guards hold.
_SK_BODY = lazy_re(rb"sk-[A-Za-z0-9_-]*")
# A terminal colour (SGR) before an `sk-`: `[` (or `%5B`), up to 24 parameters, `m`; then
# ESC before the `[`, raw or as code and markup spell it.
_SGR_TAIL = lazy_re(rb"(?:\[|%5[bB])[0-9;]{0,24}m\Z")
_ESC_TAIL = lazy_re(
    rb"(?:\x1b|\\(?:e|0?33|x1[bB]|u001[bB]|x\{1[bB]\})|%1[bB]|&#0*27;|&#[xX]0*1[bB];)\Z"
)


def _sgr_ends_at(data: bytes, at: int) -> bool:
    """Does a terminal colour (`ESC[32m`, raw or escaped as `\\e`, `\\033`, `\\x1b`, `\\u001b`,
    `%1B%5B`, `&#27;`) end at `at`? Its `m` is no letter of the key (a key printed in colour in
    a CI log, an asciinema cast, a notebook's output passed: hostile review 10)."""
    tail = _SGR_TAIL.search(data, max(0, at - 28), at)
    if tail is None:
        return False
    esc_end = tail.start()
    if _ESC_TAIL.search(data, max(0, esc_end - 8), esc_end) is not None:
        return True
    # An entity with more leading zeros than 8 bytes hold (`&#0000027;`): read back over them.
    head = data[max(0, esc_end - 3) : esc_end]
    if head == b"27;":
        pos, hexa = esc_end - 3, False
    elif head.lower() == b"1b;":
        pos, hexa = esc_end - 3, True
    else:
        return False
    while pos > 0 and data[pos - 1] == 0x30:  # each zero once: it precedes one token only
        pos -= 1
    if hexa:
        if data[pos - 1 : pos] not in (b"x", b"X"):
            return False
        pos -= 1
    return pos >= 2 and data[pos - 2 : pos] == b"&#"


class _SkTokens:
    """An sk- token. The left guard keeps `task-…`, `csk-…` and `desk-…` out, but lets a token
    follow an escape (`\\n`, `%20`, `\\u0020`, `\\b`, `\\0`) so JSON strings and URLs are still
    read, and a terminal colour (an SGR sequence, `ESC[32m`; _sgr_ends_at). `finditer` and
    `match` are a compiled pattern's (a look-behind sees the bytes before `pos`)."""

    def finditer(self, data: bytes, pos: int = 0) -> Iterator[re.Match[bytes]]:
        search = _SK_HEAD_RE.search
        body = _SK_BODY.match
        head = search(data, pos)
        while head is not None:
            at = head.start()
            if head.start(1) < 0 or _sgr_ends_at(data, at):
                token = body(data, at)
                assert token is not None  # the head is its start
                yield token
                head = search(data, token.end())
            else:
                # Only the `m` was before it, no colour: what a pattern that looked behind
                # for the whole sequence would do, go on from the next byte.
                head = search(data, at + 1)

    def match(self, data: bytes, pos: int) -> re.Match[bytes] | None:
        head = _SK_HEAD_RE.match(data, pos)
        if head is None or (head.start(1) >= 0 and not _sgr_ends_at(data, pos)):
            return None
        return _SK_BODY.match(data, pos)


SK_TOKEN = _SkTokens()

# Any `sk` followed by a hyphen, plain or escaped: one search tells whether a file needs the
# token pass, the escape decoders, or neither.
# (decoders.HYPHEN_PERCENT and the rest: every spelling a program reads as `-`.)
SK_ANY = lazy_re(
    rb"sk(?:-|"
    + decoders.HYPHEN_ANY_CASE
    + rb"|"
    + decoders.any_case(decoders.HYPHEN_ENTITY)
    + rb")"
)
SK_ENTITY = lazy_re(rb"sk(?:-kimi)?" + decoders.any_case(decoders.HYPHEN_ENTITY))

_OTHER_VENDOR_PREFIXES = (
    "ant-",
    "proj-",
    "svcacct-",
    "admin-",
    "None-",
    "or-",
    "api-",
    "sp-",
    "ws-",
    "lf-",
    "live-",
)


def other_vendor_body(body: str) -> str | None:
    """Name the vendor when a token body is positively another vendor's, else None."""
    if body.startswith(_OTHER_VENDOR_PREFIXES):
        return "another vendor's prefixed key"
    if len(body) == 32 and all(c in "0123456789abcdef" for c in body):
        return "DeepSeek / DashScope (32 hex digits)"
    if len(body) == 48:
        if "T3BlbkFJ" in body:
            return "OpenAI (T3BlbkFJ marker)"
        if body.isalpha() and body.islower():
            return "SiliconFlow (all lower-case)"
        tail = body[16:]
        if all(
            (c in "0123456789ABCDEF") if i % 2 == 0 else (c in "0123456789abcdef")
            for i, c in enumerate(tail)
        ):
            return "One-API relay"
    return None


# Pieces of one key written as several strings or across a line break. Each alternative
# ends where the next piece starts:
#   "sk-" + "…", 'sk-' . '…', "sk-" "…" (also JSON-escaped quotes), over line breaks, blank
#   lines and comments (`# …`, `// …`, `/* … */`), each string with its prefix or quotes
#   (f"…", rb'…', @"…", $"…", triple quotes), or separated by commas (Rust
#   `concat!("…", "…")`, `["…", "…"].join("")`): at most 12 such items, each bounded;
#   shell line continuation: sk-\⏎…
#   a line break inside a quoted string (curl -H "Authorization: Bearer sk-⏎…")
#   notebook source lines: …sk-\n",⏎ "…
_GAP_ITEM = (
    rb"[ \t]++|\+|\.\.?|&|\|\||,|\\?\r?\n"
    rb"|(?:#|//)[^\r\n]{0,160}+|/\*(?:[^*]|\*(?!/)){0,160}+\*/"
)
_QUOTE = rb"(?:\"\"\"|'''|\\?[\"'\x60])"
_GLUE_TEXT = (
    _QUOTE
    + rb"(?:"
    + _GAP_ITEM
    + rb"){0,12}+(?:[rRbBuUfF]{1,2}|[@$]{1,2})?"
    + _QUOTE
    + rb"|\\\r?\n[ \t]*"
    rb"|\r?\n[ \t]*"
    rb"|\\n\\?\"[ \t]*,[ \t]*\r?\n[ \t]*\""
)
_GLUE = lazy_re(_GLUE_TEXT)  # its repeats possessive: no time-out needed
_GLUE_STARTS = frozenset((b"\\", b'"', b"'", b"\x60", b"\r", b"\n"))
_PIECE = lazy_re(rb"[A-Za-z0-9_-]++")
_MAX_PIECES = 4
_JOINED_BODIES = (48, 69)  # sk- + 48, sk-kimi- + 64


def joined_token(
    scan: Layer, end: int, token: str, escaped: list[int] | None = None
) -> tuple[str, int] | None:
    """The key continued after `end` in further strings or lines, when that makes a key.

    Only joins that produce exactly a Kimi Code or Open Platform shape are returned: a
    prefix followed by unrelated text must not become a finding. `escaped` gets where a
    later piece is cut short by an escape (`"sk-kimi-…" + "…\u0041…"`): its line is decoded
    and joined again (as for an escape in the first piece: find_sk_tokens' `cut_short`).
    """
    data = scan.data
    pieces = [token]
    length = len(token) - 3
    pos = end
    for _ in range(_MAX_PIECES - 1):
        if escaped is not None and pos != end and decoders.BODY_ESCAPE.match(data, pos):
            escaped.append(pos)
            return None
        if data[pos : pos + 1] not in _GLUE_STARTS:
            return None
        glue = _GLUE.match(data, pos)
        if glue is None:
            return None
        piece = _PIECE.match(data, glue.end())
        if piece is None or data.startswith(b"sk-", piece.start()):
            return None  # nothing follows, or the next key begins
        pieces.append(decode_text(piece.group()))
        length += piece.end() - piece.start()
        pos = piece.end()
        if length in _JOINED_BODIES:
            return "".join(pieces), pos
        if length > max(_JOINED_BODIES):
            return None
    return None


def sk_token(
    scan: Layer, start: int, end: int, token: str | None = None, joined: bool = False
) -> Finding | None:
    """The finding for the sk- token at [start, end) of the layer, or None."""
    if token is None:
        token = decode_text(scan.data[start:end])
    body = token[3:]
    if body.startswith("kimi-") and len(body) == 69 and body[5:].isalnum():
        if is_placeholder_body(body[5:]):
            return None
        return scan.finding(rules.KIMI_CODE_KEY, Confidence.HIGH, start, end, secret=token)
    vendor = other_vendor_body(body)
    if vendor:
        # Positively another provider's shape: a key of that provider, unless it sits in a
        # setting named for Kimi (a relay's key, or one pasted into the wrong place).
        if joined or scan.masked(end) or not kimi_setting(scan, start):
            return None
        if not secret_looking(body, vendor_shape=True):
            return None
        return scan.finding(
            rules.KIMI_ASSIGNED_KEY, Confidence.MEDIUM, start, end, note=setting_note(token)
        )
    if len(body) == 48 and body.isalnum():
        if is_placeholder_body(body):
            return None
        if scan.near(scan.patterns.context, start, end):
            return scan.finding(rules.MOONSHOT_KEY, Confidence.HIGH, start, end, secret=token)
        if scan.near(OTHER_VENDOR, start, end):
            return scan.finding(
                rules.MOONSHOT_KEY,
                Confidence.LOW,
                start,
                end,
                note="Moonshot-shaped, but the context points to another provider or an "
                "OpenAI-compatible relay; check which service issued it.",
                secret=token,
            )
        return scan.finding(
            rules.MOONSHOT_KEY,
            Confidence.MEDIUM,
            start,
            end,
            note="No Kimi / Moonshot context nearby: the shape is Moonshot's, but "
            "OpenAI-compatible relays (New-API) issue keys of the same shape.",
            secret=token,
        )
    if joined or (scan.masked(end) and not _holds_key(scan.data, start)):
        return None
    if body.startswith("ki"):
        tail = body[5:] if body.startswith("kimi-") else body[2:]
        if 40 <= len(tail) <= 100 and tail.isalnum() and looks_random(tail):
            return scan.finding(
                rules.KIMI_UNUSUAL_KEY,
                Confidence.MEDIUM,
                start,
                end,
                key_kind=KeyKind.KIMI_CODE,
                note="Starts like a Kimi Code key (sk-ki…) but is not 64 characters: "
                "treat it as a key unless you know it is cut or made up.",
            )
        # Not that shape: judged as any other token below. A random body starts with `ki`
        # once in 3,844 tokens; returning here dropped such a key even in KIMI_API_KEY=.
    prefix = scan.line_prefix(start)
    if scan.patterns.assignment.search(prefix) or in_kimi_block(scan.data, start):
        if not secret_looking(body):
            return None
        return scan.finding(
            rules.KIMI_ASSIGNED_KEY, Confidence.MEDIUM, start, end, note=setting_note(token)
        )
    if not looks_random(body.replace("-", "").replace("_", "")):
        return None
    endpoint = scan.near(ENDPOINT, start, end)
    if endpoint and HEADER_BEFORE.search(prefix) is not None:
        return scan.finding(rules.AUTH_HEADER_KEY, Confidence.MEDIUM, start, end)
    if endpoint and KEY_ASSIGNMENT.search(prefix):
        # A generic key setting (api_key, AUTH_TOKEN) is tied to Kimi by an endpoint the code
        # names, not by one in a comment; a setting named for another provider only by an
        # API host the code calls (OPENAI_BASE_URL=https://api.moonshot.cn/v1).
        if named_for_other_vendor(prefix):
            tied = scan.near(api_host(), start, end, code_only=True)
        else:
            tied = scan.near(ENDPOINT, start, end, code_only=True)
        if tied:
            return scan.finding(rules.KIMI_ASSIGNED_KEY, Confidence.MEDIUM, start, end)
    return None


def kimi_setting(scan: Layer, start: int) -> bool:
    """Is the text at `start` the value of a setting named for Kimi (KIMI_API_KEY=, or over
    lines and in commands: detect/blocks.py)?"""
    return scan.patterns.assignment.search(scan.line_prefix(start)) is not None or in_kimi_block(
        scan.data, start
    )


# What may follow an exact Open Platform shape glued to `_`/`-` for it to be read as that
# key with Moonshot context nearby: short words (`_bak`, `-old`, `_v2`), not the random rest
# of a longer key of another vendor's (those run on in mixed case for dozens of characters).
_WORD_TAIL = lazy(rb"(?:[_-]+(?:[a-z0-9]{1,12}|[A-Z0-9]{1,12}|[A-Z][a-z0-9]{1,11}))+[_-]*")
_MAX_WORD_TAIL = 24
_KIMI_CODE_LENGTH = 72  # sk-kimi- + 64
_OPEN_PLATFORM_LENGTH = 51  # sk- + 48


def _glued_key(scan: Layer, start: int, end: int) -> tuple[Finding, int] | None:
    """The finding and its end for an exact key shape at `start` that the token [start, end)
    runs past with `_` or `-` (`sk-kimi-…-old`, `__sk-…__`), or None.

    The token regex takes `_` and `-` as key characters, so a glued key's body is no longer
    48 or 64 long. A Kimi Code shape is a key whatever follows its `_`/`-`. An Open Platform
    shape is one when only `_`/`-` follow (Markdown `__…__`), or short words with Moonshot
    context nearby: `sk-` + 48 letters and digits followed by `-` and more is otherwise also
    the start of other vendors' longer keys.
    """
    data = scan.data
    for length in (_KIMI_CODE_LENGTH, _OPEN_PLATFORM_LENGTH):
        cut = start + length
        if end <= cut or data[cut : cut + 1] not in (b"_", b"-") or not _exact(data, start, cut):
            continue
        if length == _KIMI_CODE_LENGTH:
            finding = sk_token(scan, start, cut)
            return None if finding is None else (finding, cut)
        finding = sk_token(scan, start, cut)
        if finding is None:
            return None
        if data[cut:end].strip(b"_-") == b"":
            return finding, cut
        if (
            finding.confidence is Confidence.HIGH
            and end - cut <= _MAX_WORD_TAIL
            and _WORD_TAIL.fullmatch(data, cut, end, timeout=limits.REGEX_TIMEOUT)
        ):
            return finding, cut
        # Not taken: its span is keyed by the object's id, which Python may reuse.
        scan.root.spans.pop(id(finding), None)
        return None
    return None


def _holds_key(data: bytes, start: int) -> bool:
    """Does the token at `start` begin with a whole key's exact shape? Then what follows it
    (`<key>A<`, `<key>x[0]`, a PNG chunk's CRC) does not make it a masked key."""
    return _exact(data, start, start + _KIMI_CODE_LENGTH) or _exact(
        data, start, start + _OPEN_PLATFORM_LENGTH
    )


def _exact(data: bytes, start: int, end: int) -> bool:
    """Is [start, end) exactly a Kimi Code or an Open Platform key's shape?"""
    if end - start == _OPEN_PLATFORM_LENGTH:
        return data[start + 3 : end].isalnum()
    return (
        end - start == _KIMI_CODE_LENGTH
        and data.startswith(b"sk-kimi-", start)
        and data[start + 8 : end].isalnum()
    )


# What may start an escape (decoders.BODY_ESCAPE) that cuts a plain `sk-` token short.
_ESCAPE_STARTS = frozenset(b"\\%&\x60")


def find_sk_tokens(
    scan: Layer, found: list[tuple[int, Finding]], cut_short: list[int] | None = None
) -> None:
    """Every sk- token of the layer, judged; keys written in pieces are joined first.

    `cut_short` gets the end of each token shorter than a Kimi Code key that an escape's
    first character ends (`sk-kimi-abc\\x44…`): its key may go on, escaped, after it."""
    data = scan.data
    # Other readings of binary data (length-prefixed strings, keys packed between other
    # literals) are judged beside the token as written, never in its place: a `-` (45)
    # before `prod-sk-kimi-…` reads as a length and cut the key short (hostile review 10).
    readings: dict[int, tuple[int, bool]] = {}
    matches: Iterator[re.Match[bytes]]
    if scan.depth == 0:
        # Every pattern below starts at an `sk-` as written: found once (by Hyperscan where
        # the marks are on), each pattern is then tried only there. Three passes over the
        # content cost ~0.2 s of a history audit of MoonshotAI/kimi-cli (`task-` in every
        # Markdown file). A decoded layer (a window of a few KiB) keeps its one search.
        starts = _sk_starts(data)
        binary = _Binary(data)
        # Length prefixes are the stored bytes' (compiled code, serialised data), not a
        # decoded layer's: a window of decoded escapes (`sk&#0045;` a megabyte long) read
        # one per `sk-` took 4 s a megabyte instead of 0.9 s.
        for start, end in _length_prefixed(data, starts, binary).items():
            readings[start] = (end, False)
        _packed(data, readings, starts, binary)
        matches = _matches_at(SK_TOKEN, data, starts)
    else:
        matches = SK_TOKEN.finditer(data)
    for match in matches:
        if (
            cut_short is not None
            and match.end() < len(data)
            and data[match.end()] in _ESCAPE_STARTS
            and match.end() - match.start() < _KIMI_CODE_LENGTH
        ):
            cut_short.append(match.end())
        # A token holding further keys glued to it (`sk-…_sk-kimi-…`, `__sk-…__sk-…__`) is
        # judged piece by piece: each `sk-` after `_`/`-`, and each exact Kimi Code shape,
        # starts a piece. Searching again after each glued key re-read the rest of the run
        # every time (quadratic in a line of glued keys) and missed a key after a piece
        # that was not one.
        start, end = match.span()
        written: list[tuple[int, Finding]] = []
        for piece_start, piece_end in _pieces(data, start, end):
            _judge_token(scan, written, piece_start, piece_end, cut_short)
        other = readings.pop(start, None)
        if other is not None and other[0] != end:
            written = _stronger(scan, written, _reading(scan, start, *other))
        found.extend(written)
    for start, (end, high_only) in readings.items():
        found.extend(_reading(scan, start, end, high_only))


def _sk_starts(data: bytes) -> Sequence[int]:
    """Where each `sk-` of `data` starts, in order (an array: a megabyte of `sk-sk-…` is
    8 bytes a start, not a Python int each)."""
    found = marks.sk_starts(data)
    if found is not None:
        return found
    starts = array("q")
    at = data.find(b"sk-")
    while at >= 0:
        starts.append(at)
        at = data.find(b"sk-", at + 3)
    return starts


def _matches_at(
    pattern: _SkTokens | re.Pattern[bytes], data: bytes, starts: Sequence[int]
) -> Iterator[re.Match[bytes]]:
    """What `pattern.finditer(data)` yields, for a pattern whose every match starts with
    `sk-`: tried at each `sk-` past the previous match's end (a look-behind still sees the
    bytes before it: `match` does not cut the data). Where `sk-` is dense (more than one a
    4 KiB: a megabyte of `xsk-`), one search of the whole content costs less than a call
    per start (~3 µs each)."""
    if len(starts) > len(data) >> 12:
        yield from pattern.finditer(data)
        return
    last = 0
    for at in starts:
        if at >= last:
            match = pattern.match(data, at)
            if match is not None:
                last = match.end()
                yield match


class _Binary:
    """Whether the data is binary (_is_binary), asked at most once."""

    __slots__ = ("answer", "data")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.answer: bool | None = None

    def __bool__(self) -> bool:
        if self.answer is None:
            self.answer = _is_binary(self.data)
        return self.answer


def _reading(scan: Layer, start: int, end: int, high_only: bool) -> list[tuple[int, Finding]]:
    """The finding of another reading of binary data's bytes [start, end), if any."""
    finding = sk_token(scan, start, end)
    if finding is None:
        return []
    if high_only and finding.confidence is not Confidence.HIGH:
        scan.root.spans.pop(id(finding), None)
        return []
    return [(scan.to_root(start), finding)]


def _stronger(
    scan: Layer, written: list[tuple[int, Finding]], other: list[tuple[int, Finding]]
) -> list[tuple[int, Finding]]:
    """The written token's findings, or the other reading's when it is more confident: both
    name the same key (the other reading is the written token cut shorter)."""
    if not other:
        return written
    at = other[0][0]
    rivals = [f for pos, f in written if pos == at]
    if rivals and max(f.confidence for f in rivals) >= other[0][1].confidence:
        drop = [f for _, f in other]
    else:
        drop = rivals
        written = [(pos, f) for pos, f in written if pos != at] + other
    for finding in drop:
        # Its span is keyed by the object's id, which Python may reuse.
        scan.root.spans.pop(id(finding), None)
    return written


# An exact key shape, glued (below) to letters or digits as compilers pack string literals
# together in a binary's read-only data (rustc: `…Bearer<key>Authorization…`, Go:
# `error<key>unexpected EOF`): SK_TOKEN's guards read no key there. A literal first: the
# glue asked in the same regex (lookbehinds first) took 40 ms a megabyte of any text.
_EXACT_SHAPE = lazy_re(rb"sk-(?:kimi-[A-Za-z0-9]{64}|[A-Za-z0-9]{48})")


def _packed(
    data: bytes, readings: dict[int, tuple[int, bool]], starts: Sequence[int], binary: _Binary
) -> None:
    """Add each exact key shape packed between other bytes of binary data: a Kimi Code
    shape glued to a letter or digit on either side is a key (no random or compiled text
    holds `sk-kimi-` + 64); `sk-` + 48 glued to one on the left (and no `_`/`-` on the
    right) or on the right only with Moonshot context nearby (`task…`-like identifiers of
    48 characters exist, and a longer run cut at 48 is a guess), so it is kept only when
    judged at high confidence. Only in binary data: in text a glued key is judged as
    before."""
    for match in _matches_at(_EXACT_SHAPE, data, starts):
        at, end = match.span()
        left, right = data[at - 1 : at] if at else b"", data[end : end + 1]
        if end - at == _KIMI_CODE_LENGTH:
            if not (left.isalnum() or right.isalnum()):
                continue
        elif not (
            (left.isalnum() and right not in (b"_", b"-"))
            or (left not in (b"_", b"-") and not left.isalnum() and right.isalnum())
        ):
            continue
        # Asked only once a glued shape is found (the test reads the whole data).
        if not binary:
            return
        if at not in readings:
            readings[at] = (end, end - at == _OPEN_PLATFORM_LENGTH)


_TOKEN_BYTES = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


def _length_prefixed(data: bytes, starts: Sequence[int], binary: _Binary) -> dict[int, int]:
    """Start -> end of each sk- string of binary data that its own length precedes as a
    letter, digit, `_` or `-`.

    Compiled code and serialised data write a string's length right before it: a Java
    class's constant pool (u2 big-endian: `\x00` `3` for 51 bytes), Python's marshal in a
    .pyc (a type byte, then one length byte: `z3sk-…`, `ZHsk-kimi-…`), protobuf, pickle,
    msgpack. For `sk-` + 48 that byte is `3`: the left boundary that keeps `task-…` slugs
    out dropped the key. And the next value's type or tag byte may be a letter or digit
    glued to the key's right end (marshal's `r`, `i`, `N`; protobuf field 6's `2`). Such a
    string is read as exactly the bytes its length says: the byte before `sk-` must be the
    length of a run of letters, digits, `_` and `-`. A length byte that is not a letter,
    digit, `_` or `-` already passes the left boundary (the token may then run on; it is
    judged as before: cutting it shorter by a byte that merely equals some length made
    findings of the middle of stored text). Only in binary data (CONTROL_BYTES): in text `3sk-…`
    stays unreported as before; every .pyc, class file and protobuf message holds control
    bytes. Only a one-byte length (the low byte of a u2) is read: 255 bytes is more than
    any key.
    """
    out: dict[int, int] = {}
    for at in starts:
        if not at:
            continue
        size = data[at - 1]
        end = at + size
        # Whether the data is binary first (one search, once): in text, a match per `sk-`
        # made a megabyte of `xsk-…` spellings take minutes (test_hyphen_spellings).
        if size in _TOKEN_BYTES and end <= len(data) and binary:
            run = _PIECE.match(data, at + 3, end)
            if run is not None and run.end() == end:
                out[at] = end
        if at not in out and size in _HELD_LENGTHS:
            held = _held_length(data, at)
            if held is not None:
                out[at] = held
    return out


# A key's exact length as the byte before it writes it: msgpack (`\xd9` `3`), CBOR (`x`
# `3`), protobuf (`\n` `3`) write it as it is, Avro zigzag-doubled (`f` for 51).
_HELD_LENGTHS = {
    _OPEN_PLATFORM_LENGTH: _OPEN_PLATFORM_LENGTH,
    _KIMI_CODE_LENGTH: _KIMI_CODE_LENGTH,
    2 * _OPEN_PLATFORM_LENGTH: _OPEN_PLATFORM_LENGTH,
}


def _held_length(data: bytes, at: int) -> int | None:
    """The end of the key at `at` in data with no control byte (msgpack, CBOR, a one-field
    protobuf, Avro: their headers are printable or high bytes) when the byte before it is
    that key's exact length and the key's shape is exact: `sk-` + 48 after `3`, `sk-kimi-`
    + 64 after `H`, `sk-` + 48 after Avro's `f`. The byte before the length must be no
    text (a msgpack or CBOR header, 0x80 and up, or protobuf's field-1 tag, a line break),
    or CBOR's `x` (a text string with a one-byte length): `version 3sk-…` in text stays
    unreported. Avro's previous value may end in anything, so after `f` the key must end
    the data or a byte that is no text follow it."""
    size = data[at - 1]
    length = _HELD_LENGTHS.get(size)
    if length is None or at < 2:
        return None
    end = at + length
    if end > len(data) or not _exact(data, at, end):
        return None
    if size == 2 * _OPEN_PLATFORM_LENGTH:
        return end if end == len(data) or data[end] not in _TEXT_BYTES else None
    before = data[at - 2]
    return end if before not in _TEXT_BYTES or before in b"\nx" else None


# Printable ASCII, tab and carriage return.
_TEXT_BYTES = frozenset(range(0x20, 0x7F)) | {0x09, 0x0D}


# Binary data: a NUL or a control byte that text does not hold (tab, line breaks, form feed
# and the escape of terminal colours are text). A protobuf message need have no NUL byte.
CONTROL_BYTES = bytes([*range(0x00, 0x09), *range(0x0E, 0x1B), *range(0x1C, 0x20)])


def _is_binary(data: bytes) -> bool:
    # Deleting the bytes and comparing lengths: 30 µs for 74 KB of Markdown, where a
    # regex character-class search took 430 µs. Text that merely holds `task-` or `risk-`
    # asks (a `k` before `sk-` reads as a length): a third of a second of a history audit
    # of MoonshotAI/kimi-cli's Markdown. Hyperscan, where the marks are on: 4 times less.
    found = marks.holds_control(data)
    if found is not None:
        return found
    return len(data.translate(None, CONTROL_BYTES)) != len(data)


def _pieces(data: bytes, start: int, end: int) -> Iterator[tuple[int, int]]:
    """The token [start, end) cut before each further key it holds glued (see above).

    Yielded one by one: a list of a megabyte-long run's pieces (`sk-sk-sk-…`) held two
    tuples of two ints per `sk-`, 80 bytes per byte of content (6 MB: 430 MB of memory)."""
    at = data.find(b"sk-", start + 1, end)
    while at >= 0:
        if data[at - 1 : at] in (b"_", b"-"):
            yield start, at - 1  # the piece before ends before its `_`/`-`
            start = at
        elif (
            at + _KIMI_CODE_LENGTH <= end
            and _exact(data, at, at + _KIMI_CODE_LENGTH)
            and not data[at + _KIMI_CODE_LENGTH : at + _KIMI_CODE_LENGTH + 1].isalnum()
        ):
            yield start, at  # an exact Kimi Code key needs no left boundary
            start = at
        at = data.find(b"sk-", at + 3, end)
    yield start, end


def _judge_token(
    scan: Layer,
    found: list[tuple[int, Finding]],
    start: int,
    end: int,
    cut_short: list[int] | None = None,
) -> None:
    """The finding, if any, for the sk- token at [start, end) of the layer."""
    data = scan.data
    glued = _glued_key(scan, start, end)
    if glued is not None:
        found.append((scan.to_root(start), glued[0]))
        return
    if start > 0 and data[start - 1 : start] in (b"_", b"-") and not _exact(data, start, end):
        return  # admitted for an exact shape glued on the left, and it is not one
    if end - start > limits.MAX_TOKEN:
        return
    finding = sk_token(scan, start, end)
    # A piece of a key written in pieces can be a finding of its own at medium confidence
    # (`KIMI_API_KEY="sk-kimi-…\⏎…"`: the first piece is a secret-looking value of that
    # setting); the whole key, when the pieces make one, is the better finding.
    weak = finding is None or finding.confidence is not Confidence.HIGH
    if weak and end - start < 3 + max(_JOINED_BODIES):
        joined = joined_token(scan, end, decode_text(data[start:end]), cut_short)
        if joined is not None:
            token, joined_end = joined
            piece = finding
            finding = sk_token(scan, start, joined_end, token, joined=True)
            if finding is None:
                finding = piece
            else:
                if piece is not None:
                    # Its span is keyed by the object's id, which Python may reuse.
                    scan.root.spans.pop(id(piece), None)
                finding = _noted_joined(scan, finding)
    if finding is not None:
        found.append((scan.to_root(start), finding))


def _noted_joined(scan: Layer, finding: Finding) -> Finding:
    note = "Written in pieces (across strings or lines); reported joined."
    note = f"{note} {finding.note}" if finding.note else note
    joined_finding = dataclasses.replace(finding, note=note)
    spans = scan.root.spans
    spans[id(joined_finding)] = spans.pop(id(finding))
    return joined_finding


# A string ending in `sk` or `s` (no `sk-` token: `"sk" + "-kimi-…"`, `"s" + "k-…"`).
# A string ending in `sk` or `s` (no `sk-` token: `"sk" + "-kimi-…"`, `"s" + "k-…"`). The
# glue and the next piece's start are part of the search (a match per string ending in `s`,
# joined in Python, took 20 s for 6 MB of code); `re`, from the literal `s`, takes 11 ms a
# megabyte where `regex` with the left guard first took 35 (the guard is asked in Python).
_SPLIT_HEAD = lazy_re(rb"s(?:k(?=(?:" + _GLUE_TEXT + rb")-)|(?=(?:" + _GLUE_TEXT + rb")k-))")


def find_split_heads(scan: Layer, found: list[tuple[int, Finding]]) -> None:
    """Keys split right after `s` or `sk`, joined when the pieces make exactly a Kimi Code
    or an Open Platform shape. Content with no `sk-` never reaches the token pass, so
    this runs apart, and only on content naming a Kimi setting or endpoint (a search of
    every string ending in `s` in every file is not worth its time elsewhere)."""
    data = scan.data
    heads = marks.split_heads(data)
    matches: Iterable[re.Match[bytes] | None] = (
        _SPLIT_HEAD.finditer(data)
        if heads is None
        # Tried only where Hyperscan saw an `s` after no word byte, then a glue's start:
        # `_SPLIT_HEAD` matches `s` or `sk` (no other `s` inside), so its matches there are
        # its search's.
        else (_SPLIT_HEAD.match(data, at) for at in heads)
    )
    for match in matches:
        if match is None:
            continue
        start, end = match.span()
        if start and data[start - 1] in _TOKEN_BYTES:
            continue  # `task" + "-…`: a word's end, not a key's head
        joined = joined_token(scan, end, match.group().decode())
        if joined is None or not joined[0].startswith("sk-"):
            continue
        token, joined_end = joined
        finding = sk_token(scan, start, joined_end, token, joined=True)
        if finding is not None:
            found.append((scan.to_root(start), _noted_joined(scan, finding)))


_HEX = frozenset("0123456789abcdef")
_HEX_UPPER = frozenset("0123456789ABCDEF")
_ALNUM = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
_URL_SAFE = _ALNUM | {"-", "_"}
_BASE64 = _ALNUM | {"+", "/", "="}


def describe_shape(value: str) -> str:
    """The shape of a value in words, naming the providers whose keys look like it."""
    prefix = ""
    body = value
    if value.startswith("sk-"):
        prefix, body = "sk- + ", value[3:]
        vendor = other_vendor_body(body)
        if vendor == "DeepSeek / DashScope (32 hex digits)":
            return "sk- + 32 hex digits, like DeepSeek / DashScope keys"
        if vendor is not None:
            return f"sk- + {len(body)} characters, like {vendor} keys"
    n = len(body)
    chars = set(body)
    if chars <= _HEX or chars <= _HEX_UPPER:
        kind = "hex digits"
    elif chars <= _ALNUM:
        kind = "letters and digits"
    elif chars <= _URL_SAFE:
        kind = "URL-safe characters"
    elif chars <= _BASE64:
        kind = "base64 characters"
    else:
        kind = "characters"
    like = ""
    if prefix and kind == "URL-safe characters" and n == 22:
        like = ", like a LiteLLM proxy's virtual keys"
    elif prefix and kind == "hex digits" and n == 32:
        like = ", like DeepSeek / DashScope keys"
    elif not prefix and value.startswith("AIza") and n == 39:
        like = ", like a Google (Gemini) API key"
    elif not prefix and value.startswith("eyJ") and value.count(".") == 2:
        return "a JSON Web Token"
    elif not prefix and "." in value:
        head = value.partition(".")[0]
        if len(head) == 32 and set(head) <= _HEX:
            return "32 hex digits, a dot and a secret, like Zhipu (GLM) keys"
    return f"{prefix}{n} {kind}{like}"


def setting_note(value: str) -> str:
    return (
        f"Assigned to a setting named for Kimi / Moonshot; shape: {describe_shape(value)}. "
        "Whatever a Kimi setting holds is a credential for Kimi (often through a relay) "
        "and has leaked."
    )
