"""Turn content (bytes) into findings.

The scan is built for whole files and whole blobs: cheap `bytes.find` prefilters decide
whether any regex runs at all, every pattern is linear (possessive or bounded quantifiers,
no nested repetition), and line and column are computed only for the few offsets that
matched. Which lines count (the lines a commit adds) is the source's business, not ours.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from dataclasses import dataclass

import regex

from kimi_secret_scan import decoders, rules
from kimi_secret_scan.content import Content
from kimi_secret_scan.errors import ScanError
from kimi_secret_scan.finding import Confidence, Finding, KeyKind, Rule
from kimi_secret_scan.randomness import is_placeholder_body, looks_random
from kimi_secret_scan.settings import DEFAULT_SETTINGS, DetectorSettings

# An sk- token. The left guard keeps `task-…`, `csk-…` and `desk-…` out, but lets a token
# follow an escape (`\n`, `%20`, `\u0020`) so JSON strings and URLs are still read.
_SK_TOKEN = regex.compile(
    rb"(?:(?<![A-Za-z0-9_-])|(?<=\\[nrt]|%[0-9A-Fa-f]{2}|\\u[0-9A-Fa-f]{4}))sk-[A-Za-z0-9_-]*+"
)
_MAX_TOKEN = 300

# Literal tokens in Authorization / x-api-key headers, in the forms curl, raw HTTP, and the
# header maps of Python, JS, Go, Ruby and Java write them (quotes may be JSON-escaped).
_HEADER = regex.compile(
    rb"(?i)(?:authorization\\?[\"'\x60]?[ \t]*(?::|=>?|,)[ \t]*\\?[\"'\x60]?[ \t]*bearer[ \t]+"
    rb"|x-api-key\\?[\"'\x60]?[ \t]*(?::|=>?|,)[ \t]*\\?[\"'\x60]?[ \t]*)"
    rb"([A-Za-z0-9._~+/=-]{20,512})"
)
_HEADER_BEFORE = regex.compile(
    rb"(?i)(?:bearer[ \t]+|x-api-key\\?[\"'\x60]?[ \t]*(?::|=>?|,)[ \t]*\\?[\"'\x60]?[ \t]*)$"
)

# Words that tie a place to Kimi / Moonshot, and hints at which console issued the key.
_CONTEXT = regex.compile(rb"(?i)moonshot|kimi")
_ASSIGN_TAIL = (
    rb"[\w.\-\[\]]{0,40}\\?[\"'\x60]?[ \t]*(?::=|=>|=|:|,|\()[ \t]*"
    rb"\\?[\"'\x60]?[ \t]*(?:bearer[ \t]+)?$"
)
_KIMI_CODE_HINT = regex.compile(rb"(?i)api\.kimi\.com|kimi\.com/code|kimi[_-]?code|kimi-for-coding")
_CN_HINT = regex.compile(rb"(?i)moonshot\.cn|platform\.kimi\.com")
_INTL_HINT = regex.compile(rb"(?i)moonshot\.ai|platform\.kimi\.ai")
_ENDPOINT = regex.compile(rb"(?i)api\.moonshot\.(?:cn|ai)|api\.kimi\.com|moonshot\.(?:cn|ai)/")
_OTHER_VENDOR = regex.compile(
    rb"(?i)api\.openai\.com|openrouter|deepseek|dashscope|siliconflow|one-?api|new-?api"
    rb"|api\.anthropic\.com|api\.together|groq"
)
_CONTEXT_WINDOW = 2048

# `KIMI_API_KEY=`, `"moonshot_key": "`, `kimi.api_key = '`: a Kimi-named setting being assigned.
_KIMI_ASSIGNMENT = regex.compile(rb"(?i)(?:kimi|moonshot)" + _ASSIGN_TAIL)
# A key-like setting being assigned (api_key, apiKey, AUTH_TOKEN, x-api-key, …).
_KEY_ASSIGNMENT = regex.compile(
    rb"(?i)(?:key|token|secret|auth\w*|password)\\?[\"'\x60]?[ \t]*(?::=|=>|=|:|,|\()[ \t]*"
    rb"\\?[\"'\x60]?[ \t]*(?:bearer[ \t]+)?$"
)
# Masked keys (`sk-kimi-abcd…`, `sk-…***`) are what people paste into docs on purpose.
_MASK_AFTER = (b"*", b"\xe2\x80\xa6", b"...", b"<", b"{", b"$", b"[")

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


def _is_other_vendor_body(body: str) -> str | None:
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


class _Locator:
    """Line and column of offsets, computed incrementally for increasing offsets."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self._pos = 0
        self._line = 1

    def line_of(self, offset: int) -> int:
        if offset < self._pos:
            self._pos, self._line = 0, 1
        self._line += self.data.count(b"\n", self._pos, offset)
        self._pos = offset
        return self._line

    def line_bounds(self, offset: int) -> tuple[int, int]:
        start = self.data.rfind(b"\n", 0, offset) + 1
        end = self.data.find(b"\n", offset)
        if end < 0:
            end = len(self.data)
        if end > start and self.data[end - 1 : end] == b"\r":
            end -= 1
        return start, end


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


