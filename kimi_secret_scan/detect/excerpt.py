"""Where a key is: line and column of offsets, and the excerpt shown around it."""

from __future__ import annotations

from dataclasses import dataclass


def decode_text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


class Locator:
    """Line and column of offsets, computed incrementally for increasing offsets."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self._pos = 0
        self._line = 1

    def line_of(self, offset: int) -> int:
        if offset < self._pos:
            self._pos, self._line = 0, 1
        self._line += self.data.count(b"\n", self._pos, offset)
        self._pos = offset
        return self._line

    def line_bounds(self, offset: int) -> tuple[int, int]:
        start = self.data.rfind(b"\n", 0, offset) + 1
        end = self.data.find(b"\n", offset)
        if end < 0:
            end = len(self.data)
        if end > start and self.data[end - 1 : end] == b"\r":
            end -= 1
        return start, end


def column(data: bytes, line_start: int, offset: int) -> int:
    """1-based column in characters (a UTF-8 byte-order mark is not one)."""
    prefix = data[line_start:offset]
    if line_start == 0 and prefix.startswith(b"\xef\xbb\xbf"):
        prefix = prefix[3:]
    return len(decode_text(prefix)) + 1


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    secret: str
    line_start: int
    line_end: int


def excerpt_spans(data: bytes, focus: Span, spans: list[Span]) -> str:
    """The focus key's line, cut to a window around it, with every key on it in place of
    its spelling there (encoded or split keys shown decoded, so redaction hides them)."""
    line_start, line_end = focus.line_start, focus.line_end
    lo = max(line_start, focus.start - 80)
    hi = min(line_end, max(focus.end, focus.start) + 80)
    on_line = sorted(
        (sp for sp in spans if sp.start < line_end and sp.end > line_start), key=lambda sp: sp.start
    )
    for sp in on_line:  # never cut a key in half at the window's edge
        if sp.start < lo < sp.end:
            lo = max(line_start, sp.start)
        if sp.start < hi < sp.end:
            hi = min(line_end, sp.end)
    out: list[str] = ["…"] if lo > line_start else []
    pos = lo
    for sp in on_line:
        if sp.start < pos or sp.start >= hi:
            continue
        out += [decode_text(data[pos : sp.start]), sp.secret]
        if sp.end > line_end:  # split over lines: the rest of this line is part of the key
            pos = hi = line_end
            out.append("…")
            break
        pos = sp.end
    out.append(decode_text(data[pos:hi]))
    if hi < line_end:
        out.append("…")
    return "".join(out).replace("\t", " ")
