"""Keys with terminal control sequences inside them, read as the terminal shows them.

`grep --color=always sk-kimi- .env` colours the match only, so a saved log holds
`KEY=ESC[01;31mESC[Ksk-kimi-ESC[mESC[K<body>`: the key's prefix and body are apart in the
bytes and whole on the screen (hostile review 11). Where terminal sequences sit inside an
`sk-` token (or between its `s` and `k`: grep colouring a match that starts at `k`), the
token's line is read with them dropped, as a decoded layer, so the finding's span covers
the key as written (the sequences included) and its excerpt shows the key in place of that
spelling.

The sequences read (review h12 found each of the others passed a key silently):
- CSI: ESC `[`, up to 256 parameter bytes (a truecolour SGR runs past 32), up to 16
  intermediates, C0 controls among them, a final byte or CAN/SUB; the 8-bit CSI U+009B (also
  spelled `\\x9b`, `\\u009b`); `%1B%5B`;
- OSC and the other strings (ESC `]`, `P`, `X`, `^`, `_`; the 8-bit OSC, DCS, SOS, PM,
  APC): a body of up to 2 KiB ended by BEL or ST (ESC `\\`, U+009C): hyperlinks, titles;
- ESC, intermediates (0x20-0x2F), a final byte (`tput sgr0`'s charset `ESC(B`), and the
  two-byte escapes (ESC `=`, ESC `>`, ESC `7`); an ESC before another ESC;
- ESC spelled as a string literal, terminfo or `cat -v` write it: `\\e`, `\\E`, `\\033`,
  `\\27`, `\\x1b`, `\\u001b`, `\\U0000001b`, `\\x{1b}`, `\\u{1b}`, `^[` (one backslash or
  two), `&#27;`, `&#x1b;`;
- with the ESC dropped (a CI log copied from a browser): `[01;31m`, `[m`, `[K`: `[`,
  digits and `;`, then `m` or `K`. None of these is a key character, and they are read so
  only inside an `sk-` token that is long enough to be a key without them.

Only content holding an ESC byte, an 8-bit introducer or ST, an ESC spelling followed by `[`,
`%1B%5B`, a spelled `\\x9b`, or an ESC-less SGR glued to letters pays more than the searches
for those starts. A token's sequences are read up to TOKEN_LIMIT bytes; past it the content
is said not scanned whole.
"""

from __future__ import annotations

from kimi_secret_scan import decoders
from kimi_secret_scan.lazy_regex import lazy, lazy_re

# ESC spelled as string literals, terminfo and `cat -v` write it (one backslash or two;
# Lua's decimal `\27`, Python's `\U0000001b`), and as an HTML reference.
_SPELLED = (
    rb"\\\\?(?:[eE]|0?33|27|x1[bB]|u001[bB]|U0{6}1[bB]|[xu]\{0{0,4}1[bB]\})|\^\["
    rb"|&#(?:0{0,4}27|[xX]0{0,4}1[bB]);"
)
_ESC = rb"(?:\x1b|" + _SPELLED + rb")"
# BEL, raw or spelled: the end of an OSC string, as ST is.
_BEL = rb"(?:\x07|\^G|\\\\?(?:a|0?07|x07|u0007))"
# OSC bodies are bounded: a lone `ESC]` must not make a window run to the content's end.
_STRING_BODY = 2048
_CSI_PARAMETERS = 256
# A C0 control inside a CSI is executed and the sequence goes on (BEL, BS, CR, …; not ESC,
# which starts another, nor a line feed, which ends the line read); CAN and SUB end it.
_C0 = rb"\x00-\x09\x0b-\x17\x19\x1c-\x1f"
_ABORT = rb"\x18\x1a"


def _sequence(c1: tuple[bytes, bytes, bytes, bytes]) -> bytes:
    """A terminal sequence's pattern; `c1`: the 8-bit CSI, the start of a string (OSC, DCS,
    SOS, PM, APC), the set of those starts' last bytes and ST, as the text holds them (UTF-8
    bytes, or the characters of a str pattern)."""
    csi, osc, osc_last, st = c1
    # ST: ESC `\`; with ESC spelled, its backslash is escaped too (`\e\\`, JSON's
    # `\\e\\\\`): one backslash took, the second stood glued to the key (review h13b #3).
    end = rb"(?:" + _BEL + rb"|\x1b\\|(?:" + _SPELLED + rb")\\{1,4}|" + st + rb")"
    body = rb"{0,%d}?" % _STRING_BODY
    return (
        rb"(?:(?:"
        + _ESC
        + rb"\[|%1[bB]%5[bB]|\\\\?(?:x9[bB]|u009[bB])|"
        + csi
        + rb")[0-?"
        + _C0
        # (Possessive: C0 may stand among parameters and intermediates, and a CSI that
        # does not end must not be tried in every split of its controls.)
        + rb"]{0,%d}+[ -/" % _CSI_PARAMETERS
        + _C0
        + rb"]{0,16}+(?:[@-~]|["
        + _ABORT
        + rb"])"
        # A string's body stops at the next start of its own kind (an ESC, a backslash or
        # caret, an 8-bit OSC's last byte), so the searches from starts never overlap: a
        # line of `\e]a\e]a…` is read once, not once per start.
        + rb"|\x1b[\]PX^_][^\x07\x1b\n]"
        + body
        + end
        + rb"|(?:"
        + _SPELLED
        + rb")[\]PX^_][^\x07\x1b\n\\^]"
        + body
        + end
        + rb"|"
        + osc
        + rb"[^\x07\x1b\n"
        + osc_last
        + rb"]"
        + body
        + end
        + rb"|"
        + _ESC
        + rb"(?:[ -/]{1,2}[0-~]|[0-Z\\^-~])"
        # ESC ESC: the second starts the sequence again (the first shows nothing).
        + rb"|\x1b(?=\x1b)"
        # ESC-less SGR and erase-in-line: read only inside a token (hits)
        + rb"|\[[0-9;]{0,%d}[mK])" % _CSI_PARAMETERS
    )