@dataclass(frozen=True)
class _Span:
    start: int
    end: int
    secret: str
    line_start: int
    line_end: int


def _excerpt_spans(data: bytes, focus: _Span, spans: list[_Span]) -> str:
    """The focus key's line, cut to a window around it, with every key on it in place of
    its spelling there (encoded or split keys shown decoded, so redaction hides them)."""
    line_start, line_end = focus.line_start, focus.line_end
    lo = max(line_start, focus.start - 80)
    hi = min(line_end, max(focus.end, focus.start) + 80)
    on_line = sorted(
        (sp for sp in spans if sp.start < line_end and sp.end > line_start), key=lambda sp: sp.start
    )
    for sp in on_line:  # never cut a key in half at the window's edge
        if sp.start < lo < sp.end:
            lo = max(line_start, sp.start)
        if sp.start < hi < sp.end:
            hi = min(line_end, sp.end)
    out: list[str] = ["…"] if lo > line_start else []
    pos = lo
    for sp in on_line:
        if sp.start < pos or sp.start >= hi:
            continue
        out += [_decode(data[pos : sp.start]), sp.secret]
        if sp.end > line_end:  # split over lines: the rest of this line is part of the key
            pos = hi = line_end
            out.append("…")
            break
        pos = sp.end
    out.append(_decode(data[pos:hi]))
    if hi < line_end:
        out.append("…")
    return "".join(out).replace("\t", " ")


class _Patterns:
    """The context and assignment patterns, extended by the project's settings."""

    def __init__(self, settings: DetectorSettings) -> None:
        self.folded_words = tuple(w.lower().encode() for w in settings.context_words)
        self.context = _CONTEXT
        self.assignment = _KIMI_ASSIGNMENT
        if settings.context_words:
            words = b"|".join(regex.escape(w.encode()) for w in settings.context_words)
            self.context = regex.compile(rb"(?i)moonshot|kimi|" + words)
        if settings.variable_names or settings.context_words:
            names = b"|".join(
                regex.escape(n.encode())
                for n in (*settings.variable_names, *settings.context_words)
            )
            self.assignment = regex.compile(
                rb"(?i)(?:kimi|moonshot|" + names + rb")" + _ASSIGN_TAIL
            )


_DEFAULT_PATTERNS = _Patterns(DEFAULT_SETTINGS)


@functools.lru_cache(maxsize=8)
def _patterns_for(settings: DetectorSettings) -> _Patterns:
    # Compiled once per settings, not once per blob of a history scan.
    return _DEFAULT_PATTERNS if settings == DEFAULT_SETTINGS else _Patterns(settings)


class DetectionTimeout(ScanError):
    """A pattern took longer than its time limit on this content.

    scan() reports the content as skipped; a caller that does not catch it stops with
    exit code 2 and a one-line message, never with a silent pass.
    """

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}" if path else reason)
        self.path = path
        self.reason = reason


# A guard, not a budget: every pattern is linear, so only a regex-engine surprise reaches it.
REGEX_TIMEOUT = 20.0
# How many encodings deep a key is looked for (base64 in base64 in a JSON string: 3).
MAX_DEPTH = 3

