"""Content larger than a window, scanned one window at a time in bounded memory.

Each window is the window's own bytes with OVERLAP bytes of the neighbouring text on both
sides, so every key starting in its own part is seen with all the context the detectors
read around it: the context window (2,048 bytes each way), the line prefix (200), a key
split over strings (under 300), a decoder's window (4,096). A finding is kept only by the
window whose own part holds its start, so each key is reported once, at the line and
column of the whole content.
"""

from __future__ import annotations

import dataclasses
import gc
import os
import re
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass

from kimi_secret_scan import decoders, record
from kimi_secret_scan.content import Content, Skipped
from kimi_secret_scan.detect.context import patterns_for
from kimi_secret_scan.detectors import detect
from kimi_secret_scan.finding import Finding
from kimi_secret_scan.settings import DEFAULT_SETTINGS, DetectorSettings
from kimi_secret_scan.unpack import (
    Found,
    expand,
    locate,
    relocate,
)

# Overridable so tests reach several windows with small files.
WINDOW = int(os.environ.get("KIMI_SECRET_SCAN_WINDOW", str(8 << 20)))
OVERLAP = 64 << 10
_BOM = b"\xef\xbb\xbf"


def _chars(data: bytes | bytearray) -> int:
    """Characters, counted as the detectors count a column."""
    return len(data.decode("utf-8", "replace"))


def _boundary(buf: bytearray, pos: int, unit: int = 1, little: bool = True) -> int:
    """`pos`, moved forward so no character is cut: off a UTF-8 continuation byte, or
    onto a whole UTF-16/32 code unit (not between a surrogate pair's halves)."""
    if unit > 1:
        pos += -pos % unit
        if unit == 2 and 2 <= pos < len(buf):
            # The byte order's high byte of the unit before: a high surrogate D800-DBFF.
            high = buf[pos - 1] if little else buf[pos - 2]
            if 0xD8 <= high <= 0xDB:
                pos += 2
        return min(pos, len(buf))
    for _ in range(3):
        if pos < len(buf) and 0x80 <= buf[pos] < 0xC0:
            pos += 1
    return pos


@record.frozen
@dataclass(init=False, repr=False, eq=False)
class Window:
    """A window of a large content, with where it starts in the whole."""

    data: bytes
    own_start: int  # the window's own part, as offsets in data
    own_end: int
    last: bool
    lines_before: int  # newlines before data[0] in the whole content
    column_before: int  # characters from the start of that line to data[0]
    # UTF-16/32 content (told from its first bytes): windows hold whole code units, and
    # lines and columns count its characters, as detect() counts them in a whole file.
    encoding: str | None = None

    def __init__(
        self,
        data: bytes,
        own_start: int,
        own_end: int,
        last: bool,
        lines_before: int,
        column_before: int,
        encoding: str | None = None,
    ) -> None:
        record.assign(
            self,
            data=data,
            own_start=own_start,
            own_end=own_end,
            last=last,
            lines_before=lines_before,
            column_before=column_before,
            encoding=encoding,
        )


def windows(
    chunks: Iterable[bytes], window: int | None = None, overlap: int = OVERLAP
) -> Generator[Window, None, None]:
    """Windows over a stream of chunks of any size; never more than one window held."""
    size = window or WINDOW
    source = iter(chunks)
    buf = bytearray()
    own_start = lines_before = column_before = 0
    first, done = True, False
    encoding: str | None = None
    unit, little = 1, True
    while True:
        while not done and len(buf) < own_start + size + overlap:
            chunk = next(source, None)
            if chunk is None:
                done = True
            else:
                buf += chunk
        if first:
            encoding = decoders.stream_encoding(bytes(buf[:2048]))
            unit = 1 if encoding is None else 4 if "32" in encoding else 2
            little = encoding is None or encoding.endswith("le")
        own_end = len(buf) if done else _boundary(buf, own_start + size, unit, little)
        data = bytes(buf)
        yield Window(data, own_start, own_end, done, lines_before, column_before, encoding)
        if done:
            return
        # The detectors' scan state is a reference cycle (each layer points at its root)
        # holding the window's bytes: without a collection here, windows pile up until the
        # collector happens to run, and memory grows with the file after all.
        gc.collect()
        cut = _boundary(buf, max(0, own_end - overlap), unit, little)
        dropped = buf[:cut]
        if encoding is not None:
            regions = decoders.misaligned_regions(data, encoding)
            text = decoders.transcode_misaligned(data, encoding, regions, stop=cut)
            if first:
                text = text.removeprefix("\ufeff")
            newline = text.rfind("\n")
            lines_before += text.count("\n")
            column_before = len(text) - newline - 1 if newline >= 0 else column_before + len(text)
        else:
            newline = dropped.rfind(b"\n")
            if newline >= 0:
                lines_before += dropped.count(b"\n")
                column_before = _chars(dropped[newline + 1 :])
            else:
                # The detectors do not count a leading byte-order mark as a column.
                bom = first and lines_before == 0 and dropped.startswith(_BOM)
                column_before += _chars(dropped) - (1 if bom else 0)
        first = False
        del buf[:cut]
        own_start = own_end - cut


