"""Literal tokens in Authorization / x-api-key headers sent to a Kimi endpoint."""

from __future__ import annotations

from kimi_secret_scan import rules
from kimi_secret_scan.detect import limits
from kimi_secret_scan.detect.context import ENDPOINT
from kimi_secret_scan.detect.excerpt import decode_text
from kimi_secret_scan.detect.layer import Layer
from kimi_secret_scan.finding import Confidence, Finding
from kimi_secret_scan.lazy_regex import lazy
from kimi_secret_scan.randomness import looks_random

# Literal tokens in Authorization / x-api-key headers, in the forms curl, raw HTTP, and the
# header maps of Python, JS, Go, Ruby and Java write them (quotes may be JSON-escaped).
_HEADER = lazy(
    rb"(?i)(?:authorization\\?[\"'\x60]?[ \t]*(?::|=>?|,)[ \t]*\\?[\"'\x60]?[ \t]*bearer[ \t]+"
    rb"|x-api-key\\?[\"'\x60]?[ \t]*(?::|=>?|,)[ \t]*\\?[\"'\x60]?[ \t]*)"
    rb"([A-Za-z0-9._~+/=-]{20,512})"
)
HEADER_BEFORE = lazy(
    rb"(?i)(?:bearer[ \t]+|x-api-key\\?[\"'\x60]?[ \t]*(?::|=>?|,)[ \t]*\\?[\"'\x60]?[ \t]*)$"
)

# Header words, in the spellings that occur; looked for only where an endpoint is named.
HEADER_WORDS = (b"earer", b"EARER", b"pi-key", b"PI-KEY", b"pi-Key")


# A header token is reported only with an ENDPOINT nearby, and every ENDPOINT match holds
# "moonshot." or "kimi.com" in some case. Checking for them first keeps the header regex off
# the many files that say "Bearer" but never name a Kimi endpoint: most of the cost of a
# history scan, where nearly every blob has no sk- at all. One lower-cased copy and two
# searches cost less than searching each case variant.
def may_have_header(data: bytes, folded: bytes) -> bool:
    return (b"moonshot." in folded or b"kimi.com" in folded) and any(
        word in data for word in HEADER_WORDS
    )


def header_token(scan: Layer, start: int, end: int) -> Finding | None:
    token = decode_text(scan.data[start:end])
    if token.lower().startswith("sk-") or scan.masked(end):
        return None  # sk- tokens are judged by shape in tokens.sk_token()
    if not looks_random(token.replace("-", "").replace("_", ""), min_length=24):
        return None
    if not scan.near(ENDPOINT, start, end):
        return None
    return scan.finding(rules.AUTH_HEADER_KEY, Confidence.MEDIUM, start, end)


def find_headers(scan: Layer, found: list[tuple[int, Finding]]) -> None:
    for match in _HEADER.finditer(scan.data, timeout=limits.REGEX_TIMEOUT):
        start, end = match.span(1)
        finding = header_token(scan, start, end)
        if finding is not None:
            found.append((scan.to_root(start), finding))