# Pieces of one key written as several strings or across a line break. Each alternative
# ends where the next piece starts:
#   "sk-" + "…", 'sk-' . '…', "sk-" "…" (also JSON-escaped quotes), optionally over a newline
#   shell line continuation: sk-\⏎…
#   a line break inside a quoted string (curl -H "Authorization: Bearer sk-⏎…")
#   notebook source lines: …sk-\n",⏎ "…
_GLUE = regex.compile(
    rb"\\?[\"'\x60][ \t]*(?:\+|\.\.?|&|\|\|)?[ \t]*"
    rb"(?:\\?\r?\n[ \t]*(?:(?:\+|\.\.?|&)[ \t]*)?)?\\?[\"'\x60]"
    rb"|\\\r?\n[ \t]*"
    rb"|\r?\n[ \t]*"
    rb"|\\n\\?\"[ \t]*,[ \t]*\r?\n[ \t]*\""
)
_GLUE_STARTS = frozenset((b"\\", b'"', b"'", b"\x60", b"\r", b"\n"))
_PIECE = regex.compile(rb"[A-Za-z0-9_-]++")
_MAX_PIECES = 4
_JOINED_BODIES = (48, 69)  # sk- + 48, sk-kimi- + 64

# Any `sk` followed by a hyphen, plain or escaped: one search tells whether a file needs the
# token pass, the escape decoders, or neither.
_SK_ANY = regex.compile(rb"sk(?:-|%2[dD]|%25|\\(?:u002[dD]|x2[dD]|055|-)|&#(?:45|x2[dD]);)")
_SK_ENTITY = regex.compile(rb"sk&#(?:45|x2[dD]);")


@dataclass(frozen=True)
class _Origin:
    """Where a decoded layer came from: its parent and the parent offset of each byte."""

    parent: _Scan
    positions: list[int]
    encoding: str


