"""Where a key is: line and column of offsets, and the excerpt shown around it."""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass

from kimi_secret_scan import record


def decode_text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


class Locator:
    """Lines and columns of offsets, in time linear in the content for any number of them.

    Offsets usually come in increasing order (tokens are found in order), so the line,
    its bounds and the column are carried forward from the last offset; an offset before
    the last one (a key found in a decoded layer) is placed through an index of line starts,
    built once when first needed.
    """

    def __init__(self, data: bytes) -> None:
        self.data = data
        self._pos = 0
        self._line = 1
        self._line_start = 0
        self._starts: list[int] | None = None
        # The line last asked for: (start, end), and the last column computed on it.
        self._bounds = (-1, -1)
        self._col_at = (-1, 0)

    def _index(self) -> list[int]:
        if self._starts is None:
            data, starts = self.data, [0]
            pos = data.find(b"\n")
            while pos >= 0:
                starts.append(pos + 1)
                pos = data.find(b"\n", pos + 1)
            self._starts = starts
        return self._starts

    def _move(self, offset: int) -> None:
        if offset < self._pos:
            starts = self._index()
            line = bisect.bisect_right(starts, offset)
            self._pos, self._line, self._line_start = offset, line, starts[line - 1]
            return
        newlines = self.data.count(b"\n", self._pos, offset)
        if newlines:
            self._line += newlines
            self._line_start = self.data.rfind(b"\n", self._pos, offset) + 1
        self._pos = offset

    def line_of(self, offset: int) -> int:
        self._move(offset)
        return self._line

    def line_bounds(self, offset: int) -> tuple[int, int]:
        self._move(offset)
        start = self._line_start
        if self._bounds[0] == start:
            return self._bounds
        end = self.data.find(b"\n", offset)
        if end < 0:
            end = len(self.data)
        if end > start and self.data[end - 1 : end] == b"\r":
            end -= 1
        self._bounds = (start, end)
        return self._bounds

    def column(self, line_start: int, offset: int) -> int:
        """1-based column in characters; on a long line with many keys, only the text since
        the last column asked for is decoded."""
        data = self.data
        at, col = self._col_at
        if (
            line_start <= at <= offset
            and self._bounds[0] == line_start
            and data[at : at + 1] < b"\x80"
            and data[offset : offset + 1] < b"\x80"
            and not (line_start == 0 and at == 0)
        ):
            # Both ends are ASCII, so both are character boundaries.
            col += len(decode_text(data[at:offset]))
        else:
            col = column(data, line_start, offset)
        self._col_at = (offset, col)
        return col


def column(data: bytes, line_start: int, offset: int) -> int:
    """1-based column in characters (a UTF-8 byte-order mark is not one)."""
    prefix = data[line_start:offset]
    if line_start == 0 and prefix.startswith(b"\xef\xbb\xbf"):
        prefix = prefix[3:]
    return len(decode_text(prefix)) + 1


@record.frozen
@dataclass(init=False, repr=False, eq=False)
class Span:
    """A key's place in its content, and the line around it."""

    start: int
    end: int
    secret: str
    line_start: int
    line_end: int

    def __init__(self, start: int, end: int, secret: str, line_start: int, line_end: int) -> None:
        record.assign(
            self,
            start=start,
            end=end,
            secret=secret,
            line_start=line_start,
            line_end=line_end,
        )


# Bytes after which an excerpt goes on printing the line: blanks, quotes and punctuation
# that end a key as written. After anything else (a control byte, `\\`, `%`, `&`, a letter
# glued to a packed key) the line is cut at the key's end.
_ENDS_A_KEY = frozenset(b" \t\r\n\"'`,;:.)]}>|")


def excerpt_spans(data: bytes, focus: Span, spans: list[Span]) -> str:
    """The focus key's line, cut to a window around it, with every key on it in place of
    its spelling there (encoded or split keys shown decoded, so redaction hides them).
    `spans`: the keys near the focus, in order of their start."""
    line_start, line_end = focus.line_start, focus.line_end
    lo = max(line_start, focus.start - 80)
    hi = min(line_end, max(focus.end, focus.start) + 80)
    # The longest of keys starting at one place first: a shorter key inside it (the part of
    # a key before a colour code, read as a key of its own) must not stand for it, leaving
    # the rest of its spelling printed as written (review h12).
    on_line = sorted(
        (sp for sp in spans if sp.start < line_end and sp.end > line_start),
        key=lambda sp: (sp.start, -sp.end),
    )
    for sp in on_line:  # never cut a key in half at the window's edge
        if sp.start < lo < sp.end:
            lo = max(line_start, sp.start)
        if sp.start < hi < sp.end:
            hi = min(line_end, sp.end)
    out: list[str] = ["…"] if lo > line_start else []
    pos = lo
    for sp in on_line:
        if sp.start < pos < sp.end:
            # Overlaps a key shown already: what reaches past it is key too, never shown.
            pos = min(sp.end, hi)
            continue
        if sp.start < pos or sp.start >= hi:
            continue
        out += [decode_text(data[pos : sp.start]), sp.secret]
        if sp.end > line_end:  # split over lines: the rest of this line is part of the key
            pos = hi = line_end
            out.append("…")
            break
        pos = sp.end
        if pos < hi and data[pos] not in _ENDS_A_KEY:
            # What follows the key may be more of it in a spelling not read (a terminal
            # sequence, an escape, a control byte: `sk-kimi-<32>ESC ESC[31m<32>` is found by
            # its first half, and its second half was printed: review h13b). Not shown.
            hi = pos
            break
    out.append(decode_text(data[pos:hi]))
    if hi < line_end:
        out.append("…")
    return "".join(out).replace("\t", " ")


class SpanIndex:
    """The keys of one content by line, so each excerpt looks only at the keys near its own
    key: rebuilding every excerpt is linear in the number of keys, not quadratic."""

    def __init__(self, data: bytes, spans: Iterable[Span]) -> None:
        self.data = data
        self._by_line: dict[int, list[Span]] = {}
        longest = 0
        for sp in spans:
            longest = max(longest, sp.end - sp.start)
            self._by_line.setdefault(sp.line_start, []).append(sp)
            if sp.end > sp.line_end:  # a key split over lines is on each of them
                pos = data.find(b"\n", sp.line_end)
                while pos >= 0 and pos + 1 < sp.end:
                    self._by_line.setdefault(pos + 1, []).append(sp)
                    pos = data.find(b"\n", pos + 1)
        self._starts: dict[int, list[int]] = {}
        for line_start, on_line in self._by_line.items():
            on_line.sort(key=lambda sp: sp.start)
            self._starts[line_start] = [sp.start for sp in on_line]
        # A key that reaches into an excerpt's window starts at most this far before it.
        self._reach = longest + 80

    def excerpt(self, focus: Span) -> str:
        on_line = self._by_line.get(focus.line_start)
        if on_line is None:
            return excerpt_spans(self.data, focus, [focus])
        starts = self._starts[focus.line_start]
        lo = bisect.bisect_left(starts, focus.start - self._reach)
        hi = bisect.bisect_left(starts, max(focus.end, focus.start) + self._reach)
        return excerpt_spans(self.data, focus, on_line[lo:hi])