def _position(data: bytes, offset: int) -> tuple[int, int]:
    """(line, column) of an offset, counted as the detectors count them."""
    line_start = data.rfind(b"\n", 0, offset) + 1
    prefix = data[line_start:offset]
    if line_start == 0 and prefix.startswith(_BOM):
        prefix = prefix[3:]
    return data.count(b"\n", 0, offset) + 1, len(prefix.decode("utf-8", "replace")) + 1


def _text_position(data: bytes, offset: int, encoding: str) -> tuple[int, int]:
    """(line, column) of an offset in wide text, in characters (as decoders.transcode)."""
    regions = decoders.misaligned_regions(data, encoding)
    prefix = decoders.transcode_misaligned(data, encoding, regions, offset).lstrip("\ufeff")
    newline = prefix.rfind("\n")
    return prefix.count("\n") + 1, len(prefix) - newline


def part(content: Content, win: Window) -> Content:
    """The window as a content of its own: line numbers relative to the window."""
    lines = content.lines
    if lines is not None:
        lines = frozenset(n - win.lines_before for n in lines if n > win.lines_before)
    return dataclasses.replace(content, data=win.data, lines=lines, chunks=None, size=0)


def own_findings(
    content: Content, win: Window, settings: DetectorSettings = DEFAULT_SETTINGS
) -> list[Finding]:
    """The findings that start in the window's own part, located in the window."""
    found = detect(content, settings)
    if win.encoding is not None:
        return _own_wide_findings(content, win, found, settings)
    return _own_raw_findings(win, found)


def _mixed_position(
    data: bytes, offset: int, regions: list[tuple[int, int, str]]
) -> tuple[int, int]:
    """(line, column) of an offset in narrow text with UTF-16 stretches, in characters (as
    decoders.transcode_regions counts them)."""
    clipped = []
    for start, end, encoding in regions:
        if start >= offset:
            break
        end = min(end, offset)
        clipped.append((start, end - (end - start) % 2, encoding))  # whole units only
    prefix = decoders.transcode_regions(data[:offset], clipped).decode("utf-8", "surrogatepass")
    newline = prefix.rfind("\n")
    return prefix.count("\n") + 1, len(prefix) - newline


def _in_own(found: list[Finding], win: Window, encoding: str | None) -> list[Finding]:
    """The findings whose start falls in the window's own part, positions counted in the
    characters of `encoding` (None: the bytes as UTF-8, as detect() counts them; "mixed":
    narrow text with UTF-16 stretches, decoders.wide_regions)."""
    if not found:
        return found
    if encoding is None:
        lo = _position(win.data, win.own_start)
        hi = None if win.last else _position(win.data, win.own_end)
    elif encoding == "mixed":
        regions = decoders.wide_regions(win.data)
        lo = _mixed_position(win.data, win.own_start, regions)
        hi = None if win.last else _mixed_position(win.data, win.own_end, regions)
    else:
        lo = _text_position(win.data, win.own_start, encoding)
        hi = None if win.last else _text_position(win.data, win.own_end, encoding)
    return [
        f for f in found if (f.line, f.column) >= lo and (hi is None or (f.line, f.column) < hi)
    ]


def _read_wide(f: Finding) -> bool:
    """Whether detect() found it in the window read as UTF-16/32 characters (its label's
    first layer), so its line and column count those characters, not the bytes."""
    return f.encoding is not None and f.encoding.split("+", 1)[0] in ("utf-16", "utf-32")


def _own_raw_findings(win: Window, raw: list[Finding]) -> list[Finding]:
    """detect()'s findings in the window's bytes, each kept where its start falls in the
    window's own part. Every decoded layer (escapes, base64, percent, entities) counts:
    a key found only through one is a key. detect() may also have read the window as wide
    text (decoders.text_encoding, told from this window alone): those findings are
    located in the characters of that encoding, never dropped for it."""
    plain = [f for f in raw if not _read_wide(f)]
    wide = [f for f in raw if _read_wide(f)]
    out = _in_own(plain, win, None)
    if wide:
        # detect() labelled them wide, so it told the same from the same bytes: a wide
        # window, or narrow text with UTF-16 stretches in it.
        encoding = decoders.text_encoding(win.data)
        out += _in_own(wide, win, encoding if encoding is not None else "mixed")
    return out


def _own_wide_findings(
    content: Content, win: Window, raw: list[Finding], settings: DetectorSettings
) -> list[Finding]:
    """A window of UTF-16/32 text: its characters are scanned (a later window has no
    byte-order mark for detect() to know them by), then its bytes as they are, as detect()
    does for a whole file; each kept where its start falls in the window's own part.

    The bytes' findings include those of every decoded layer: text that starts in UTF-16
    and goes on in UTF-8 holds its escaped or base64 keys in the bytes, where the whole
    file's read (detect()) finds them too."""
    assert win.encoding is not None
    text = decoders.transcode(win.data, win.encoding)
    found = detect(dataclasses.replace(content, data=text), settings)
    out = _in_own(found, win, win.encoding)
    keys = {f.secret for f in found}
    return out + _own_raw_findings(win, [f for f in raw if f.secret not in keys])