class _Scan:
    """The state of one layer's scan: the data and the lazily found context positions.

    The top layer is the content itself; decoded layers point back to it through `origin`,
    so findings inside them are located at the encoded text.
    """

    def __init__(
        self,
        content: Content,
        data: bytes,
        patterns: _Patterns,
        origin: _Origin | None = None,
        label: str | None = None,
    ) -> None:
        self.patterns = patterns
        self.content = content
        self.data = data
        self.origin = origin
        self.depth: int = 0 if origin is None else origin.parent.depth + 1
        self.root: _Scan = self if origin is None else origin.parent.root
        parent_label = None if origin is None else origin.parent.label
        own = label if origin is None else origin.encoding
        self.label: str | None = "+".join(x for x in (parent_label, own) if x) or None
        self.locator = _Locator(data)
        # Where each finding's key (in whatever spelling) is in the root data, by id().
        self.spans: dict[int, _Span] = {}
        self._near_cache: dict[int, list[tuple[int, int]]] = {}

    def to_parent(self, offset: int) -> int:
        assert self.origin is not None
        positions = self.origin.positions
        return positions[min(offset, len(positions) - 1)]

    def to_root(self, offset: int) -> int:
        scan = self
        while scan.origin is not None:
            offset = scan.to_parent(offset)
            scan = scan.origin.parent
        return offset

    def _positions(self, pattern: regex.Pattern[bytes]) -> list[tuple[int, int]]:
        key = id(pattern)
        if key not in self._near_cache:
            self._near_cache[key] = [
                m.span() for m in pattern.finditer(self.data, timeout=REGEX_TIMEOUT)
            ]
        return self._near_cache[key]

    def near(self, pattern: regex.Pattern[bytes], start: int, end: int) -> bool:
        """Is there a match of `pattern` within the context window, outside [start, end)?

        In a decoded layer the encoded text's surroundings count too (a Kubernetes Secret
        named `moonshot-credentials` is context for the base64 value under it).
        """
        lo, hi = start - _CONTEXT_WINDOW, end + _CONTEXT_WINDOW
        if any(
            s < hi and e > lo and not (s >= start and e <= end) for s, e in self._positions(pattern)
        ):
            return True
        if self.origin is None:
            return False
        return self.origin.parent.near(pattern, self.to_parent(start), self.to_parent(end))

    def line_prefix(self, start: int) -> bytes:
        line_start = self.data.rfind(b"\n", max(0, start - 200), start) + 1
        prefix = self.data[max(line_start, start - 200) : start]
        if line_start == 0 and self.origin is not None and len(prefix) < 200:
            # The decoded window starts mid-line: what precedes the encoded text counts too
            # (`api_key: <base64>`, `Authorization: Basic <base64>`).
            prefix = self.origin.parent.line_prefix(self.to_parent(0)) + prefix
        return prefix[-200:]

    def key_kind(self, start: int, end: int, secret: str) -> str:
        if secret.startswith("sk-kimi-") or self.near(_KIMI_CODE_HINT, start, end):
            return KeyKind.KIMI_CODE
        cn = self.near(_CN_HINT, start, end)
        intl = self.near(_INTL_HINT, start, end)
        if cn and not intl:
            return KeyKind.PLATFORM_CN
        if intl and not cn:
            return KeyKind.PLATFORM_INTL
        return KeyKind.PLATFORM

    def finding(
        self,
        rule: Rule,
        confidence: Confidence,
        start: int,
        end: int,
        key_kind: str | None = None,
        note: str | None = None,
        secret: str | None = None,
    ) -> Finding:
        if secret is None:
            secret = _decode(self.data[start:end])
        root = self.root
        root_start, root_end = self.to_root(start), self.to_root(end)
        data = root.data
        line = root.locator.line_of(root_start)
        line_start, line_end = root.locator.line_bounds(root_start)
        column = _column(data, line_start, root_start)
        end_column = column + (
            len(_decode(data[root_start:root_end])) if root_end <= line_end else len(secret)
        )
        # Decoded or joined keys are shown (redacted on output) in place of their encoded or
        # split form, so an excerpt never carries a whole key in another spelling.
        span = _Span(root_start, root_end, secret, line_start, line_end)
        excerpt = _excerpt_spans(data, span, [span])
        finding = Finding(
            rule=rule,
            confidence=confidence,
            key_kind=key_kind or self.key_kind(start, end, secret),
            path=self.content.path,
            line=line,
            column=column,
            end_column=end_column,
            secret=secret,
            excerpt=excerpt,
            commit=self.content.commit,
            note=note,
            encoding=self.label,
        )
        root.spans[id(finding)] = span
        return finding

    def masked(self, end: int) -> bool:
        return self.data.startswith(_MASK_AFTER, end)

    def joined_token(self, end: int, token: str) -> tuple[str, int] | None:
        """The key continued after `end` in further strings or lines, when that makes a key.

        Only joins that produce exactly a Kimi Code or Open Platform shape are returned: a
        prefix followed by unrelated text must not become a finding.
        """
        data = self.data
        pieces = [token]
        length = len(token) - 3
        pos = end
        for _ in range(_MAX_PIECES - 1):
            if data[pos : pos + 1] not in _GLUE_STARTS:
                return None
            glue = _GLUE.match(data, pos, timeout=REGEX_TIMEOUT)
            if glue is None:
                return None
            piece = _PIECE.match(data, glue.end(), timeout=REGEX_TIMEOUT)
            if piece is None or data.startswith(b"sk-", piece.start()):
                return None  # nothing follows, or the next key begins
            pieces.append(_decode(piece.group()))
            length += piece.end() - piece.start()
            pos = piece.end()
            if length in _JOINED_BODIES:
                return "".join(pieces), pos
            if length > max(_JOINED_BODIES):
                return None
        return None

    def sk_token(
        self, start: int, end: int, token: str | None = None, joined: bool = False
    ) -> Finding | None:
        if token is None:
            token = _decode(self.data[start:end])
        body = token[3:]
        if body.startswith("kimi-") and len(body) == 69 and body[5:].isalnum():
            if is_placeholder_body(body[5:]):
                return None
            return self.finding(rules.KIMI_CODE_KEY, Confidence.HIGH, start, end, secret=token)
        vendor = _is_other_vendor_body(body)
        if vendor:
            return None
        if len(body) == 48 and body.isalnum():
            if is_placeholder_body(body):
                return None
            if self.near(self.patterns.context, start, end):
                return self.finding(rules.MOONSHOT_KEY, Confidence.HIGH, start, end, secret=token)
            if self.near(_OTHER_VENDOR, start, end):
                return self.finding(
                    rules.MOONSHOT_KEY,
                    Confidence.LOW,
                    start,
                    end,
                    note="Moonshot-shaped, but the context points to another provider or an "
                    "OpenAI-compatible relay; check which service issued it.",
                    secret=token,
                )
            return self.finding(
                rules.MOONSHOT_KEY,
                Confidence.MEDIUM,
                start,
                end,
                note="No Kimi / Moonshot context nearby: the shape is Moonshot's, but "
                "OpenAI-compatible relays (New-API) issue keys of the same shape.",
                secret=token,
            )
        if joined or self.masked(end):
            return None
        if body.startswith("ki"):
            tail = body[5:] if body.startswith("kimi-") else body[2:]
            if 40 <= len(tail) <= 100 and tail.isalnum() and looks_random(tail):
                return self.finding(
                    rules.KIMI_UNUSUAL_KEY,
                    Confidence.MEDIUM,
                    start,
                    end,
                    key_kind=KeyKind.KIMI_CODE,
                    note="Starts like a Kimi Code key (sk-ki…) but is not 64 characters: "
                    "treat it as a key unless you know it is cut or made up.",
                )
            return None
        if not looks_random(body.replace("-", "").replace("_", "")):
            return None
        prefix = self.line_prefix(start)
        if self.patterns.assignment.search(prefix):
            return self.finding(rules.KIMI_ASSIGNED_KEY, Confidence.MEDIUM, start, end)
        endpoint = self.near(_ENDPOINT, start, end)
        if endpoint and _HEADER_BEFORE.search(prefix) is not None:
            return self.finding(rules.AUTH_HEADER_KEY, Confidence.MEDIUM, start, end)
        if endpoint and _KEY_ASSIGNMENT.search(prefix):
            return self.finding(rules.KIMI_ASSIGNED_KEY, Confidence.MEDIUM, start, end)
        return None

    def header_token(self, start: int, end: int) -> Finding | None:
        token = _decode(self.data[start:end])
        if token.lower().startswith("sk-") or self.masked(end):
            return None  # sk- tokens are judged by shape in sk_token()
        if not looks_random(token.replace("-", "").replace("_", ""), min_length=24):
            return None
        if not self.near(_ENDPOINT, start, end):
            return None
        return self.finding(rules.AUTH_HEADER_KEY, Confidence.MEDIUM, start, end)


