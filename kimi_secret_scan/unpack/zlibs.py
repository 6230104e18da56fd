"""zlib streams: a bare zlib file (`zlib.compress`'s output, `.zz`, a git loose object),
the FlateDecode streams of a PDF (page contents, object streams, embedded files) and a
PNG's compressed text chunks (zTXt, compressed iTXt: a comment, a tool's settings).

A key shown on a PDF page is in its content stream, deflated; a key in a zlib file is
deflated from its third byte on. Neither was opened nor said (hostile review 8a, finding
19): a gate exited 0 on them. Both are inflated here within the container's budget, as
gzip is: bytes are counted as they come out, so a bomb stops at the limit.
"""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Iterator

from kimi_secret_scan.content import Content, Skipped
from kimi_secret_scan.unpack.archives import Budget, Data, drain, inner_name, member

_CHUNK = 1 << 20


class _Inflater:
    """A reader of what a deflated stream holds, up to its first error or its end; what
    went wrong (an error, a stream cut short) is kept in `problem`, not raised, so what
    was inflated before it is still scanned."""

    def __init__(self, data: bytes, wbits: int = 15) -> None:
        self._data = data
        self._inflater = zlib.decompressobj(wbits)
        self._pending = data
        self.problem = ""

    def read(self, size: int = -1, /) -> bytes:
        size = _CHUNK if size < 0 else size
        inflater = self._inflater
        while not inflater.eof and not self.problem:
            try:
                out = inflater.decompress(self._pending, size)
            except zlib.error as exc:
                self.problem = f"damaged ({exc})"
                return b""
            self._pending = inflater.unconsumed_tail
            if out:
                return out
            if not self._pending:
                out = inflater.flush()
                if not inflater.eof:
                    self.problem = "cut short (the stream does not end)"
                return out
        return b""


def _whole(data: Data) -> bytes:
    """The bytes, without a copy when in memory (a history reads every PNG it holds)."""
    return data.raw if data.raw is not None else data.stream().read()


def read_zlib(
    kind: str, data: Data, path: str, base: Content, budget: Budget, depth: int
) -> Iterator[Content | Skipped]:
    """A bare zlib stream: what it holds, as gzip's."""
    where = f"{path}!{inner_name(path, kind)}"
    budget.member(where)
    reader = _Inflater(_whole(data))
    piece = drain(reader, budget, where)
    yield from member(piece, where, base, budget, depth)
    if reader.problem:
        yield Skipped(where, f"the zlib stream is {reader.problem}; what came before was scanned")


# A stream's dictionary: from the end of its `N G obj` to the `stream` keyword.
_NUMBER = re.compile(rb"(\d{1,10})\s{1,4}\d{1,5}\s{0,4}$")
_NAME = re.compile(rb"/([A-Za-z0-9]{1,40})")
_STREAM = re.compile(rb"stream(?:\r\n|\n|\r)")
# Filters read here, by their full names (the short ones are inline images' and some
# writers'); FlateDecode only as the last (it is inflated as it streams, within the
# budget), the ASCII ones before it (their output is smaller than their input).
_SHORT = {b"Fl": b"FlateDecode", b"A85": b"ASCII85Decode", b"AHx": b"ASCIIHexDecode"}
_FILTER = re.compile(rb"/Filter\s*(\[[^\]]*\]|/[A-Za-z0-9]+)")
_LENGTH = re.compile(rb"/Length\s+(\d+)(?!\s+\d+\s+R)")
# Filters of images and fonts: pixels and glyphs, not text (images are not read for text
# anywhere: docs/detection.md).
_PICTURES = (b"/DCTDecode", b"/JPXDecode", b"/JBIG2Decode", b"/CCITTFaxDecode", b"/DCT")
_NOT_TEXT = (b"/Image", b"/FontFile", b"/Length1", b"/Length2", b"/Length3")
_DICT_SPAN = 4096


