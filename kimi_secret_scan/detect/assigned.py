"""Values of settings named for Kimi that are not sk- tokens (those are judged in `tokens`):
`MOONSHOT_API_KEY=<32 hex digits>`, `kimi_api_key: AIza…`. Whatever a setting named for Kimi
holds is a credential for Kimi (often through a relay), so any secret-looking value is
reported, at medium confidence, with its shape named; references (`${…}`, `os.environ[…]`,
`process.env.X`) and placeholders are not."""

from __future__ import annotations

import binascii

import regex

from kimi_secret_scan import rules
from kimi_secret_scan.detect import limits
from kimi_secret_scan.detect.excerpt import decode_text
from kimi_secret_scan.detect.layer import Layer
from kimi_secret_scan.detect.tokens import setting_note
from kimi_secret_scan.finding import Confidence, Finding
from kimi_secret_scan.lazy_regex import lazy
from kimi_secret_scan.randomness import secret_looking

_compiled: list[regex.Pattern[bytes]] = []


def _setting() -> regex.Pattern[bytes]:
    # Compiled on first use: only content that names Kimi or Moonshot is searched with it.
    if not _compiled:
        _compiled.append(
            regex.compile(
                rb"(?i)(?:kimi|moonshot)[\w.\-]{0,30}?"
                rb"(?:key|token|secret|auth|passw(?:or)?d|credential)[\w.\-]{0,16}"
                rb"\\?[\"'\x60]?[ \t]*(?::=|=>|=|:|,)[ \t]*(?:\\?[\"'\x60][ \t]*)?"
                rb"(?:bearer[ \t]+)?([A-Za-z0-9][A-Za-z0-9._~+/=-]{15,300}+)"
            )
        )
    return _compiled[0]


# A value that names something instead of holding it: another variable (`KIMI_KEY_PROD`),
# or a dotted path without digits (`settings.kimi_api_key`, `process.env.KIMI_API_KEY`).
_VARIABLE = lazy(rb"[A-Z][A-Z0-9]*+(?:_[A-Z0-9]++)++")
_DOTTED = lazy(rb"[A-Za-z_$][A-Za-z_$]*+(?:\.[A-Za-z_$][A-Za-z_$]*+)++")
_CODE_AFTER = (b"(", b"[", b"{", b"$")


def _encodes_sk(value: bytes) -> bool:
    """Is the value base64 of an sk- token (`c2st…`)? The base64 layer reads it decoded."""
    if not value.startswith(b"c2st"):
        return False
    head = value[:8].replace(b"-", b"+").replace(b"_", b"/")
    try:
        return binascii.a2b_base64(head).startswith(b"sk-")
    except binascii.Error:
        return False


def _names(folded: bytes) -> list[int]:
    """Where `kimi` and `moonshot` start (finds, not a regex over the whole content)."""
    at: list[int] = []
    for word in (b"kimi", b"moonshot"):
        pos = folded.find(word)
        while pos >= 0:
            if pos == 0 or not folded[pos - 1 : pos].isalnum():
                at.append(pos)
            pos = folded.find(word, pos + 1)
    at.sort()
    return at


def find_kimi_settings(scan: Layer, found: list[tuple[int, Finding]], folded: bytes) -> None:
    """Every non-sk- value of a setting named for Kimi in the layer (`folded`: its data in
    lower case), tried only where the content says kimi or moonshot."""
    data = scan.data
    setting = _setting()
    done = -1
    for pos in _names(folded):
        if pos < done:
            continue
        match = setting.match(data, pos, timeout=limits.REGEX_TIMEOUT)
        if match is None:
            continue
        start, end = match.span(1)
        done = end
        value = match.group(1)
        if value[:3].lower() == b"sk-" or _encodes_sk(value):
            continue  # judged with every other sk- token (decoded from base64 if need be)
        if data.startswith(_CODE_AFTER, end) or scan.masked(end):
            continue  # a call, an index or a template, or a masked value
        if _VARIABLE.fullmatch(value) is not None or _DOTTED.fullmatch(value) is not None:
            continue
        text = decode_text(value)
        if not secret_looking(text):
            continue
        finding = scan.finding(
            rules.KIMI_ASSIGNED_KEY, Confidence.MEDIUM, start, end, note=setting_note(text)
        )
        found.append((scan.to_root(start), finding))