def _column(data: bytes, line_start: int, offset: int) -> int:
    """1-based column in characters (a UTF-8 byte-order mark is not one)."""
    prefix = data[line_start:offset]
    if line_start == 0 and prefix.startswith(b"\xef\xbb\xbf"):
        prefix = prefix[3:]
    return len(_decode(prefix)) + 1


# Header words, in the spellings that occur; looked for only where an endpoint is named.
_HEADER_WORDS = (b"earer", b"EARER", b"pi-key", b"PI-KEY", b"pi-Key")


# A header token is reported only with an _ENDPOINT nearby, and every _ENDPOINT match holds
# "moonshot." or "kimi.com" in some case. Checking for them first keeps the header regex off
# the many files that say "Bearer" but never name a Kimi endpoint: most of the cost of a
# history scan, where nearly every blob has no sk- at all. One lower-cased copy and two
# searches cost less than searching each case variant.
def _may_have_header(data: bytes, folded: bytes) -> bool:
    return (b"moonshot." in folded or b"kimi.com" in folded) and any(
        word in data for word in _HEADER_WORDS
    )


def _names_kimi(folded: bytes, patterns: _Patterns) -> bool:
    """Does the lower-cased content name Moonshot, a Kimi endpoint, or a project word?

    Two long words, searched for in every blob of a history, cost no more than main's
    endpoint test; a bare "kimi" (short, so a slower search) is left out.
    """
    return (
        b"moonshot" in folded
        or b"kimi.com" in folded
        or any(word in folded for word in patterns.folded_words)
    )