def read_pdf(
    kind: str, data: Data, path: str, base: Content, budget: Budget, depth: int
) -> Iterator[Content | Skipped]:
    """A PDF's FlateDecode streams, each a piece `doc.pdf!(stream 4)` (its object number).

    Image and font streams are left out (pixels and glyphs). ASCII85 and ASCIIHex before
    the FlateDecode are undone. A stream in a filter not read here that may hold text
    (LZW, RunLength) and an encrypted PDF's streams are said, so a gate fails on them
    rather than passing."""
    raw = _whole(data)
    if re.search(rb"/Encrypt\s*(?:\d+\s+\d+\s+R|<<)", raw):
        yield Skipped(path, "an encrypted PDF: its streams were not read")
        return
    unread: dict[str, int] = {}
    # Each search starts where the last stream's bytes ended, and a dictionary is looked
    # for back to there only: a hostile file of many `stream` keywords costs one pass.
    done = 0
    match = _STREAM.search(raw)
    while match is not None:
        at, start = match.span()
        if raw[at - 3 : at] == b"end" or not raw[max(done, at - 64) : at].rstrip().endswith(b">>"):
            match = _STREAM.search(raw, start)
            continue
        before = raw[max(done, at - _DICT_SPAN) : at]
        obj = before.rfind(b"obj")
        number = _NUMBER.search(before, max(0, obj - 24), max(0, obj))
        name = number.group(1).decode() if obj >= 0 and number is not None else str(at)
        head = before[obj + 3 :] if obj >= 0 else before
        end = _stream_end(raw, head, start)
        done = end
        match = _STREAM.search(raw, end)
        found = _FILTER.search(head)
        if found is None or any(mark in head for mark in _NOT_TEXT):
            continue  # not compressed (scanned as the PDF's own bytes), or not text
        where = f"{path}!(stream {name})"
        filters = [_SHORT.get(m, m) for m in _NAME.findall(found.group(1))]
        if not filters or any(mark in found.group(1) for mark in _PICTURES):
            continue  # no filter named, or an image
        text = _unwrapped(raw[start:end], filters)
        if text is None:
            label = " ".join(m.decode() for m in filters[:4])
            unread[label] = unread.get(label, 0) + 1
            continue
        budget.member(where)
        if filters[-1:] != [b"FlateDecode"]:
            budget.take(len(text), where)
            yield from member(Data(text, None, len(text)), where, base, budget, depth)
            continue
        reader = _Inflater(text)
        piece = drain(reader, budget, where)
        yield from member(piece, where, base, budget, depth)
        if reader.problem:
            yield Skipped(
                where, f"its FlateDecode stream is {reader.problem}; what came before was scanned"
            )
    for label, count in sorted(unread.items()):
        yield Skipped(
            path, f"{count} stream(s) in a filter not read ({label}): not opened (could hold text)"
        )


def _stream_end(raw: bytes, head: bytes, start: int) -> int:
    """Where a stream's bytes end: its direct /Length when `endstream` follows there,
    else the next `endstream`."""
    length = _LENGTH.search(head)
    if length is not None:
        end = start + int(length.group(1))
        if raw[end : end + 32].lstrip().startswith(b"endstream"):
            return end
    end = raw.find(b"endstream", start)
    return len(raw) if end < 0 else end


_PNG_TEXT = (b"zTXt", b"iTXt")


def read_png(
    kind: str, data: Data, path: str, base: Content, budget: Budget, depth: int
) -> Iterator[Content | Skipped]:
    """A PNG's compressed text chunks, each a piece `img.png!(zTXt Comment)`. The image
    data (IDAT) is pixels, not read; plain text chunks (tEXt, an uncompressed iTXt) are
    in the PNG's own bytes, scanned as they are. Chunks are walked by their lengths: one
    step a chunk."""
    raw = _whole(data)
    pos = 8
    while pos + 12 <= len(raw):
        size, ctype = struct.unpack_from(">I4s", raw, pos)
        start, pos = pos + 8, pos + 12 + size
        if ctype == b"IEND" or pos > len(raw):
            break
        if ctype not in _PNG_TEXT:
            continue
        chunk = raw[start : start + size]
        keyword, _, rest = chunk.partition(b"\x00")
        if ctype == b"iTXt":
            if rest[:1] != b"\x01":
                continue  # not compressed: in the PNG's own bytes
            rest = rest[2:].split(b"\x00", 2)[-1]  # past the language and translated keyword
        else:
            rest = rest[1:]  # past the compression method
        label = "".join(c if c.isalnum() else "_" for c in keyword[:40].decode("latin-1"))
        where = f"{path}!({ctype.decode()} {label})"
        budget.member(where)
        reader = _Inflater(rest)
        piece = drain(reader, budget, where)
        yield from member(piece, where, base, budget, depth)
        if reader.problem:
            yield Skipped(where, f"its text is {reader.problem}; what came before was scanned")


def _unwrapped(raw: bytes, filters: list[bytes]) -> bytes | None:
    """A stream's bytes with its ASCII filters undone (the FlateDecode after them is left
    to _Inflater), or None when a filter is not read here (LZW, RunLength, Flate before
    another) or its bytes are not what it says: said as not opened."""
    import base64
    import binascii

    *ascii_filters, last = filters
    if last != b"FlateDecode":
        ascii_filters.append(last)
    for name in ascii_filters:
        try:
            if name == b"ASCII85Decode":
                raw = base64.a85decode(
                    raw.strip().removesuffix(b"~>"), ignorechars=b" \t\n\r\x0c\x00"
                )
            elif name == b"ASCIIHexDecode":
                hexes = raw.split(b">", 1)[0].translate(None, b" \t\n\r\x0c\x00")
                raw = binascii.unhexlify(hexes + b"0" * (len(hexes) % 2))
            else:
                return None
        except (ValueError, binascii.Error):
            return None
    return raw
