"""Keys with terminal control sequences inside them, read as the terminal shows them.

`grep --color=always sk-kimi- .env` colours the match only, so a saved log holds
`KEY=ESC[01;31mESC[Ksk-kimi-ESC[mESC[K<body>`: the key's prefix and body are apart in the
bytes and whole on the screen (hostile review 11). Where CSI sequences (ESC `[` parameters,
final byte) sit inside an `sk-` token, the token's line is read with them dropped, as a
decoded layer, so the finding's span covers the key as written (the sequences included) and
its excerpt shows the key in place of that spelling.

Only content holding an ESC byte or an escaped spelling of one (`\\e`, `\\033`, `\\x1b`,
`\\u001b`, `\\x{1b}`) followed by `[` pays more than a search for the sequences' start.
"""

from __future__ import annotations

from kimi_secret_scan import decoders
from kimi_secret_scan.lazy_regex import lazy, lazy_re

# ESC, raw or as a string literal spells it, then `[`: the start of a CSI sequence.
_ESC_SPELLED = lazy(rb"\\\\?(?:e|0?33|x1[bB]|u001[bB]|x\{1[bB]\})\[")
# A whole CSI sequence: parameter bytes (0x30-0x3F), intermediate bytes (0x20-0x2F), the
# final byte (0x40-0x7E); SGR (`m`) and erase-in-line (`K`, what grep adds) among them.
_CSI_PATTERN = rb"(?:\x1b|\\\\?(?:e|0?33|x1[bB]|u001[bB]|x\{1[bB]\}))\[[0-?]{0,32}[ -/]{0,4}[@-~]"
_CSI = lazy(_CSI_PATTERN)
# An `sk-` token with sequences anywhere in it (between `sk` and `-` too: grep's match of
# `API_KEY=sk` coloured). Key characters and sequences start with different bytes, so the
# alternation never backtracks.
_CUT_TOKEN = lazy_re(rb"sk(?:" + _CSI_PATTERN + rb")*-(?:[A-Za-z0-9_-]+|" + _CSI_PATTERN + rb")*")
# The shortest token worth a window: `sk-` and 20 characters (no key is shorter).
_SHORTEST = 23


# The `[` of an escaped ESC spelling, found from a literal `[` (the engine skips to each at
# memory speed; the lookbehind is asked at a `[` only), then read whole by _ESC_SPELLED: a
# search from every backslash of a JSON file took 40 ns a byte, a few `bytes.find`s of
# literals 2 us on a 2.5 KiB blob (a history has many).
_SPELLED_END = lazy_re(rb"\[(?<=(?:\\e|33|1[bB]|[bB]\})\[)")


def may_hold(data: bytes) -> bool:
    """Does `data` hold the start of a CSI sequence, raw or escaped?"""
    if b"\x1b" in data and b"\x1b[" in data:
        return True
    match = _SPELLED_END.search(data)
    while match is not None:
        at = match.start()
        if _ESC_SPELLED.search(data, max(0, at - 7), at + 1) is not None:
            return True
        match = _SPELLED_END.search(data, at + 1)
    return False


# `sk` then a sequence: the only key terminal sequences cut that holds no `sk-` as written
# (grep's coloured match of `API_KEY=sk`). A literal start, searched at memory speed.
_SK_THEN_CSI = lazy_re(rb"sk(?=\x1b\[|\\\\?(?:e|0?33|x1[bB]|u001[bB]|x\{1[bB]\})\[)")


def cuts_sk(data: bytes) -> bool:
    """Does a terminal sequence follow an `sk` (`sk` ESC[m `-kimi-…`)? The gates that skip
    content without `sk-` ask this (a key with a plain `sk-` passes them anyway)."""
    return _SK_THEN_CSI.search(data) is not None


def hits(data: bytes) -> list[int]:
    """Where an `sk-` token that terminal sequences cut starts: `sk`, then (sequences and)
    `-`, then key characters and sequences, holding at least one sequence and, without them,
    long enough to be a key. Colour around a whole key is read by tokens.SK_TOKEN's left
    guard and starts nothing here. One pass from each literal `sk`: a coloured CI log full
    of `task`, `disk`, `risk` (every sequence between two letters checked against the text
    before it opened a window each, and 3 MiB of such a log ran out of windows)."""
    if not may_hold(data):
        return []
    out: list[int] = []
    for match in _CUT_TOKEN.finditer(data):
        token = match.group()
        if (b"[" in token or b"\x1b" in token) and len(_CSI.sub(b"", token)) >= _SHORTEST:
            out.append(match.start())
    return out


def window(data: bytes, pos: int) -> decoders.Decoded:
    """The line around `pos` with every CSI sequence dropped, each byte's origin kept."""
    lo, hi = decoders._window_bounds(data, pos, b"\n")
    return decoders._rewrite(data, lo, hi, _CSI, "terminal-escape", _drop)


def _drop(sequence: bytes) -> bytes:
    return b""