def _scan_layer(
    scan: _Scan,
    found: list[tuple[int, Finding]],
    first_sk: regex.Match[bytes] | None = None,
    b64_starts: list[int] | None = None,
    header: bool | None = None,
) -> None:
    """Findings of one layer, then of every encoded text inside it, to MAX_DEPTH."""
    data = scan.data
    deep = scan.depth > 0
    if deep:
        first_sk = _SK_ANY.search(data)
    hits: list[tuple[int, Callable[[bytes, int], decoders.Decoded]]] = []
    if first_sk is not None:
        if first_sk.group() == b"sk-" or b"sk-" in data:
            _sk_tokens(scan, found)
        if scan.depth < MAX_DEPTH:
            at = first_sk.start()
            for match in decoders.SK_ESCAPED.finditer(data, at, timeout=REGEX_TIMEOUT):
                percent = match.group()[2:3] == b"%"
                hits.append(
                    (match.start(), decoders.percent_window if percent else decoders.escape_window)
                )
            for match in _SK_ENTITY.finditer(data, at, timeout=REGEX_TIMEOUT):
                hits.append((match.start(), decoders.entity_window))
    if deep and scan.depth < MAX_DEPTH:
        for match in decoders.SK_FULLY_ESCAPED.finditer(data, timeout=REGEX_TIMEOUT):
            head = match.group()[:1]
            window = (
                decoders.percent_window
                if head == b"%"
                else decoders.entity_window
                if head == b"&"
                else decoders.escape_window
            )
            hits.append((match.start(), window))
    _open_windows(scan, hits, found)
    if header is None:
        header = _may_have_header(data, data.lower())
    if header:
        for match in _HEADER.finditer(data, timeout=REGEX_TIMEOUT):
            start, end = match.span(1)
            finding = scan.header_token(start, end)
            if finding is not None:
                found.append((scan.to_root(start), finding))
    if scan.depth < MAX_DEPTH:
        starts = (
            b64_starts
            if b64_starts is not None
            else decoders.base64_starts(data, deep=True, broad=True)
        )
        for decoded in decoders.base64_windows(data, starts):
            _sublayer(scan, decoded, found)


def _open_windows(
    scan: _Scan,
    hits: list[tuple[int, Callable[[bytes, int], decoders.Decoded]]],
    found: list[tuple[int, Finding]],
) -> None:
    """Decode a window around each escaped `sk`, once per stretch of text.

    A hit inside a window already decoded the same way is skipped unless it lies near the
    window's end (where its key could be cut off), so a megabyte of escapes decodes each
    byte about once, not once per escape.
    """
    covered: dict[Callable[[bytes, int], decoders.Decoded], int] = {}
    opened = 0
    for pos, window in sorted(hits, key=lambda hit: hit[0]):
        if pos < covered.get(window, -1) or opened >= decoders.MAX_WINDOWS:
            continue
        decoded = window(scan.data, pos)
        opened += 1
        covered[window] = decoded.positions[-1] - 2 * _MAX_TOKEN
        _sublayer(scan, decoded, found)


def _sublayer(scan: _Scan, decoded: decoders.Decoded, found: list[tuple[int, Finding]]) -> None:
    origin = _Origin(scan, decoded.positions, decoded.encoding)
    _scan_layer(_Scan(scan.content, decoded.data, scan.patterns, origin), found)


def _sk_tokens(scan: _Scan, found: list[tuple[int, Finding]]) -> None:
    data = scan.data
    for match in _SK_TOKEN.finditer(data, timeout=REGEX_TIMEOUT):
        start, end = match.span()
        if end - start > _MAX_TOKEN:
            continue
        finding = scan.sk_token(start, end)
        if finding is None and end - start < 3 + max(_JOINED_BODIES):
            joined = scan.joined_token(end, _decode(match.group()))
            if joined is not None:
                token, joined_end = joined
                finding = scan.sk_token(start, joined_end, token, joined=True)
                if finding is not None:
                    note = "Written in pieces (across strings or lines); reported joined."
                    note = f"{note} {finding.note}" if finding.note else note
                    joined_finding = dataclasses.replace(finding, note=note)
                    spans = scan.root.spans
                    spans[id(joined_finding)] = spans.pop(id(finding))
                    finding = joined_finding
        if finding is not None:
            found.append((scan.to_root(start), finding))


# Configuration, data and scripts: where base64 values are often credentials (Kubernetes
# Secrets, Docker configs, .env files, HTTP requests, notebooks) and few of a history's
# bytes are. Base64 is searched there, and in any content that names Moonshot or a Kimi
# endpoint; not in the rest (source code, documents, media: most of the bytes), where the
# four short searches for its spellings would make detect() about three times slower.
_CONFIG_SUFFIXES = frozenset(
    [
        "yaml",
        "yml",
        "json",
        "jsonc",
        "json5",
        "env",
        "toml",
        "ini",
        "cfg",
        "conf",
        "config",
        "properties",
        "txt",
        "http",
        "rest",
        "ipynb",
        "sh",
        "bash",
        "zsh",
        "fish",
        "ps1",
        "psm1",
        "bat",
        "cmd",
        "tf",
        "tfvars",
        "hcl",
        "xml",
        "plist",
        "secret",
        "secrets",
        "npmrc",
        "netrc",
        "pypirc",
        "dockercfg",
        "dockerconfigjson",
        "log",
        "csv",
        "tsv",
        "b64",
        "base64",
    ]
)