def shift(findings: list[Finding], win: Window) -> list[Finding]:
    """Findings located in the window, located in the whole content."""
    out = []
    for f in findings:
        extra = win.column_before if f.line == 1 else 0
        out.append(
            dataclasses.replace(
                f,
                line=f.line + win.lines_before,
                column=f.column + extra,
                end_column=f.end_column + extra,
            )
        )
    return out


# What makes a whole content a Kimi context for the detectors (layered._detect_in `kimi`:
# Moonshot named, a Kimi endpoint, a project word), looked for in each window: a superset.
_CONTEXT = re.compile(rb"moonshot|kimi\.com", re.IGNORECASE)


def names_context(data: bytes, settings: DetectorSettings = DEFAULT_SETTINGS) -> bool:
    """Whether a window names what makes its whole content a Kimi context."""
    if _CONTEXT.search(data) is not None:
        return True
    words = patterns_for(settings).folded_words
    return bool(words) and any(word in data.lower() for word in words)


def in_context(content: Content, win: Window, context: bool) -> Content:
    """The window as a content of its own (part), read as Kimi context when `context`."""
    piece = part(content, win)
    return dataclasses.replace(piece, kimi_context=True) if context else piece


def detect_chunks(
    content: Content,
    chunks: Iterable[bytes],
    settings: DetectorSettings = DEFAULT_SETTINGS,
    window: int | None = None,
    again: Callable[[], Iterable[bytes]] | None = None,
) -> list[Finding]:
    """detect() over content given as chunks, window by window, before any filter.

    A content names Moonshot or a Kimi endpoint anywhere is a Kimi context throughout (base64
    is searched in all of it), as when it is read whole: the windows after the one that names
    it are read so, and the windows before it are read again from `again` (the same bytes
    anew), when given."""
    out: list[Finding] = []
    context = content.kimi_context
    late = 0  # the windows read before the context was met
    for n, win in enumerate(windows(chunks, window)):
        out += shift(own_findings(in_context(content, win, context), win, settings), win)
        if not context and names_context(win.data, settings):
            context, late = True, n
    if late and again is not None:
        out = merge_findings(out, _again(content, again(), late, settings, window))
    return out


def _again(
    content: Content,
    chunks: Iterable[bytes],
    count: int,
    settings: DetectorSettings,
    window: int | None,
) -> list[Finding]:
    """The first `count` windows' findings, read as Kimi context."""
    out: list[Finding] = []
    source = windows(chunks, window)
    try:
        for _, win in zip(range(count), source, strict=False):
            out += shift(own_findings(in_context(content, win, True), win, settings), win)
    finally:
        source.close()
        close = getattr(chunks, "close", None)  # a git process giving the bytes
        if close is not None:
            close()
    return out


def merge_findings(first: list[Finding], more: list[Finding]) -> list[Finding]:
    """`first` and what `more` adds to it (another key, or the same key elsewhere), in the
    content's order."""
    seen = {(f.line, f.column, f.secret) for f in first}
    added = [f for f in more if (f.line, f.column, f.secret) not in seen]
    if not added:
        return first
    return sorted(first + added, key=lambda f: (f.line, f.column))


def detect_members(
    content: Content,
    settings: DetectorSettings = DEFAULT_SETTINGS,
) -> tuple[list[Finding], list[Skipped]]:
    """detect() over every piece a container holds (nothing when it is not one), before
    any filter, each finding located in its piece; and what could not be unpacked."""
    found: list[Finding] = []
    skipped: list[Skipped] = []
    inside = Found()
    for piece in expand(content, settings.limits):
        if isinstance(piece, Skipped):
            skipped.append(piece)
            continue
        if piece.chunks is not None:
            got = detect_chunks(piece, piece.chunks(), settings, again=piece.chunks)
        else:
            got = relocate(piece, detect(piece, settings))
        # A nested container's own bytes: a key found in what it holds is reported there.
        known = inside.known(piece)
        inside.add(piece, {f.secret for f in got})
        found += [f for f in got if f.secret not in known] if known else got
    return found, skipped


def detect_all(
    content: Content,
    settings: DetectorSettings = DEFAULT_SETTINGS,
) -> list[Finding]:
    """detect() over content as it is and, when it is a container, over what it holds:
    for the sources that compare keys with an earlier version (which keys a change adds)."""
    if content.chunks is not None:
        found = detect_chunks(content, content.chunks(), settings, again=content.chunks)
    else:
        found = detect(content, settings)
    if locate(content) is not None:
        inside = detect_members(content, settings)[0]
        # As the pipeline reports it: a key in a member there, not also at the container.
        keys = {f.secret for f in inside}
        found = [f for f in found if f.secret not in keys] + inside
    return found
