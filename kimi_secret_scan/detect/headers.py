"""Literal tokens in Authorization / x-api-key headers sent to a Kimi endpoint."""

from __future__ import annotations

from kimi_secret_scan import rules
from kimi_secret_scan.detect.context import AFTER_SEPARATOR, ENDPOINT
from kimi_secret_scan.detect.excerpt import decode_text
from kimi_secret_scan.detect.layer import Layer
from kimi_secret_scan.finding import Confidence, Finding
from kimi_secret_scan.lazy_regex import lazy_re
from kimi_secret_scan.randomness import looks_random

# Literal tokens in Authorization / x-api-key headers, in the forms curl, raw HTTP, and the
# header maps of Python, JS, Go, Ruby and Java write them (quotes may be JSON-escaped).
# After the separator: context.AFTER_SEPARATOR (no two runs of blanks meet: `re` has no
# time-out, and these are its patterns).
_HEADER = lazy_re(
    rb"(?i)(?:authorization\\?[\"'\x60]?[ \t]*(?::|=>?|,)" + AFTER_SEPARATOR + rb"bearer[ \t]+"
    rb"|x-api-key\\?[\"'\x60]?[ \t]*(?::|=>?|,)" + AFTER_SEPARATOR + rb")"
    rb"([A-Za-z0-9._~+/=-]{20,512})"
)
HEADER_BEFORE = lazy_re(
    rb"(?i)(?:bearer[ \t]+|x-api-key\\?[\"'\x60]?[ \t]*(?::|=>?|,)" + AFTER_SEPARATOR + rb")$"
)


# Every match of _HEADER holds "bearer" or "x-api-key" (in some case) and no line break.
_HEADER_WORDS = (b"bearer", b"x-api-key")


def header_token(scan: Layer, start: int, end: int) -> Finding | None:
    token = decode_text(scan.data[start:end])
    if token.lower().startswith("sk-") or scan.masked(end):
        return None  # sk- tokens are judged by shape in tokens.sk_token()
    if not looks_random(token.replace("-", "").replace("_", ""), min_length=24):
        return None
    if not scan.near(ENDPOINT, start, end):
        return None
    return scan.finding(rules.AUTH_HEADER_KEY, Confidence.MEDIUM, start, end)


def find_headers(scan: Layer, found: list[tuple[int, Finding]], folded: bytes) -> None:
    """Header tokens of the layer (`folded`: its data in lower case).

    _HEADER runs only over the lines that hold a header word, not over the whole layer: a
    file that names a Kimi endpoint (a Kimi project's every README) is mostly other text,
    and the pattern's case-insensitive alternation is slow to search for. No match spans a
    line break, so the matches are the same.
    """
    data = scan.data
    lines: set[tuple[int, int]] = set()
    for word in _HEADER_WORDS:
        pos = folded.find(word)
        while pos >= 0:
            start = folded.rfind(b"\n", 0, pos) + 1
            end = folded.find(b"\n", pos)
            if end < 0:
                end = len(folded)
            lines.add((start, end))
            pos = folded.find(word, end)
    for line_start, line_end in sorted(lines):
        for match in _HEADER.finditer(data, line_start, line_end):
            start, end = match.span(1)
            finding = header_token(scan, start, end)
            if finding is not None:
                found.append((scan.to_root(start), finding))
