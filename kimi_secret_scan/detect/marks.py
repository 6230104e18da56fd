"""Which of the words the detectors look for a piece of content holds, in a few vectorised
passes (Hyperscan) instead of a lower-cased copy and `re` passes over it.

Most blobs of a history name neither Kimi nor Moonshot and hold no `sk` with a hyphen: the
survey (`layered._survey`) learns that from a lower-cased copy of each blob and two `re`
passes, ~3 passes at 2-3 GB/s. Hyperscan answers the same questions at 5-15 GB/s without
the copy. Every mark is a superset of what the survey's own pattern finds in the lower-cased
content (case-insensitive here, on the bytes as they are: ASCII case folding, as
`bytes.lower`), so a mark that is not set lets the survey skip a pass it would have run for
nothing, and a mark that is set sends the content down the survey's own path: the findings
are the same either way (`tests/test_fast_path.py`).

Off unless `enable()` was called: the history audit enables it in the processes that read
every object (reading the whole history is where it pays); the hook never imports it (its
~6 ms import and ~5 ms of compiling would be a tenth of the hook's budget). Without the
`hyperscan` package, or where it cannot run, `marks()` answers None and the survey does
everything itself.
"""

from __future__ import annotations

import re
from typing import Any

from kimi_secret_scan import decoders

KIMI = 1  # "kimi", any case
MOONSHOT = 2  # "moonshot"
SK = 4  # `sk` and a hyphen in any spelling the survey's `k` pass knows (_SK_TAIL), any case
KIMI_NAMED = 8  # "kimi.com", or "kimi" where a setting's head may follow
MOONSHOT_NAMED = 16  # "moonshot.", or "moonshot" where a setting's head may follow
SK_ESCAPED = 32  # `sk` and an escaped hyphen (decoders.SK_ESCAPED, tokens.SK_ENTITY), any case
# The base64 of a long Kimi name (decoders.named_triggers: holds_named_base64's answer),
# looked for only where MOONSHOT is not set (base64 is searched there anyway).
NAMED_BASE64 = 64
# base64_marks(): a base64 trigger as it is, or one a line break cuts.
BASE64 = 1
BASE64_WRAPPED = 2

# A setting's head after the name (assigned.SETTING_HEAD), loosened to a superset that
# compiles in ~2 ms instead of ~35 (no bounded repetitions): name characters, a key word,
# name characters, the assignment's first character. SETTING_HEAD's name characters and its
# key word's endings (passw-or-d) are runs of [\w.\-], and its assignment starts with one of
# `:=,` after an optional backslash, quote and blanks.
_HEAD = rb"[\w.\-]*(?:key|token|secret|auth|passw|credential)[\w.\-]*\\?[\"'\x60]?[ \t]*[:=,]"
# A superset of the spellings of a hyphen (decoders.HYPHEN_*), cut after their first
# characters: with each written out whole, Hyperscan's pass over every blob took twice as
# long (0.11 s against 0.054 s over psf/requests' blobs); the survey's patterns decide after.
_HYPHEN = rb"%(?:2d|25|u0)|\\+(?:[-ux]|[on]\{|0*2d|0?55)|&(?:#|amp)|\x60[u-]"
_SK_ESCAPED = rb"sk(?:-kimi)?(?:" + _HYPHEN + rb")"
# (And `s` or `sk` before the start of a terminal sequence: `sk` ESC[m `-kimi-…`, `s` ESC(B
# `k-…`, raw, 8-bit, spelled or ESC-less, detect/terminal.py: a superset of its cuts_sk.)
# One expression each, in one database: as one alternation, Hyperscan's pass over psf/requests'
# blobs took 217 ms against 32 ms before the terminal starts were added; as expressions of
# one id, 83 ms (the same union: SINGLEMATCH reports an id once).
_SK = [
    rb"sk(?:-|" + _HYPHEN + rb")",
    *(
        rb"sk?" + start
        for start in (
            rb"\x1b",
            rb"\xc2[\x90\x98\x9b\x9d-\x9f]",
            rb"\\\\?(?:e|0?33|27|x1b|x9b|u009b|u001b|U0000001b|[xu]\{)",
            rb"\^\[",
            rb"\[[0-9;]*[mk]",
            rb"&#",
            rb"%1b",
        )
    ),
]

# Larger content goes the survey's way (Hyperscan takes a length of 32 bits), and so does
# short content: below a few hundred bytes, the lower-cased copy and the `re` passes cost
# less than the calls into Hyperscan (commit messages, most headers).
_MAX_LENGTH = (1 << 31) - 1
_MIN_LENGTH = 256