# 8-bit OSC U+009D, DCS U+0090, SOS U+0098, PM U+009E, APC U+009F.
_SEQUENCE = _sequence(
    (rb"\xc2\x9b", rb"\xc2[\x90\x98\x9d-\x9f]", rb"\x90\x98\x9d-\x9f", rb"\xc2\x9c")
)
# The same sequences in text (redaction's reading of names and messages).
SEQUENCE_TEXT = _sequence(
    (rb"\x9b", rb"[\x90\x98\x9d-\x9f]", rb"\x90\x98\x9d-\x9f", rb"\x9c")
).decode("ascii")
_SEQ = lazy(_SEQUENCE)
# An `sk-` token with sequences anywhere in it, also between `s` and `k` and between `sk`
# and `-`. Key characters and sequences start with different bytes, so the alternation
# never backtracks.
# (At most 8 sequences between `s` and `k` and between `k` and `-`: a sequence may end in
# `s`, and a line of `s%1B%5B1s%1B%5B1…` was read to its end from each `s`.)
_CUT_TOKEN = lazy_re(
    rb"s(?:"
    + _SEQUENCE
    + rb"){0,8}k(?:"
    + _SEQUENCE
    + rb"){0,8}-(?:[A-Za-z0-9_-]+|"
    + _SEQUENCE
    + rb")*"
)
# The shortest token worth a window: `sk-` and 20 characters (no key is shorter).
_SHORTEST = 23

# ESC spelled, then `[`: the start of a CSI sequence written in a string literal.
_ESC_SPELLED = lazy(rb"(?:" + _SPELLED + rb")\[")
# The `[` of an escaped ESC spelling, found from a literal `[` (the engine skips to each at
# memory speed; the lookbehind is asked at a `[` only), then read whole by _ESC_SPELLED: a
# search from every backslash of a JSON file took 40 ns a byte, a few `bytes.find`s of
# literals 2 us on a 2.5 KiB blob (a history has many).
_SPELLED_END = lazy_re(rb"\[(?<=(?:\\[eE]|33|27|1[bB]|[bB]\}|\^\[|[bB7];)\[)")
# CSI starts with no `[`: `%1B%5B`, a spelled 8-bit CSI `\x9b`, `\u009b` (two searches,
# each from a literal: one alternation of both was tried at every byte).
_PERCENT_CSI = lazy_re(rb"%1[bB]%5[bB]")
_SPELLED_C1_CSI = lazy_re(rb"\\(?:x|u00)9[bB]")
# An ESC-less SGR or erase-in-line before a key's character (a browser's copy of a coloured
# log: `sk-kimi-[0m…`, `[32msk-…`), from a literal `[`: with a parameter, or a pair
# (`[m[K`); a lone `[m` or `[K` before letters is code (`seq[mid]`, `Dict[KT]`).
_BARE_GLUED = lazy_re(rb"\[(?:[0-9;]{1,256}[mK]|[mK](?=\[))(?=[A-Za-z0-9_\[-])")


def may_hold(data: bytes) -> bool:
    """Does `data` hold the start of a terminal sequence: ESC, an 8-bit CSI or OSC, an
    escaped ESC before `[`, or an ESC-less SGR glued to letters?"""
    if b"\x1b" in data:
        return True
    # (One byte first: a search for two bytes is several times slower than memchr.)
    if (b"\x9b" in data and b"\xc2\x9b" in data) or (b"\x9d" in data and b"\xc2\x9d" in data):
        return True
    # (The 8-bit DCS, SOS, PM, APC end only with ST.)
    if b"\x9c" in data and b"\xc2\x9c" in data:
        return True
    match = _SPELLED_END.search(data)
    while match is not None:
        at = match.start()
        if _ESC_SPELLED.search(data, max(0, at - 12), at + 1) is not None:
            return True
        match = _SPELLED_END.search(data, at + 1)
    return (
        _BARE_GLUED.search(data) is not None
        or _PERCENT_CSI.search(data) is not None
        or _SPELLED_C1_CSI.search(data) is not None
    )