def _is_config(path: str) -> bool:
    name = path.rsplit("/", 1)[-1].lower()
    if name.startswith(".env") or "." not in name.lstrip("."):
        return True  # .env.local; Dockerfile, .npmrc and other names without a suffix
    return name.rsplit(".", 1)[-1] in _CONFIG_SUFFIXES


_WIDE_MARKS = (b"\xff\xfe", b"\xfe\xff")


def _detect_in(
    content: Content, data: bytes, patterns: _Patterns, label: str | None
) -> list[Finding]:
    # The cheap gates first (one regex with a literal prefix, a few finds): most content
    # holds nothing to look at, and is left without building any scan state.
    first_sk = _SK_ANY.search(data)
    # One lower-cased copy serves every case-insensitive word test (cheaper than a search per
    # case variant); the endpoint words are only looked for where "kimi"/"moonshot" are.
    folded = data.lower()
    names_kimi = _names_kimi(folded, patterns)
    header = names_kimi and any(word in data for word in _HEADER_WORDS)
    broad = names_kimi or _is_config(content.path)
    b64_starts = decoders.base64_starts(data, deep=False, broad=broad)
    if first_sk is None and not b64_starts and not header:
        return []
    found: list[tuple[int, Finding]] = []
    scan = _Scan(content, data, patterns, label=label)
    try:
        _scan_layer(scan, found, first_sk, b64_starts, header)
    except TimeoutError:
        raise DetectionTimeout(
            content.path, f"a pattern took longer than {REGEX_TIMEOUT:g} s; content not scanned"
        ) from None
    spans = scan.spans
    if len(spans) > 1:
        # Rebuild excerpts with every key on the line in place, so no excerpt shows a
        # neighbouring key in an encoded or split spelling.
        found = [
            (
                offset,
                dataclasses.replace(
                    f, excerpt=_excerpt_spans(data, spans[id(f)], list(spans.values()))
                ),
            )
            for offset, f in found
        ]
    found.sort(key=lambda item: (item[0], item[1].encoding is not None))
    # The same key at the same place may be reached plainly and through a decoder (a JSON
    # string with other escapes in it): keep the first, plainest report.
    seen: set[tuple[int, str]] = set()
    out: list[Finding] = []
    for offset, finding in found:
        key = (offset, finding.secret)
        if key not in seen:
            seen.add(key)
            out.append(finding)
    return out


def detect(content: Content, settings: DetectorSettings = DEFAULT_SETTINGS) -> list[Finding]:
    """Every key in the content, in offset order, before any filter.

    Raises DetectionTimeout when a pattern exceeds its time limit on this content.
    """
    patterns = _DEFAULT_PATTERNS if settings is DEFAULT_SETTINGS else _patterns_for(settings)
    data = content.data
    if data[:2] in _WIDE_MARKS or b"\x00" in data:
        wide = decoders.text_encoding(data)
        if wide is not None:
            # UTF-16 / UTF-32 text is read as the characters it holds (lines and columns are
            # the same in both spellings). The bytes are read as they are too: a binary file
            # may merely look wide, and must not hide an ASCII key by doing so.
            text = decoders.transcode(data, wide)
            found = _detect_in(content, text, patterns, wide.rsplit("-", 1)[0])
            keys = {f.secret for f in found}
            raw = _detect_in(content, data, patterns, None)
            return found + [f for f in raw if f.secret not in keys]
    # Nearly every blob of a history holds nothing: decide that with the fewest, fastest
    # searches, inline (a function call per blob is measurable over a whole history).
    if _SK_ANY.search(data) is None:
        folded = data.lower()
        if (
            b"moonshot" not in folded
            and b"kimi.com" not in folded
            and not (patterns.folded_words and _names_kimi(folded, patterns))
            and (not _is_config(content.path) or not decoders.base64_starts(data, False, True))
        ):
            return []
    return _detect_in(content, data, patterns, None)