class _Scanner:
    def __init__(self) -> None:
        import hyperscan

        def database(
            pattern: bytes | list[bytes], mark: int, caseless: bool = True, single: bool = True
        ) -> Any:
            # The pattern's id is its mark: a match reports the mark itself (_note). Several
            # patterns share it (SINGLEMATCH: the id is reported once).
            patterns = pattern if isinstance(pattern, list) else [pattern]
            db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
            flags = hyperscan.HS_FLAG_SINGLEMATCH if single else 0
            if caseless:
                flags |= hyperscan.HS_FLAG_CASELESS
            db.compile(
                expressions=patterns,
                ids=[mark] * len(patterns),
                elements=len(patterns),
                flags=[flags] * len(patterns),
            )
            return db

        # One database per question: one that holds a word found on every line (a Kimi
        # project's "kimi") stops at its first match, and the others stay fast (together
        # in one database, 2-3 times slower on kimi-cli). SINGLEMATCH: one call per mark.
        self.kimi = database(b"kimi", KIMI).scan
        # The named base64 triggers in the same pass as "moonshot" (no pass of their own
        # over every blob), which still ends at the first "moonshot" (_until_moonshot).
        moonshot: Any = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        moonshot.compile(
            expressions=[b"moonshot", b"|".join(re.escape(n) for n in decoders.named_triggers())],
            ids=[MOONSHOT, NAMED_BASE64],
            elements=2,
            flags=[
                hyperscan.HS_FLAG_SINGLEMATCH | hyperscan.HS_FLAG_CASELESS,
                hyperscan.HS_FLAG_SINGLEMATCH,
            ],
        )
        self.moonshot = moonshot.scan
        self.terminated = hyperscan.ScanTerminated
        self.sk = database(_SK, SK).scan
        self.sk_escaped = database(_SK_ESCAPED, SK_ESCAPED).scan
        self.kimi_named = database(rb"kimi(?:\.com|" + _HEAD + rb")", KIMI_NAMED).scan
        self.moonshot_named = database(rb"moonshot(?:\.|" + _HEAD + rb")", MOONSHOT_NAMED).scan
        # base64 of "sk-" at each alignment, and of a JSON object: decoders.base64_starts
        # finds nothing in content that holds none of them.
        # The triggers a line break cuts (decoders.WRAPPED_TRIGGERS) are another mark of
        # the same pass: their own `re` pass (decoders.base64_starts) runs only where it
        # is set.
        needles = [needle for needle, _, _ in decoders.SK_TRIGGERS] + [decoders.JSON_TRIGGER]
        wrapped = b"|".join(pattern for pattern, _, _ in decoders.WRAPPED_TRIGGERS)
        db: Any = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        db.compile(
            expressions=[b"|".join(re.escape(n) for n in needles), wrapped],
            ids=[BASE64, BASE64_WRAPPED],
            elements=2,
            flags=[hyperscan.HS_FLAG_SINGLEMATCH] * 2,
        )
        self.base64 = db.scan
        # For the token pass (tokens.find_sk_tokens): every `sk-` as written, where each of
        # its patterns starts (three `re`/`find` passes over the content before, ~0.7 ms a
        # megabyte each: 10 times Hyperscan's one), and whether the content holds a control
        # byte (tokens._is_binary: a copy without them before, 4 times slower).
        from kimi_secret_scan.detect.tokens import CONTROL_BYTES

        self.sk_starts = database(b"sk-", 0, caseless=False, single=False).scan
        control = b"[" + b"".join(b"\\x%02x" % byte for byte in CONTROL_BYTES) + b"]"
        self.control = database(control, 1, caseless=False).scan
        # The heads of keys split after `s` or `sk` (tokens.find_split_heads): an `s` after
        # no letter, digit, `_` or `-`, then an optional `k` and the first character of any
        # glue (a quote, a backslash, a line break). Its `re` search from every `s` took
        # ~2.4 ms a megabyte of a Kimi project's text; most `s` end a word.
        self.split_heads = database(
            rb"(?:^|[^A-Za-z0-9_\-])sk?[\"'\x60\\\r\n]", 0, caseless=False, single=False
        ).scan


def _note(mark: int, start: int, end: int, flags: int, found: list[int]) -> None:
    found.append(mark)


def _until_moonshot(mark: int, start: int, end: int, flags: int, found: list[int]) -> bool:
    found.append(mark)
    return mark == MOONSHOT  # stop: NAMED_BASE64 is asked only where MOONSHOT is not


def _start(mark: int, start: int, end: int, flags: int, found: list[int]) -> None:
    found.append(end - 3)  # the end of an `sk-`: Hyperscan reports ends, in order


# The scans below pass their arguments by position, (data, handler, flags, context): the
# binding's keyword parsing costs ~6 % of the marks' time over psf/requests' blobs.


_scanner: _Scanner | None = None


def enable() -> bool:
    """Use the marks in this process from now on (the history audit's readers). False, and
    off, when Hyperscan is missing or cannot run here."""
    global _scanner
    if _scanner is None:
        try:
            _scanner = _Scanner()
        except Exception:  # not installed, or no build for this platform or CPU
            return False
    return True


