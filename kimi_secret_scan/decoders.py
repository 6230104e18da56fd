"""Decode text that may hide a key, keeping where each decoded byte came from.

Every decoder returns `Decoded` windows: the decoded bytes plus, for each of them, the offset
of the encoded text it came from, so a key found inside is reported where its encoded form
is. Decoders only ever look at small windows around a trigger that the caller found with
cheap `bytes.find` calls; nothing here walks a whole file byte by byte.
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kimi_secret_scan import record
from kimi_secret_scan.lazy_regex import lazy, lazy_re

if TYPE_CHECKING:
    import regex  # only annotations here: importing it costs a hook run ~5 ms

# Bounds that keep one decode cheap whatever the input: the size of a window, and how many
# windows one piece of content may open (a megabyte of triggers must not mean a million).
WINDOW = 4096
MAX_WINDOWS = 512


def window_budget(size: int) -> int:
    """How many windows content of `size` bytes may open: MAX_WINDOWS, or one per 32 bytes
    for larger content (a Kubernetes Secret with thousands of values), so the cost stays
    linear in the content and no value is left undecoded for being late in a long file."""
    return max(MAX_WINDOWS, size // 32)


class WindowLimit(Exception):
    """The content holds more encoded text to open than its window budget allows: the
    caller must report it as not scanned whole, never as clean."""

    def __init__(self, opened: int) -> None:
        super().__init__(f"more than {opened} encoded values to decode")
        self.opened = opened


_B64_CHARS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_")
# Line widths that base64 tools wrap at (PEM 64, MIME and coreutils `base64` 76).
_WRAP_WIDTHS = (64, 76)


@record.frozen
@dataclass(init=False, repr=False, eq=False)
class Decoded:
    """Bytes decoded from an encoded window, with where each came from."""

    data: bytes
    # positions[i]: offset in the encoded text of decoded byte i; positions[len(data)] is the
    # end of the window.
    positions: list[int]
    encoding: str

    def __init__(self, data: bytes, positions: list[int], encoding: str) -> None:
        record.assign(self, data=data, positions=positions, encoding=encoding)


def _fixed_chars(plain: bytes) -> list[tuple[bytes, int, int]]:
    """The base64 characters fully determined by `plain` at each of the three alignments.

    Returns (needle, index of the needle in its 4-character group run, offset of `plain` in
    the decoded group) so a needle found at p means the group run starts at p - index.
    """
    out = []
    for align in range(3):
        tail = 3 + (-(align + len(plain)) % 3)
        low = base64.b64encode(b"\x00" * align + plain + b"\x00" * tail)
        high = base64.b64encode(b"\xff" * align + plain + b"\xff" * tail)
        first = next(i for i in range(len(low)) if low[i] == high[i])
        last = first
        while last + 1 < len(low) and low[last + 1] == high[last + 1]:
            last += 1
        out.append((bytes(low[first : last + 1]), first, align))
    return out


def _sk_triggers() -> list[tuple[bytes, int, int]]:
    out: list[tuple[bytes, int, int]] = []
    for third in b"-%\\`&":
        out.extend(t for t in _fixed_chars(b"sk" + bytes([third])) if t not in out)
    return out


# "sk-" base64-encoded: c2st at alignment 0, NrL at 1, zay at 2; and `sk` followed by the
# first character of an escaped hyphen (HYPHEN_*: `%`, `\`, `` ` ``, `&`), so base64 of
# `sk\u002dkimi-…` or `sk&#45;…` is opened as base64 of `sk-…` is (c2sl, c2tc, NrX, za1…).
SK_TRIGGERS = _sk_triggers()
# A base64 run that holds a JSON object ({"…) is opened whole: Docker and Kubernetes wrap
# credentials (which may themselves be base64) in such objects.
JSON_TRIGGER = b"eyJ"

# Long plaintexts that name Kimi or Moonshot: program source, where base64 is not searched
# (three times the cost over a history), has its base64 searched as a configuration file's
# is when it holds the base64 of one of them (a .env encoded into a .py, review 12 #5).
# (`api.moonshot.` for both endpoints: its needles are as long as theirs.)
_NAMED_PLAINTEXTS = (
    b"sk-kimi-",
    b"KIMI_API_KEY",
    b"MOONSHOT_API_KEY",
    b"api.moonshot.",
    b"api.kimi.com",
)
_URL_SAFE = bytes.maketrans(b"+/", b"-_")


@functools.cache
def named_triggers() -> tuple[bytes, ...]:
    """The characters each of _NAMED_PLAINTEXTS fixes whole at each alignment (10 to 21 of
    them), in the standard and the URL-safe alphabet. A wrap inside one (a line break, the
    join of two string pieces) hides it: `KIMI_API_KEY=sk-kimi-` spells two within 30
    characters, and a wrap at 64 or 76 columns cuts at most one."""
    out: list[bytes] = []
    for plain in _NAMED_PLAINTEXTS:
        for needle, _, _ in _fixed_chars(plain):
            assert len(needle) >= 8
            for spelling in (needle, needle.translate(_URL_SAFE)):
                if spelling not in out:
                    out.append(spelling)
    return tuple(out)


# Letters and digits from the rarest in program source on (counted over 8 MiB each of
# Python, C headers and JavaScript): each named trigger is found from its rarest character
# with `find` of one byte (memchr), not with a `find` of its own (~0.3 ms a megabyte each,
# 13 ms over 4 MiB of Python for all of them: more than detect()'s whole pass there).
_RARE_FIRST = b"JQZXY798K6V5W43GHBqUzjM2"


@functools.cache
def _named_plan() -> tuple[tuple[bytes, tuple[tuple[bytes, int], ...]], ...]:
    """(a character, ((named trigger, where the character is in it), ...)) for each
    character some named trigger is found from: its first in _RARE_FIRST."""
    groups: dict[bytes, list[tuple[bytes, int]]] = {}
    for needle in named_triggers():
        anchor = next((bytes([c]) for c in _RARE_FIRST if c in needle), needle[:1])
        groups.setdefault(anchor, []).append((needle, needle.index(anchor)))
    return tuple((anchor, tuple(group)) for anchor, group in groups.items())


def holds_named_base64(data: bytes) -> bool:
    """Does `data` hold one of named_triggers()? (Hyperscan's mark of the same needles,
    detect/marks.py NAMED_BASE64, answers it in the history audit.)"""
    for anchor, group in _named_plan():
        # Past one occurrence a KiB the loop costs more than each needle's own `find`.
        budget = 16 + (len(data) >> 10)
        pos = data.find(anchor)
        while pos >= 0:
            for needle, at in group:
                if pos >= at and data.startswith(needle, pos - at):
                    return True
            budget -= 1
            if not budget:
                # (Each needle not found yet has its character past `pos`.)
                if any(data.find(needle, max(0, pos - at)) >= 0 for needle, at in group):
                    return True
                break
            pos = data.find(anchor, pos + 1)
    return False


def _is_b64(byte: int) -> bool:
    return byte in _B64_CHARS


_B64_SEGMENT = lazy(rb"[A-Za-z0-9+/_-]+")
# Base64 lines kept as string pieces in source code: a piece's closing quote, blanks and
# line breaks, an optional concatenation operator (`+`: JavaScript, Java, C#, Go; `..`:
# Lua; `.`: PHP, Perl; `&`, `& _`: Visual Basic; `\`: a Python line continuation) and more
# blanks, then the next piece's opening quote with an optional prefix (Python b r f u, C#
# @ $, C L):
# `"<64 characters>\n"` ⏎ `"<64 characters>\n"` (implicit concatenation), or pieces cut
# at the width with no escape. Each blank run is taken once (the second only after an
# operator): a failed match costs the length of its run, never its square.
_QUOTES = (b'"', b"'", b"\x60")
_STRING_JOIN_REST = (
    rb"[ \t\r\n]*(?:(?:\+|\.\.?|&(?:[ \t]+_)?|\\)[ \t\r\n]*)?[bBrRfFuUL@$]{0,2}[\"'\x60]"
)
_STRING_JOIN = rb"[\"'\x60]" + _STRING_JOIN_REST
# A line break between base64 lines: real (LF, CRLF, an indented block), written as a JSON
# or string-literal escape (`\n`, `\r\n`: `json.dumps(base64.encodebytes(...))`), a
# shell continuation (` \` then the break), or the join of two string pieces, after such
# an escape or not (_STRING_JOIN).
_WRAP = lazy(
    rb"(?:(?:(?:\\r)?\\n)?"
    + _STRING_JOIN
    + rb"|(?:\\r)?\\n|[ \t]*\\?\r?\n[ \t]*)(?=[A-Za-z0-9+/_-])"
)


def _collect_forward(data: bytes, start: int, limit: int) -> tuple[bytearray, list[int]]:
    """Base64 characters from `start` on, across wrapped lines, with their offsets."""
    chars = bytearray()
    where: list[int] = []
    pos = start
    while len(chars) < limit:
        segment = _B64_SEGMENT.match(data, pos, min(len(data), pos + limit - len(chars)))
        if segment is None:
            break
        chars += segment.group()
        where.extend(range(segment.start(), segment.end()))
        pos = segment.end()
        # Continue on the next line only after a line of a standard wrapping width (the
        # window may start inside the first line's run: measure that run whole).
        run_start = segment.start()
        while (
            run_start > 0
            and segment.start() == start  # only the window's first line
            and segment.start() - run_start < 80
            and _is_b64(data[run_start - 1])
            and data[run_start - 2 : run_start] not in _ESCAPED_BREAKS  # `\n` ends a line
        ):
            run_start -= 1
        if segment.end() - run_start not in _WRAP_WIDTHS:
            break
        wrap = _WRAP.match(data, pos)
        if wrap is None:
            break
        pos = wrap.end()
    return chars, where


def _decode_b64(chars: bytearray, where: list[int], label: str) -> Decoded | None:
    usable = len(chars) - (1 if len(chars) % 4 == 1 else 0)
    if usable < 8:
        return None
    text = bytes(chars[:usable]).replace(b"-", b"+").replace(b"_", b"/")
    text += b"=" * (-usable % 4)
    try:
        decoded = binascii.a2b_base64(text)
    except binascii.Error:
        return None
    # Decoded byte i starts in character 4 * (i // 3) + i % 3 of the run.
    positions = [where[4 * (i // 3) + i % 3] for i in range(len(decoded))]
    positions.append(where[usable - 1] + 1)
    return Decoded(decoded, positions, label)


# Each alignment's triggers are searched together, from their second letter on at alignment
# 0 (the `c` is looked behind for): `re` finds a pattern's literal start by scanning for its
# first letter, and "c" is far more common in text than "2" ("eyJ": "e" against "J"). Each
# search finds exactly its needles' occurrences (none overlaps itself or another of its
# alignment), each reported at the needle's start; every needle of an alignment has the
# same length and index in its group.
_TRIGGER_SKIP = {0: 1, 1: 0, 2: 0}


@functools.cache
def _trigger_searches() -> tuple[tuple[int, Callable[..., re.Match[bytes] | None]], ...]:
    """(how far the group starts before a match, search) for each alignment."""
    out = []
    for align in range(3):
        needles = [(n, i) for n, i, a in SK_TRIGGERS if a == align]
        size, index = len(needles[0][0]), needles[0][1]
        assert all(len(n) == size and i == index for n, i in needles)
        skip = _TRIGGER_SKIP[align]
        pattern = b"(?:" + b"|".join(re.escape(n[skip:]) for n, _ in needles) + b")"
        if skip:
            heads = {n[:skip] for n, _ in needles}
            assert len(heads) == 1
            pattern += b"(?<=" + re.escape(heads.pop()) + b"." * (size - skip) + b")"
        out.append((index + skip, re.compile(pattern, re.DOTALL).search))
    return tuple(out)


@functools.cache
def _json_search() -> Callable[..., re.Match[bytes] | None]:
    return re.compile(b"J(?<=" + JSON_TRIGGER + b")").search


# A line break of wrapped base64 (`base64` wraps at 76 columns, PEM and `openssl` at 64, a
# YAML block scalar indents): _collect_forward reads across it, so a window does too.
# (And string pieces joined across a break, _STRING_JOIN: Hyperscan's mark of these
# triggers, detect/marks.py, must hold every break base64_starts reads.)
WRAP = rb"(?:[ \t]*\\?\r?\n[ \t]*|(?:(?:\\r)?\\n)?" + _STRING_JOIN + rb"|(?:\\r)?\\n)"
_ESCAPED_BREAKS = (b"\\n", b"\\r")


def _wrapped_triggers() -> list[tuple[bytes, int, int]]:
    """(pattern, its needle's index in its group, alignment) of each trigger cut by a line
    break after its first, second or third character: wrapped base64 of a key puts the
    break inside `sk-`'s characters at about one line in twenty-five (3 or 4 characters of
    76), where the needles, searched as they are, were not found (review of 2026-12-02)."""
    out = []
    for needle, index, align in SK_TRIGGERS:
        for cut in range(1, len(needle)):
            head, tail = re.escape(needle[:cut]), re.escape(needle[cut:])
            out.append((head + WRAP + tail, index, align))
    return out


WRAPPED_TRIGGERS = _wrapped_triggers()


@functools.cache
def _wrapped_search() -> tuple[
    Callable[..., re.Match[bytes] | None], dict[bytes, list[tuple[bytes, int, int]]]
]:
    """A search for a line break before the tail of a cut trigger, and for each tail the
    (head, needle's index in its group, alignment) of the cuts it ends. The search starts
    with the line break, a literal `re` scans for: one alternation of every cut trigger
    (`c\r?\n[ \t]*2st|…`) was tried at every byte, ~1.7 us a byte, and 4 MiB of wrapped
    base64 naming Kimi took 7 s (bench/memory.py's 500 MiB blob, minutes)."""
    tails: dict[bytes, list[tuple[bytes, int, int]]] = {}
    for needle, index, align in SK_TRIGGERS:
        for cut in range(1, len(needle)):
            tails.setdefault(needle[cut:], []).append((needle[:cut], index, align))
    ahead = b"|".join(re.escape(tail) for tail in sorted(tails, key=len, reverse=True))
    return re.compile(rb"\n[ \t]*(?=" + ahead + b")").search, tails


@functools.cache
def _escaped_wrap_search() -> Callable[..., re.Match[bytes] | None]:
    """_wrapped_search's line break written as an escape, `\\n` (a literal start)."""
    _, tails = _wrapped_search()
    ahead = b"|".join(re.escape(tail) for tail in sorted(tails, key=len, reverse=True))
    return re.compile(rb"\\n(?=" + ahead + b")").search


@functools.cache
def _string_join_searches() -> tuple[tuple[bytes, Callable[..., re.Match[bytes] | None]], ...]:
    """_wrapped_search's line break as the join of two string pieces (_STRING_JOIN), from
    the first piece's closing quote to the tail of a cut trigger: (quote, search) for each
    kind of closing quote, a literal start `re` scans for as it scans for the `\\n` of
    _escaped_wrap_search (one search starting with the class of all three took twice as
    long: 20 ms against 11 over 4 MiB of Python, a class member test at every byte)."""
    _, tails = _wrapped_search()
    ahead = b"|".join(re.escape(tail) for tail in sorted(tails, key=len, reverse=True))
    return tuple(
        (quote, re.compile(re.escape(quote) + _STRING_JOIN_REST + b"(?=" + ahead + b")").search)
        for quote in _QUOTES
    )


def _cut_starts(
    data: bytes,
    end: int,
    tail_at: int,
    tails: dict[bytes, list[tuple[bytes, int, int]]],
    starts: list[int],
) -> None:
    """Add the group of each trigger a line break cuts: its head ends at `end`, its tail
    starts at `tail_at`."""
    for tail, cuts in tails.items():
        if data.startswith(tail, tail_at):
            for head, index, align in cuts:
                if data.endswith(head, 0, end):
                    group = end - len(head) - index
                    if _spells_sk(data, group, align):
                        starts.append(group)


def base64_starts(data: bytes, deep: bool, broad: bool, wrapped: bool = True) -> list[int]:
    """Where base64 groups that may hold a key start: cheap finds only, usually none.

    Only content the caller chose (`broad`: configuration files, or content naming Kimi or
    Moonshot) is searched, for the three spellings of `sk-` at any alignment and for base64
    JSON objects (Docker credentials, whose `auth` is base64 inside base64): each short
    needle is a full pass over the content. Inside already-decoded text (`deep`), which is
    small, every base64 run long enough to hold a key is tried too. `wrapped`: whether the
    triggers a line break cuts are searched too (one more pass: False only when the
    caller knows there are none, from detect/marks.py).
    """
    starts: list[int] = []
    if not (deep or broad):
        return starts
    # (A cut trigger is read only after a line of a wrapping width, _WRAP_WIDTHS, and a
    # window needs 16 characters: shorter content, most commit messages, holds none.)
    if wrapped and len(data) > _WRAP_WIDTHS[0] + 16:
        search, tails = _wrapped_search()
        match = search(data) if b"\n" in data else None
        while match is not None:
            # The head ends before the break's `\r`, if any (and a shell continuation's
            # ` \`); the tail starts after the blanks.
            end = match.start() - (match.start() > 0 and data[match.start() - 1] == 13)
            if end > 0 and data[end - 1] == 92:
                end -= 1
                while end > 0 and data[end - 1] in b" \t":
                    end -= 1
            _cut_starts(data, end, match.end(), tails, starts)
            match = search(data, match.end())
        if b"\\n" in data:
            # Breaks written as escapes (`\n`, `\r\n`: base64 wrapped in a JSON string).
            search = _escaped_wrap_search()
            match = search(data)
            while match is not None:
                end = match.start() - 2 * (data[match.start() - 2 : match.start()] == b"\\r")
                _cut_starts(data, end, match.end(), tails, starts)
                match = search(data, match.end())
        # Breaks as the join of two string pieces (`"…\n"` ⏎ `"…"`, `"…" +` ⏎ `"…"`): the
        # head ends before the first piece's closing quote and its `\n` / `\r\n`, if any.
        for quote, search in _string_join_searches():
            match = search(data) if quote in data else None
            while match is not None:
                end = match.start()
                if data.endswith(b"\\n", 0, end):
                    end -= 2
                    if data.endswith(b"\\r", 0, end):
                        end -= 2
                _cut_starts(data, end, match.end(), tails, starts)
                match = search(data, match.end())
    for align, (back, search) in enumerate(_trigger_searches()):
        # `search` finds the needles from their rarest letter on (see _trigger_searches).
        match = search(data)
        while match is not None:
            if _spells_sk(data, match.start() - back, align):
                starts.append(match.start() - back)
            match = search(data, match.end())
    search = _json_search()
    match = search(data)
    while match is not None:
        pos = match.start() - 2  # the match is the J of eyJ
        if pos == 0 or not _is_b64(data[pos - 1]):
            starts.append(pos)
        match = search(data, match.end())
    if deep:
        starts.extend(match.start() for match in _B64_RUN.finditer(data))
    return starts


# What may follow `sk` where a trigger was found: `-`, or the first character of an escaped one.
_AFTER_SK = frozenset(b"-%\\`&")


def _spells_sk(data: bytes, group: int, align: int) -> bool:
    """Do the base64 groups at `group` decode to `sk` and a hyphen (or an escape's first
    character) at `align`, as the window opened there would decode them? A needle holds only
    the characters `sk-` fixes whole; at alignments 1 and 2 its neighbours hold the rest of
    those bits, so in other base64 (images in a notebook or a JSON log) a 3-letter needle
    comes every 260,000 characters, and each opened a window of 4,096 characters for
    nothing (8 of them in one 3 MB log of MoonshotAI/kimi-cli: 8 ms of its 11)."""
    if group < 0:
        return False
    chars, _ = _collect_forward(data, group, 8)
    if len(chars) < 8:
        return False  # no whole key follows
    try:
        decoded = binascii.a2b_base64(bytes(chars).replace(b"-", b"+").replace(b"_", b"/"))
    except binascii.Error:
        return False
    return decoded[align : align + 2] == b"sk" and decoded[align + 2] in _AFTER_SK


# Characters of base64 that hold a whole key after a trigger group (sk-kimi- + 64 is 72
# bytes, 96 characters), with room for the group's own alignment.
_KEY_CHARS = 104


def base64_windows(data: bytes, starts: list[int]) -> Iterator[Decoded]:
    """Decode the base64 around each start that `base64_starts` found.

    Raises WindowLimit when more windows are needed than `window_budget` allows.
    A later start is skipped only when an earlier window actually decoded it, as a group
    (at a character index that is a multiple of 4 in that window's run) with a whole key's
    worth of characters after it, or the run's end: a window stops at the end of its own
    line, so a trigger on the next line (the next value of a Kubernetes Secret) is opened
    on its own whatever its distance or alignment.
    """
    covered: set[int] = set()
    count = 0
    budget = window_budget(len(data))
    for group in sorted(set(starts)):
        if group < 0 or group in covered:
            continue
        if count >= budget:
            raise WindowLimit(count)
        # Back up whole groups, so the context before the key is decoded too.
        first = group
        while (
            first - 4 >= 0
            and group - first < WINDOW // 4
            and all(_is_b64(b) for b in data[first - 4 : first])
        ):
            first -= 4
        chars, where = _collect_forward(data, first, WINDOW)
        if len(chars) < 16:
            continue
        count += 1
        window = _decode_b64(chars, where, "base64")
        if window is None:
            continue
        # Only what was decoded covers later starts; when the run ended before the window's
        # limit every group in it was decoded whole, else a key's worth before the end.
        last = len(chars) if len(chars) < WINDOW else len(chars) - _KEY_CHARS
        covered.update(where[i] for i in range(0, max(0, last), 4))
        yield window


_B64_RUN = lazy(rb"(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/_-]{64,}")

# The spellings of `-` that a program reads as one, written in lower case (every pattern
# built from them ignores case; each is a superset of what its decoder then reads):
# percent (`%2d`; `%252d` and deeper, any `%25`; JavaScript's unescape `%u002d`), escapes
# after a backslash (JSON / JavaScript / Java `\u002d`, `\uu002d`; Python / C
# `\U0000002d`, `\x2d`, C's `\x002d`, octal `\55` `\055`; ES6 / Rust / Swift / PHP
# `\u{2d}`; Perl `\x{2d}`, `\o{55}`, `\N{U+2D}`; Python / Perl `\N{HYPHEN-MINUS}`; CSS
# `\2d `; shell and regex `\-`) or a PowerShell backtick (`` `- ``, `` `u{2d} ``), and
# numeric character references (`&#45;`, `&#X2D;`, any leading zeros, no `;`). Not here:
# `&hyphen;` and `&dash;` (U+2010 in HTML5), `&minus;` (U+2212), which no decoder makes a
# key of; and spellings escaped twice (`\\u002d`, `&amp;#45;`): each of their windows
# holds hundreds more to open (a line of them took minutes). Redaction hides all of those.
HYPHEN_PERCENT = rb"%(?:2d|25|u002d)"
HYPHEN_ESCAPE = (
    rb"(?:\\|\x60)(?:-|u+\{?[0_]*2_*d|x\{?[ \t]*0*2d|0*2d|0?55|o\{0*55"
    rb"|n\{(?:hyphen-minus|u\+0*2d)\})"
)
HYPHEN_ENTITY = rb"&#(?:x0*2d|0*45)"


def any_case(pattern: bytes) -> bytes:
    """`pattern` (of the lower-case spellings above) matching in any case, each letter as a
    class: searching with `(?i:…)` made SK_ANY's pass over every blob ~8 % slower."""
    out = bytearray()
    i = 0
    while i < len(pattern):
        char = pattern[i : i + 1]
        if char == b"\\":
            step = 4 if pattern[i + 1 : i + 2] == b"x" else 2
            out += pattern[i : i + step]
            i += step
            continue
        out += b"[" + char + char.upper() + b"]" if char.isalpha() else char
        i += 1
    return bytes(out)


HYPHEN_ANY_CASE = any_case(HYPHEN_PERCENT + b"|" + HYPHEN_ESCAPE)
# Escaped forms of the `-` after `sk` (or after `sk-kimi`), in URLs and string literals.
SK_ESCAPED = lazy_re(rb"sk(?:-kimi)?(?:" + HYPHEN_ANY_CASE + rb")")
# The whole `sk-` escaped, found only inside already-decoded text (rare, and costly to look
# for in every file).
SK_FULLY_ESCAPED = lazy(
    rb"%73%6[bB]|\\u0073\\u006[bB]|\\x73\\x6[bB]|&#(?:115|x73);&#(?:107|x6[bB]);"
)


def _window_bounds(data: bytes, pos: int, stop: bytes) -> tuple[int, int]:
    lo = max(0, pos - WINDOW // 2)
    hi = min(len(data), pos + WINDOW // 2)
    for byte in stop:
        cut = data.rfind(bytes([byte]), lo, pos)
        if cut >= 0:
            lo = max(lo, cut + 1)
        cut = data.find(bytes([byte]), pos, hi)
        if cut >= 0:
            hi = min(hi, cut)
    return lo, hi


_PERCENT = lazy(rb"%(?:u[0-9A-Fa-f]{4}|[0-9A-Fa-f]{2})")
# String-literal escapes of the languages above (HYPHEN_ESCAPE); where two read one text
# differently, the reading that can make a key: C's `\x002d` (leading zeros, then no hex
# digit) and CSS's `\2d ` (before octal `\2` and `d`).
_ESCAPE = lazy(
    rb"\\(?:u+[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|u\{[0_]*[0-9A-Fa-f_]{1,8}\}"
    rb"|x\{[ \t]*0*[0-9A-Fa-f]{1,8}[ \t]*\}|x0+[0-9A-Fa-f]{2}(?![0-9A-Fa-f])|x[0-9A-Fa-f]{2}"
    rb"|o\{0*[0-7]{1,8}\}|N\{[A-Za-z0-9 +-]{1,60}\}|0{0,4}2[dD](?:\r\n|[ \t\r\n\f])?"
    rb"|[0-7]{1,3}|[nrt\"'\\/\x60-])"
    rb"|\x60(?:u\{0*[0-9A-Fa-f]{1,6}\}|-)"
)
# (`\u{0000000041}` is `A` to JavaScript: leading zeros of any count, before the digits a
# code needs; review h10c found 8 passed, and a file name spelling a key so went unhidden.)


def _rewrite(
    data: bytes,
    lo: int,
    hi: int,
    pattern: regex.Pattern[bytes],
    encoding: str,
    replace: Callable[[bytes], bytes | None],
) -> Decoded:
    """Copy data[lo:hi] with each match of `pattern` replaced, keeping every byte's origin.

    Text between matches is copied in bulk, so the cost is per escape, not per byte.
    """
    out = bytearray()
    positions: list[int] = []
    pos = lo
    for match in pattern.finditer(data, lo, hi):
        text = replace(match.group())
        if text is None:
            continue
        out += data[pos : match.start()]
        positions.extend(range(pos, match.start()))
        out += text
        positions.extend([match.start()] * len(text))
        pos = match.end()
    out += data[pos:hi]
    positions.extend(range(pos, hi))
    positions.append(hi)
    return Decoded(bytes(out), positions, encoding)


def _rewrite_reaching(
    data: bytes,
    pos: int,
    pattern: regex.Pattern[bytes],
    head: bytes,
    encoding: str,
    replace: Callable[[bytes], bytes | None],
) -> Decoded:
    """_rewrite of the line around `pos`, whose end is WINDOW // 2 *decoded* bytes after
    `pos` (or the line's end): escapes padded with leading zeros (`&#000…0107;`, any count,
    as a browser reads them) reach as far as plain ones; a window of WINDOW bytes held no
    key written that way with 60 zeros (review h10c). `head`: the bytes an escape of
    `pattern` starts with. Each step searches only as far as the decoded budget left could
    reach, so the cost stays the bytes the window reads."""
    lo, _ = _window_bounds(data, pos, b"\n")
    before = _rewrite(data, lo, pos, pattern, encoding, replace)
    out = bytearray(before.data)
    positions = before.positions[:-1]
    left = WINDOW // 2
    cur = pos
    heads = b"[" + b"".join(re.escape(bytes([c])) for c in head) + b"]"
    find = _heads(heads)
    while left > 0:
        reach = min(len(data), cur + left)
        start = find(data, cur, reach)
        stop = start.start() if start is not None else reach
        line = data.find(b"\n", cur, stop)
        if line >= 0:
            stop, start = line, None
        out += data[cur:stop]
        positions.extend(range(cur, stop))
        left -= stop - cur
        cur = stop
        if start is None:
            break
        match = pattern.match(data, cur)
        if match is not None and b"\n" in match.group():
            # CSS's `\2d` then the line's end: the escape without it, as on one line.
            match = pattern.match(data, cur, cur + match.group().index(b"\n"))
        text = replace(match.group()) if match is not None else None
        if match is None or text is None:
            out += data[cur : cur + 1]
            positions.append(cur)
            left -= 1
            cur += 1
            continue
        out += text
        positions.extend([cur] * len(text))
        left -= len(text)
        cur = match.end()
    positions.append(cur)
    return Decoded(bytes(out), positions, encoding)


@functools.cache
def _heads(pattern: bytes) -> Callable[..., re.Match[bytes] | None]:
    return re.compile(pattern).search


def percent_window(data: bytes, pos: int) -> Decoded:
    """Percent-decode the URL-like run (no spaces, quotes or line breaks) around `pos`."""
    lo, hi = _window_bounds(data, pos, b" \t\r\n\"'<>\x60")
    return _rewrite(data, lo, hi, _PERCENT, "percent", _unpercent)


def _unpercent(escape: bytes) -> bytes:
    if escape[1:2] in (b"u", b"U"):  # JavaScript's unescape: a UTF-16 unit
        return chr(int(escape[2:], 16)).encode("utf-8", "surrogatepass")
    return bytes([int(escape[1:], 16)])


_SIMPLE_ESCAPES = {
    ord("n"): b"\n",
    ord("r"): b"\r",
    ord("t"): b"\t",
    ord('"'): b'"',
    ord("'"): b"'",
    ord("\\"): b"\\",
    ord("/"): b"/",
    ord("-"): b"-",
    ord("`"): b"`",
}


def _unescape(escape: bytes) -> bytes | None:
    """The bytes a backslash escape stands for; None to leave it as written."""
    kind = escape[1]
    if escape[:1] == b"\x60":  # PowerShell: `u{2d}, `-
        return _code(escape[3:-1], 16) if kind == ord("u") else escape[1:]
    if kind in (ord("u"), ord("U"), ord("x"), ord("o")):
        digits = escape[2:].lstrip(b"u").strip(b"{} \t").replace(b"_", b"")
        return _code(digits, 8 if kind == ord("o") else 16)
    if kind == ord("N"):
        return _named(escape[3:-1].decode("ascii"))
    if escape[1:].rstrip(b" \t\r\n\f").lstrip(b"0") in (b"2d", b"2D"):
        return b"-"  # CSS
    if 0x30 <= kind <= 0x37:
        code = int(escape[1:], 8)
        return bytes([code]) if code < 256 else None
    return _SIMPLE_ESCAPES.get(kind)


def _code(digits: bytes, base: int) -> bytes | None:
    """The character of code `digits`; None (left as written) for none (`\\u{_}`) or one
    past Unicode."""
    try:
        code = int(digits, base)
    except ValueError:
        return None
    return chr(code).encode("utf-8", "surrogatepass") if code <= 0x10FFFF else None


def _named(name: str) -> bytes | None:
    """`\\N{…}`: a character's Unicode name (Python, Perl) or Perl's `U+…`."""
    import unicodedata

    if name[:2] in ("U+", "u+"):
        return _code(name[2:].encode(), 16)
    try:
        return unicodedata.lookup(name).encode("utf-8", "surrogatepass")
    except KeyError:
        return None


def escape_window(data: bytes, pos: int) -> Decoded:
    """Undo string-literal escapes (JSON, JavaScript, Python, C) on the line around `pos`."""
    return _rewrite_reaching(data, pos, _ESCAPE, b"\\\x60", "escape", _unescape)


# An escape that stands for a key's body character (a letter or digit), right after a plain
# `sk-` token: a code escape in a string literal (`\u0041`, `\x41`, `\101`, `\u{41}`,
# `\N{…}`, PowerShell `` `u{41} ``), a percent code or a numeric character reference.
# Escapes that stand for no key character (`\n`, `\"`) start no window.
BODY_ESCAPE = lazy(
    rb"(\\(?:u|U[0-9A-Fa-f]|x|[0-7]|[oN]\{)|\x60u\{)|(%(?:[0-9A-Fa-f]{2}|u[0-9A-Fa-f]{4}))|(&#)"
)


def body_escape_window(data: bytes, end: int) -> Callable[[bytes, int], Decoded] | None:
    """The decoder for the escape at `end`, just after a plain `sk-` token cut short by it
    (`sk-kimi-abc\\u0044ef…`: one body character escaped), or None when none starts there.

    The escaped-hyphen triggers (SK_ESCAPED) never see such a key: its `sk-` is plain."""
    match = BODY_ESCAPE.match(data, end)
    if match is None:
        return None
    if match.group(1) is not None:
        return escape_window
    return percent_window if match.group(2) is not None else entity_window


# A browser reads a reference with any leading zeros and without its `;`.
_ENTITY = lazy(rb"&#(?:0*[0-9]{1,7}|[xX]0*[0-9A-Fa-f]{1,6});?")


def _entity(reference: bytes) -> bytes:
    digits = reference[2:].rstrip(b";")
    code = int(digits[1:], 16) if digits[:1] in (b"x", b"X") else int(digits)
    return chr(min(code, 0x10FFFF)).encode("utf-8", "surrogatepass")


def entity_window(data: bytes, pos: int) -> Decoded:
    """Undo numeric HTML / XML character references on the line around `pos`."""
    return _rewrite_reaching(data, pos, _ENTITY, b"&", "html-entity", _entity)


# Byte-order marks, longest first (the UTF-32 LE mark begins with the UTF-16 LE one).
_BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)


def text_encoding(data: bytes) -> str | None:
    """The wide encoding a file is written in (UTF-16 / UTF-32), None for byte encodings.

    A byte-order mark decides; without one, text whose first 2 KiB has a NUL in at least
    half of its odd or even bytes (mostly ASCII characters) and that holds an `sk-` written
    in UTF-16 (PowerShell and some editors write UTF-16 without a mark). A NUL byte is
    looked for first: a single-byte search, and files without one cannot be UTF-16.
    """
    for bom, name in _BOMS:
        if data.startswith(bom):
            return name
    if b"\x00" not in data:
        return None
    # UTF-16 text has a NUL in every other byte from the start; binary files (most content
    # with a NUL) do not, and are spared the two searches below.
    head = data[:2048]
    even, odd = head[0::2].count(0), head[1::2].count(0)
    if max(even, odd) * 4 < len(head):
        return None
    # Which bytes hold the NULs tells the byte order ("s\0" little-endian, "\0s" big):
    # each spelling of `sk-` is found inside the other one shifted by a byte.
    if odd >= even:
        return "utf-16-le" if b"s\x00k\x00-\x00" in data else None
    return "utf-16-be" if b"\x00s\x00k\x00-" in data else None


_WIDE_K = re.compile(rb"k\x00-")
_WIDE_SK = ((b"s\x00k\x00-\x00", "utf-16-le"), (b"\x00s\x00k\x00-", "utf-16-be"))


def wide_regions(data: bytes) -> list[tuple[int, int, str]]:
    """Stretches of UTF-16 text inside content that is not UTF-16 as a whole, each holding
    an `sk-` written in UTF-16: (start, end, encoding), in order, not overlapping.

    PowerShell 5.1's `>>` appends UTF-16 to a UTF-8 file, so a file may start narrow and
    go on wide; text_encoding, which reads the first 2 KiB, calls it narrow. A stretch is
    grown from its `sk-` over every two-byte unit that holds an ASCII character and a NUL
    (in the encoding's order), and a byte-order mark just before it is left out of the text.
    """
    # "k\0-" is in both byte orders' spelling of `sk-`: one search for most content, with
    # `re` (which skips to each "k" with memchr; bytes.find is 3x slower here).
    if _WIDE_K.search(data) is None:
        return []
    regions: list[tuple[int, int, str]] = []
    for needle, encoding in _WIDE_SK:
        at = data.find(needle)
        while at >= 0:
            regions.append(_stretch(data, at, encoding))
            at = data.find(needle, regions[-1][1])
    regions.sort()
    kept: list[tuple[int, int, str]] = []
    for region in regions:
        if not kept or region[0] >= kept[-1][1]:
            kept.append(region)
    return kept


def _stretch(data: bytes, at: int, encoding: str) -> tuple[int, int, str]:
    """The stretch of UTF-16 text around the `sk-` at `at` (where the unit holding "s"
    starts, in either byte order): every unit of an ASCII character before and after it."""
    little = encoding.endswith("le")
    start = at
    while start >= 2 and _ascii_unit(data, start - 2, little):
        start -= 2
    end = at
    while end + 2 <= len(data) and _ascii_unit(data, end, little):
        end += 2
    if data[start - 2 : start] in (b"\xff\xfe", b"\xfe\xff"):
        start -= 2
    return start, end, encoding


# Bytes of ASCII characters in a UTF-16 unit (tab, LF, CR, printable) as 0, others as 1.
_NOT_ASCII = bytes(0 if b in (9, 10, 13) or 32 <= b < 127 else 1 for b in range(256))
_NOT_NUL = bytes([0] + [1] * 255)
_RUN = b"\x00" * 8
_RUN_END = re.compile(rb"[^\x00]")


def misaligned_regions(data: bytes, encoding: str) -> list[tuple[int, int, str]]:
    """Stretches of UTF-16 text shifted by one byte inside UTF-16 content: (start, end,
    encoding), in order, not overlapping.

    A narrow program appending an odd number of bytes (`ok\n`) to a file PowerShell wrote,
    then PowerShell's `>>` appending again, leaves UTF-16 at odd offsets: read in units
    from offset 0, as the file is, that stretch is other characters. A stretch is a run of
    at least 8 units of ASCII characters starting at an odd offset, told from the bytes
    around it alone (no `sk-` needed), so a window finds the stretches a whole read finds.
    """
    if not encoding.startswith("utf-16") or b"\x00" not in data:
        return []
    # A window's bytes are asked several times (its reading, its bounds, its lines): the
    # last answer is kept for the same object.
    for known, known_encoding, regions in _LAST_REGIONS:
        if known is data and known_encoding == encoding:
            return regions
    regions = _misaligned_regions(data, encoding)
    _LAST_REGIONS[:] = [(data, encoding, regions)]
    return regions


_LAST_REGIONS: list[tuple[bytes, str, list[tuple[int, int, str]]]] = []


def _misaligned_regions(data: bytes, encoding: str) -> list[tuple[int, int, str]]:
    # The unit at odd offset 2i+1 is (data[2i+1], data[2i+2]): one byte of each half. Each
    # half is marked 0 where it fits an ASCII character's unit, and the marks are OR-ed as
    # integers (a few milliseconds for 8 MiB; a pattern over the units takes seconds and
    # hundreds of megabytes on a long run).
    first, second = data[1::2], data[2::2]
    size = min(len(first), len(second))
    if encoding.endswith("le"):
        char, zero = first[:size], second[:size]
    else:
        zero, char = first[:size], second[:size]
    if _RUN not in zero:
        return []  # the file's own UTF-16 (or none at all): one search
    marks = int.from_bytes(char.translate(_NOT_ASCII), "big") | int.from_bytes(
        zero.translate(_NOT_NUL), "big"
    )
    units = marks.to_bytes(size, "big")
    regions: list[tuple[int, int, str]] = []
    at = units.find(_RUN)
    while at >= 0:
        after = _RUN_END.search(units, at)
        end = size if after is None else after.start()
        regions.append((2 * at + 1, 2 * end + 1, encoding))
        at = units.find(_RUN, end)
    return regions


def transcode_misaligned(
    data: bytes, encoding: str, regions: list[tuple[int, int, str]], stop: int | None = None
) -> str:
    """UTF-16 content (up to `stop`) as characters, each shifted stretch
    (misaligned_regions) read in its own alignment and the rest in units from offset 0, as
    transcode reads it: a whole read and a window count lines and columns alike."""
    stop = len(data) if stop is None else stop
    parts: list[str] = []
    pos = 0
    for start, end, _ in regions:
        if start >= stop:
            break
        # Each unit of the file's reading that a stretch's edge halves is one character
        # there and none in the stretch. A stretch at offset 1 goes on from before (a
        # window's first byte ends a unit the window before it counted).
        if pos:
            parts.append("\ufffd")
        if pos or start > 1:
            parts.append(data[pos : start - 1].decode(encoding, "replace") + "\ufffd")
        if end > stop:
            # Cut at `stop` (a window's edge, always between units of the file's reading):
            # the stretch's unit the edge halves is counted before it, as a whole read does.
            end = stop + (stop - start) % 2
        parts.append(data[start:end].decode(encoding, "replace"))
        pos = end + 1
    if pos == 0:
        parts.append(data[:stop].decode(encoding, "replace"))
    elif pos <= stop:
        parts.append("\ufffd" + data[pos:stop].decode(encoding, "replace"))
    return "".join(parts)


def _ascii_unit(data: bytes, at: int, little: bool) -> bool:
    """The two bytes at `at` are one UTF-16 unit of an ASCII character (tab, CR, LF or
    printable)."""
    char, zero = (data[at], data[at + 1]) if little else (data[at + 1], data[at])
    return zero == 0 and (32 <= char < 127 or char in (9, 10, 13))


def transcode_regions(data: bytes, regions: list[tuple[int, int, str]]) -> bytes:
    """The content as UTF-8 with each wide stretch decoded from its encoding and the rest
    from UTF-8: lines and columns, counted in characters, stay those of the file."""
    parts: list[str] = []
    pos = 0
    for start, end, encoding in regions:
        parts.append(data[pos:start].decode("utf-8", "replace"))
        parts.append(data[start:end].decode(encoding, "replace").lstrip("\ufeff"))
        pos = end
    parts.append(data[pos:].decode("utf-8", "replace"))
    return "".join(parts).encode("utf-8", "surrogatepass")


def stream_encoding(head: bytes) -> str | None:
    """The wide encoding of content read in windows, from its first bytes alone: a
    byte-order mark, or a NUL in every other byte of mostly ASCII UTF-16. Unlike
    text_encoding it needs no `sk-` (a key may sit in any later window, which has no mark
    either); the windows' bytes are scanned as they are too, so a binary file that merely
    looks wide hides nothing."""
    for bom, name in _BOMS:
        if head.startswith(bom):
            return name
    head = head[:2048]
    if len(head) < 64 or b"\x00" not in head:
        return None
    even, odd = head[0::2].count(0), head[1::2].count(0)
    # Text: NULs in one half of the bytes, hardly any in the other (zeros fill both).
    if max(even, odd) * 4 < len(head) or min(even, odd) * 16 > len(head):
        return None
    return "utf-16-le" if odd >= even else "utf-16-be"


def transcode(data: bytes, encoding: str) -> bytes:
    """The text as UTF-8: lines and columns (counted in characters) stay the same. UTF-16
    shifted by a byte in places is read in each place's alignment (misaligned_regions)."""
    regions = misaligned_regions(data, encoding)
    if regions:
        text = transcode_misaligned(data, encoding, regions)
    else:
        text = data.decode(encoding, "replace")
    return text.lstrip("\ufeff").encode("utf-8", "surrogatepass")
