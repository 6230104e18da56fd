"""Redaction of key-shaped tokens in text that is not a finding: error messages, and the
paths and ref names a report prints (a file or branch can be named after a key).

Findings redact their own key; this is the net under everything else the tool prints.
"""

from __future__ import annotations

import re

from kimi_secret_scan.finding import redact

# An sk- token with a run of 20+ letters and digits: the shape of every key the detectors
# report, and not of ordinary names such as `sk-learn-notes.md`. No left boundary: a
# branch may be named `xsk-<key>`, and hiding a harmless `task-…` costs nothing.
_KEY_SHAPED = re.compile(r"sk-(?:kimi-)?[A-Za-z0-9]{20,}")
# A name can hold a key encoded, as the detectors find it in a branch or file name: a run
# of base64 (standard or URL-safe) long enough to encode `sk-` and 20 more characters, or
# a run of percent-encoded text. Such a run is shown as the keys it decodes to, redacted.
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/_-]{31,}={0,2}")
_PERCENT_RUN = re.compile(r"(?:%[0-9A-Fa-f]{2}|[A-Za-z0-9._~+-]){23,}")
_PERCENT_SK = re.compile(r"(?:s|%73)(?:k|%6[bB])(?:-|%2[dD])")
_URLSAFE = str.maketrans("-_", "+/")
# What `sk-` encodes to whatever bytes surround it, at each of its three places in a
# 3-byte group: a run holding none of these cannot hold a key, and is not decoded.
_ENCODED_SK = ("c2st", "NrL", "zay")


def redact_text(text: str) -> str:
    """`text` with every key-shaped token redacted as findings redact keys, also where a
    name holds one base64- or percent-encoded."""
    if "sk-" in text:
        text = _KEY_SHAPED.sub(lambda m: redact(m.group(0)), text)
    if "%" in text and _PERCENT_SK.search(text):
        text = _PERCENT_RUN.sub(_decoded_percent, text)
    if any(sk in text for sk in _ENCODED_SK):
        text = _BASE64_RUN.sub(_decoded_base64, text)
    return text


def _keys_in(decoded: str) -> list[str]:
    return [redact(m.group(0)) for m in _KEY_SHAPED.finditer(decoded)]


def _decoded_percent(match: re.Match[str]) -> str:
    from urllib.parse import unquote

    if "%" not in match.group(0):
        return match.group(0)
    keys = _keys_in(unquote(match.group(0), errors="replace"))
    return " ".join(keys) if keys else match.group(0)


def _decoded_base64(match: re.Match[str]) -> str:
    import binascii

    if not any(sk in match.group(0) for sk in _ENCODED_SK):
        return match.group(0)
    run = match.group(0).rstrip("=").translate(_URLSAFE)
    keys: list[str] = []
    # The encoded key may start at any of four places of a run (a name's `/` is base64 too).
    for start in range(4):
        body = run[start:]
        body = body[: len(body) - len(body) % 4]
        try:
            decoded = binascii.a2b_base64(body).decode("latin-1")
        except (binascii.Error, ValueError):
            continue
        keys += [k for k in _keys_in(decoded) if k not in keys]
    return " ".join(keys) if keys else match.group(0)