def disable() -> None:
    global _scanner
    _scanner = None
    _remember(b"", 0)
    _remember_base64(b"", 0)


def marks(data: bytes) -> int | None:
    """The marks the content holds, or None when they are off or the content is short (the
    survey then runs whole).

    KIMI_NAMED is looked for only where KIMI is set, MOONSHOT_NAMED where MOONSHOT is,
    SK_ESCAPED where SK is, NAMED_BASE64 where MOONSHOT is not."""
    scanner = _scanner
    if scanner is None or not _MIN_LENGTH <= len(data) <= _MAX_LENGTH:
        return None
    last = _last_marks
    if last[0] is data:
        # The same bytes asked again: layered.holds_nothing() and then detect() (a blob
        # with a mark: most of a Kimi project's; kimi-cli's history scanned them twice).
        return last[1]
    found: list[int] = []
    scanner.kimi(data, _note, 0, found)
    if found:
        scanner.kimi_named(data, _note, 0, found)
    try:  # (not contextlib.suppress: a context manager's calls on every blob)  # noqa: SIM105
        scanner.moonshot(data, _until_moonshot, 0, found)
    except scanner.terminated:
        pass
    if MOONSHOT in found:
        if NAMED_BASE64 in found:
            found.remove(NAMED_BASE64)
        scanner.moonshot_named(data, _note, 0, found)
    scanner.sk(data, _note, 0, found)
    if SK in found:
        scanner.sk_escaped(data, _note, 0, found)
    result = sum(found)  # each mark at most once: their sum is their union
    _remember(data, result)
    return result


# The last content marks() answered for, and its answer (an identity check: bytes are
# immutable, so the same object holds the same marks). One object at a time is held.
_last_marks: tuple[object, int] = (None, 0)


def _remember(data: bytes, result: int) -> None:
    global _last_marks
    if type(data) is bytes:  # not a buffer that could change under the same identity
        _last_marks = (data, result)


def base64_marks(data: bytes) -> int | None:
    """BASE64 when a base64 trigger as it is, or one a line break cuts, is in `data`, and
    BASE64_WRAPPED when one a line break cuts is; None when the marks are off or the content
    is short. One pass, remembered for the same bytes asked again (_detect_in asks both)."""
    scanner = _scanner
    if scanner is None or not _MIN_LENGTH <= len(data) <= _MAX_LENGTH:
        return None
    last = _last_base64
    if last[0] is data:
        return last[1]
    found: list[int] = []
    scanner.base64(data, _note, 0, found)
    result = BASE64 if found else 0
    if BASE64_WRAPPED in found:
        result |= BASE64_WRAPPED
    _remember_base64(data, result)
    return result


_last_base64: tuple[object, int] = (None, 0)


def _remember_base64(data: bytes, result: int) -> None:
    global _last_base64
    if type(data) is bytes:
        _last_base64 = (data, result)


def sk_starts(data: bytes) -> list[int] | None:
    """Where each `sk-` of `data` starts, in order (never overlapping: no `sk-` holds
    another); None when the marks are off or the content is short."""
    scanner = _scanner
    if scanner is None or not _MIN_LENGTH <= len(data) <= _MAX_LENGTH:
        return None
    found: list[int] = []
    scanner.sk_starts(data, _start, 0, found)
    return found


def _end(mark: int, start: int, end: int, flags: int, found: list[int]) -> None:
    found.append(end)


def split_heads(data: bytes) -> list[int] | None:
    """Where each `s` that may head a split key starts (a superset of where
    tokens._SPLIT_HEAD matches after no letter, digit, `_` or `-`), in order; None when the
    marks are off or the content is short."""
    scanner = _scanner
    if scanner is None or not _MIN_LENGTH <= len(data) <= _MAX_LENGTH:
        return None
    ends: list[int] = []
    scanner.split_heads(data, _end, 0, ends)
    # The match ends after the glue's first character, and `k` or `s` before it.
    return [end - 2 if data[end - 2] == 0x73 else end - 3 for end in ends]


def holds_control(data: bytes) -> bool | None:
    """Whether `data` holds any of tokens.CONTROL_BYTES; None when the marks are off or the
    content is short."""
    scanner = _scanner
    if scanner is None or not _MIN_LENGTH <= len(data) <= _MAX_LENGTH:
        return None
    found: list[int] = []
    scanner.control(data, _note, 0, found)
    return bool(found)


def may_hold_wrapped_base64(data: bytes) -> bool:
    """False only when the marks are on and no base64 trigger that a line break cuts is in
    `data` (decoders.WRAPPED_TRIGGERS)."""
    found = base64_marks(data)
    return found is None or bool(found & BASE64_WRAPPED)


def may_hold_base64(data: bytes) -> bool:
    """False only when the marks are on and `decoders.base64_starts(data, deep=False, …)`
    can find nothing in `data`."""
    found = base64_marks(data)
    return found is None or bool(found)