# `s` or `sk` then a sequence: the keys terminal sequences cut that hold no `sk-` as written
# (grep's coloured match of `API_KEY=sk`, or of one that starts at `k`).
_S_THEN_SEQUENCE = lazy_re(rb"sk?(?=" + _SEQUENCE + rb")")


def cuts_sk(data: bytes) -> bool:
    """Does a terminal sequence follow an `s` or `sk` (`sk` ESC[m `-kimi-…`)? The gates that
    skip content without `sk-` ask this (a key with a plain `sk-` passes them anyway).
    Searched only where may_hold says a sequence may be: a search from every `s` costs."""
    return may_hold(data) and _S_THEN_SEQUENCE.search(data) is not None


def hits(data: bytes) -> list[int]:
    """Where an `sk-` token that terminal sequences cut starts: `s`, (sequences,) `k`,
    (sequences,) `-`, then key characters and sequences, holding at least one sequence and,
    without them, long enough to be a key. Colour around a whole key is read by
    tokens.SK_TOKEN's left guard and starts nothing here. One pass from each literal `s`,
    only in content that may hold a sequence: a coloured CI log full of `task`, `disk`,
    `risk` (every sequence between two letters checked against the text before it opened a
    window each, and 3 MiB of such a log ran out of windows)."""
    if not may_hold(data):
        return []
    out: list[int] = []
    for match in _CUT_TOKEN.finditer(data):
        token = match.group()
        if len(token) < _SHORTEST:
            continue
        plain = _SEQ.sub(b"", token)
        if len(plain) != len(token):
            if len(plain) >= _SHORTEST:
                out.append(match.start())
        elif _after_sequence(data, match.start()):
            out.append(match.start())
    return out


# The longest sequence that ends in a letter or digit (a CSI; a string sequence ends in BEL
# or ST, which no guard stops).
_LONGEST_SEQUENCE = _CSI_PARAMETERS + 32
# What can stand before a sequence's final byte: a parameter, intermediate or C0 byte, `[`,
# an 8-bit CSI, ESC, and the last character of each ESC spelling (`\e`, `\E`, `\033`,
# `\x1b`, `\x{1b}`, `^[`).
_BEFORE_FINAL = frozenset(range(0x00, 0x40)) | frozenset(b"[\x9b\x1beEbB}")
# Where a sequence that ends at a given place may start: up to this many bytes before it
# (an ESC spelling, intermediates, a final), or before its last `[` or 8-bit CSI.
_SPELLING = 14


def _after_sequence(data: bytes, at: int) -> bool:
    """Is the whole token at `at` right after a sequence that ends in a letter or digit
    (`ESC[K`, `ESC(B`, `ESC7`, ESC-less `[32m`)? SK_TOKEN's left guard reads only a raw or
    escaped SGR's `m` so, and an Open Platform key after any other stood glued to a word.
    A few anchored matches: a coloured log full of `task-<id>` tokens asks at each."""
    if at < 2 or not data[at - 1 : at].isalnum() or data[at - 2] not in _BEFORE_FINAL:
        return False
    lo = max(0, at - _LONGEST_SEQUENCE)
    starts = set(range(max(lo, at - _SPELLING), at - 1))
    for introducer in (b"[", b"\x9b"):
        found = data.rfind(introducer, lo, at - 1)
        if found >= 0:
            starts.update(range(max(lo, found - _SPELLING), found + 1))
    return any(_SEQ.fullmatch(data, start, at) is not None for start in starts)


# The most a token's sequences and characters are read for: past it the content is said
# not scanned whole (decoders.WindowLimit: the gate exits 2), never passed.
TOKEN_LIMIT = 64 * 1024


class SequenceLimit(decoders.WindowLimit):
    """An `sk` token cut by terminal sequences runs past TOKEN_LIMIT bytes."""

    def __init__(self, at: int) -> None:
        Exception.__init__(
            self, f"an sk- token at byte {at} holds over {TOKEN_LIMIT} bytes of terminal sequences"
        )
        self.opened = 0


def window(data: bytes, pos: int) -> decoders.Decoded:
    """The line around `pos` with every terminal sequence dropped, each byte's origin kept.
    It reaches past the token's end (its sequences however many, each within its bound) as
    far as a plain window past its `s`: a window of 4 KiB around the `s` ended inside a key
    cut by 2 KiB of sequences (review h13b #1)."""
    lo, hi = decoders._window_bounds(data, pos, b"\n")
    line_end = data.find(b"\n", pos)
    if line_end < 0:
        line_end = len(data)
    bound = min(line_end, pos + TOKEN_LIMIT)
    token = _CUT_TOKEN.match(data, pos, bound)
    if token is not None:
        # (A sequence cut by the bound does not match: the token stops short of it.)
        if bound < line_end and token.end() > bound - _STRING_BODY - 16:
            raise SequenceLimit(pos)
        hi = max(hi, min(line_end, token.end() + decoders.WINDOW // 2))
    return decoders._rewrite(data, lo, hi, _SEQ, "terminal-escape", _drop)


def _drop(sequence: bytes) -> bytes:
    return b""
