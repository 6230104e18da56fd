"""Turn content (bytes) into findings.

The scan is built for whole files and whole blobs: cheap `bytes.find` prefilters decide
whether any regex runs at all, every pattern is linear (possessive or bounded quantifiers,
no nested repetition), and line and column are computed only for the few offsets that
matched. Which lines count (the lines a commit adds) is the source's business, not ours.
"""

from __future__ import annotations

import regex

from kimi_secret_scan import rules
from kimi_secret_scan.content import Content
from kimi_secret_scan.finding import Confidence, Finding, KeyKind, Rule
from kimi_secret_scan.randomness import is_placeholder_body, looks_random
from kimi_secret_scan.settings import DEFAULT_SETTINGS, DetectorSettings

# An sk- token. The left guard keeps `task-…`, `csk-…` and `desk-…` out, but lets a token
# follow an escape (`\n`, `%20`, `\u0020`) so JSON strings and URLs are still read.
_SK_TOKEN = regex.compile(
    rb"(?:(?<![A-Za-z0-9_-])|(?<=\\[nrt]|%[0-9A-Fa-f]{2}|\\u[0-9A-Fa-f]{4}))sk-[A-Za-z0-9_-]++"
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


def _excerpt(data: bytes, line_start: int, line_end: int, start: int, end: int) -> str:
    # Long (minified) lines are cut to a window around the key so output stays readable.
    lo = max(line_start, start - 80)
    hi = min(line_end, end + 80)
    text = _decode(data[lo:hi]).replace("\t", " ")
    return ("…" if lo > line_start else "") + text + ("…" if hi < line_end else "")


class _Patterns:
    """The context and assignment patterns, extended by the project's settings."""

    def __init__(self, settings: DetectorSettings) -> None:
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


class _Scan:
    """The state of one content's scan: the data and the lazily found context positions."""

    def __init__(self, content: Content, patterns: _Patterns) -> None:
        self.patterns = patterns
        self.content = content
        self.data = content.data
        self.locator = _Locator(self.data)
        self._near_cache: dict[int, list[tuple[int, int]]] = {}

    def _positions(self, pattern: regex.Pattern[bytes]) -> list[tuple[int, int]]:
        key = id(pattern)
        if key not in self._near_cache:
            self._near_cache[key] = [m.span() for m in pattern.finditer(self.data)]
        return self._near_cache[key]

    def near(self, pattern: regex.Pattern[bytes], start: int, end: int) -> bool:
        """Is there a match of `pattern` within the context window, outside [start, end)?"""
        lo, hi = start - _CONTEXT_WINDOW, end + _CONTEXT_WINDOW
        return any(
            s < hi and e > lo and not (s >= start and e <= end) for s, e in self._positions(pattern)
        )

    def line_prefix(self, start: int) -> bytes:
        line_start = self.data.rfind(b"\n", max(0, start - 200), start) + 1
        return self.data[max(line_start, start - 200) : start]

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
    ) -> Finding:
        secret = _decode(self.data[start:end])
        line = self.locator.line_of(start)
        line_start, line_end = self.locator.line_bounds(start)
        column = len(_decode(self.data[line_start:start])) + 1
        return Finding(
            rule=rule,
            confidence=confidence,
            key_kind=key_kind or self.key_kind(start, end, secret),
            path=self.content.path,
            line=line,
            column=column,
            end_column=column + len(secret),
            secret=secret,
            excerpt=_excerpt(self.data, line_start, line_end, start, end),
            commit=self.content.commit,
            note=note,
        )

    def masked(self, end: int) -> bool:
        return self.data.startswith(_MASK_AFTER, end)

    def sk_token(self, start: int, end: int) -> Finding | None:
        token = _decode(self.data[start:end])
        body = token[3:]
        in_header = _HEADER_BEFORE.search(self.line_prefix(start)) is not None
        if body.startswith("kimi-") and len(body) == 69 and body[5:].isalnum():
            if is_placeholder_body(body[5:]):
                return None
            return self.finding(rules.KIMI_CODE_KEY, Confidence.HIGH, start, end)
        vendor = _is_other_vendor_body(body)
        if vendor:
            return None
        if len(body) == 48 and body.isalnum():
            if is_placeholder_body(body):
                return None
            if self.near(self.patterns.context, start, end):
                return self.finding(rules.MOONSHOT_KEY, Confidence.HIGH, start, end)
            if self.near(_OTHER_VENDOR, start, end):
                return self.finding(
                    rules.MOONSHOT_KEY,
                    Confidence.LOW,
                    start,
                    end,
                    note="Moonshot-shaped, but the context points to another provider or an "
                    "OpenAI-compatible relay; check which service issued it.",
                )
            return self.finding(
                rules.MOONSHOT_KEY,
                Confidence.MEDIUM,
                start,
                end,
                note="No Kimi / Moonshot context nearby: the shape is Moonshot's, but "
                "OpenAI-compatible relays (New-API) issue keys of the same shape.",
            )
        if self.masked(end):
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
        if endpoint and in_header:
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


# A header token is reported only with an _ENDPOINT nearby, and every _ENDPOINT match holds
# "moonshot." or "kimi.com" in some case. Checking for them first keeps the header regex off
# the many files that say "Bearer" but never name a Kimi endpoint: most of the cost of a
# history scan, where nearly every blob has no sk- at all. One lower-cased copy and two
# searches cost less than searching each case variant.
def _may_have_endpoint(data: bytes) -> bool:
    folded = data.lower()
    return b"moonshot." in folded or b"kimi.com" in folded


def detect(content: Content, settings: DetectorSettings = DEFAULT_SETTINGS) -> list[Finding]:
    """Every key in the content, in offset order, before any filter."""
    data = content.data
    has_sk = b"sk-" in data
    has_endpoint = _may_have_endpoint(data)
    if not has_sk and not has_endpoint:
        return []
    patterns = _DEFAULT_PATTERNS if settings == DEFAULT_SETTINGS else _Patterns(settings)
    scan = _Scan(content, patterns)
    found: list[tuple[int, Finding]] = []
    if has_sk:
        for match in _SK_TOKEN.finditer(data):
            start, end = match.span()
            if end - start > _MAX_TOKEN:
                continue
            finding = scan.sk_token(start, end)
            if finding is not None:
                found.append((start, finding))
    if has_endpoint and (
        b"earer" in data
        or b"EARER" in data
        or b"pi-key" in data
        or b"PI-KEY" in data
        or b"pi-Key" in data
    ):
        for match in _HEADER.finditer(data):
            start, end = match.span(1)
            finding = scan.header_token(start, end)
            if finding is not None:
                found.append((start, finding))
    found.sort(key=lambda item: item[0])
    return [finding for _, finding in found]
