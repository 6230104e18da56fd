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
from kimi_secret_scan.unpack.archives import Budget, Data, drain, inner_name, leaf, member

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
# Filters of images: pixels, not text (images are not read for text anywhere:
# docs/detection.md). An image is known by its filter or its /Subtype with a /Width;
# any other stream whose bytes are deflated is read whatever else its dictionary says
# (review h9b, finding 1: `/Length1`, `/Image` in a ProcSet, `(obj)` in a string, an
# indirect /Filter or a dictionary over 4 KiB hid a page's text).
_PICTURES = (b"/DCTDecode", b"/JPXDecode", b"/JBIG2Decode", b"/CCITTFaxDecode", b"/DCT")
_IMAGE = re.compile(rb"/Subtype\s*/Image\b")
_INDIRECT = re.compile(rb"/Filter\s*\d+\s+\d+\s+R")
_TEXT_MAX = 32 << 20
_XREF = re.compile(rb"/Type\s*/XRef\b")
_PREDICTOR = re.compile(rb"/Predictor\s+(\d+)")
_DICT_SPAN = 4096


def read_pdf(
    kind: str, data: Data, path: str, base: Content, budget: Budget, depth: int
) -> Iterator[Content | Skipped]:
    """A PDF's FlateDecode streams, each a piece `doc.pdf!(stream 4)` (its object number),
    and the strings a content stream shows (hex strings, TJ arrays' pieces joined) as a
    piece `doc.pdf!(stream 4 text)`.

    Image streams are left out (pixels). ASCII85 and ASCIIHex before the FlateDecode are
    undone, and PNG predictors after it. A stream in a filter not read here that may
    hold text (LZW, RunLength) and an encrypted PDF's streams are said, so a gate fails
    on them rather than passing."""
    from kimi_secret_scan.unpack import zlib_header

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
        if found is not None and any(mark in found.group(1) for mark in _PICTURES):
            continue  # an image
        if _IMAGE.search(head) and b"/Width" in head and not _drawn(raw[start:end]):
            continue  # an image
        filters = [_SHORT.get(m, m) for m in _NAME.findall(found.group(1))] if found else []
        if not filters:
            # No filter in sight (an indirect one, a dictionary the search did not
            # reach): deflated bytes are read as such; other bytes are the PDF's own.
            if zlib_header(raw[start : start + 512]):
                filters = [b"FlateDecode"]
            elif _INDIRECT.search(head):
                unread["an indirect /Filter"] = unread.get("an indirect /Filter", 0) + 1
                continue
            else:
                continue
        where = f"{path}!(stream {name})"
        text = _unwrapped(raw[start:end], filters)
        predictor = _PREDICTOR.search(head)
        step = int(predictor.group(1)) if predictor is not None else 1
        if step != 1 and _XREF.search(head):
            step = 1  # offsets, not text: scanned as inflated (undoing costs a loop a byte)
        if text is None or step not in (1, 10, 11, 12, 13, 14, 15):
            label = " ".join(m.decode() for m in filters[:4])
            label += f" /Predictor {step}" if step != 1 else ""
            unread[label] = unread.get(label, 0) + 1
            continue
        budget.member(where)
        if filters[-1:] != [b"FlateDecode"]:
            budget.take(len(text), where)
            yield from member(Data(text, None, len(text)), where, base, budget, depth)
            continue
        reader = _Inflater(text)
        piece = drain(reader, budget, where)
        if piece.size > _TEXT_MAX:
            # Held whole and walked in Python: past this, the stream's bytes are still
            # scanned, the text it shows is said as not extracted.
            yield Skipped(where, f"over {_TEXT_MAX >> 20} MiB: the text it shows was not read")
        elif step != 1 or not _font_program(head, piece.head()):
            piece, shown = _decoded(piece, head, step)
            if shown:
                budget.take(len(shown), where)
                yield leaf(Data(shown, None, len(shown)), f"{where[:-1]} text)", base)
        yield from member(piece, where, base, budget, depth)
        if reader.problem:
            yield Skipped(
                where, f"its FlateDecode stream is {reader.problem}; what came before was scanned"
            )
    for label, count in sorted(unread.items()):
        yield Skipped(
            path, f"{count} stream(s) in a filter not read ({label}): not opened (could hold text)"
        )


_PRINTABLE = bytes(range(0x20, 0x7F)) + b"\t\n\r\x0c"


def _drawn(raw: bytes) -> bool:
    """Does a stream named an image hold a content stream's operators instead? Its first
    64 KiB inflated are all ASCII, spaced words of more than one kind: pixels seldom are,
    and such a stream is read (a page's text does not hide behind `/Subtype /Image`)."""
    try:
        peek = zlib.decompressobj().decompress(raw, 1 << 16)
    except zlib.error:
        return False
    if not peek or peek.translate(None, _PRINTABLE):
        return False
    return len(set(peek.split())) > 2


# A content stream's text operators: when present, the strings shown are given as a
# piece of their own, as a reader extracts them (the key is in the stream's bytes as it
# is only when one literal `(…) Tj` shows it whole).
_SHOWS = re.compile(rb"T[jJ]|['\"]\s")
_LITERAL = rb"\((?:[^()\\]|\\.|\((?:[^()\\]|\\.)*\))*\)"  # one level of nesting
_HEXES = rb"<[0-9A-Fa-f\s]*>"
_NUMBER_TOKEN = rb"-?(?:\d+(?:\.\d*)?|\.\d+)(?![\d.])"  # (no two numbers from one: linear)
# A show operator and its operands, found by one C-level search: the bytes between two
# are looked at only for a text position's change (a new line).
_SHOW = re.compile(
    rb"\[((?:" + _LITERAL + b"|" + _HEXES + b"|" + _NUMBER_TOKEN + rb"|\s)*)\]\s*TJ"
    rb"|("
    + _LITERAL
    + b"|"
    + _HEXES
    + rb")\s*(?:Tj|'|"
    + _NUMBER_TOKEN
    + rb"\s+"
    + _NUMBER_TOKEN
    + rb"\s+\")",
    re.S,
)
_PIECE = re.compile(_LITERAL + b"|" + _HEXES + b"|" + _NUMBER_TOKEN, re.S)
_MOVE = re.compile(rb"\b(?:Td|TD|Tm|BT|ET)\b|T\*|'|\"")
_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}
_ESCAPE = re.compile(rb"\\([0-7]{1,3}|\r\n|.)", re.S)


def _string(token: bytes) -> bytes:
    if token[:1] == b"<":
        import binascii

        hexes = token[1:-1].translate(None, b" \t\n\r\x0c\x00")
        return binascii.unhexlify(hexes + b"0" * (len(hexes) % 2))

    def one(m: re.Match[bytes]) -> bytes:
        c = m.group(1)
        if c[:1] in b"01234567":
            return bytes((int(c, 8) & 0xFF,))
        if c in (b"\n", b"\r", b"\r\n"):
            return b""  # a line continued
        return _ESCAPES.get(c, c)

    return _ESCAPE.sub(one, token[1:-1])


def shown_text(stream: bytes) -> bytes:
    """The strings a content stream shows, a line per text position: hex strings
    decoded, escapes undone, a TJ array's pieces joined (a wide gap, as a reader does,
    read as a space). Glyph ids of a CID font (Identity-H) are not mapped to letters."""
    lines: list[bytes] = []
    line: list[bytes] = []
    last = 0
    for m in _SHOW.finditer(stream):
        if line and _MOVE.search(stream, last, m.start()):
            lines.append(b"".join(line))
            line = []
        last = m.end()
        if m.group(2) is not None:
            line.append(_string(m.group(2)))
            continue
        for piece in _PIECE.finditer(m.group(1)):
            token = piece.group()
            if token[:1] in b"(<":
                line.append(_string(token))
            elif float(token) < -250:
                line.append(b" ")
    if line:
        lines.append(b"".join(line))
    return b"\n".join(lines)


_FONT = re.compile(rb"/Length[123]\b|/Subtype\s*/(?:Type1C|CIDFontType0C|OpenType)\b")
_CONTROL = bytes(range(32)).translate(None, b"\t\n\x0c\r")


def _font_program(head: bytes, first: bytes) -> bool:
    """A font file (binary glyph programs): its text is not looked for. Its dictionary
    and binary first bytes both say so: a content stream named a font is still read."""
    first = first[:1024]
    return bool(_FONT.search(head)) and len(first.translate(None, _CONTROL)) < len(first)


def _decoded(piece: Data, head: bytes, step: int) -> tuple[Data, bytes]:
    """The inflated stream with its PNG predictor undone, and the text it shows that its
    bytes do not hold as they are (a hex string, TJ pieces, escapes)."""
    stream = _whole(piece)
    if step != 1:
        stream = _unpredicted(stream, head)
        piece.close()
        piece = Data(stream, None, len(stream))
    if not _SHOWS.search(stream):
        return piece, b""
    # Lines the stream's bytes hold as they are are left out: found there, once.
    lines = [line for line in shown_text(stream).split(b"\n") if line not in stream]
    return piece, b"\n".join(lines)


def _parameter(head: bytes, key: bytes, default: int) -> int:
    found = re.search(rb"/" + key + rb"\s+(\d{1,6})", head)
    return int(found.group(1)) if found is not None else default


def _unpredicted(data: bytes, head: bytes) -> bytes:
    """PNG predictor rows (a filter byte, then the row) undone, as PNG does."""
    colors = _parameter(head, b"Colors", 1)
    bits = _parameter(head, b"BitsPerComponent", 8)
    columns = _parameter(head, b"Columns", 1)
    bpp = max(1, colors * bits // 8)
    width = max(1, (colors * bits * columns + 7) // 8)
    out = bytearray()
    prior = bytearray(width)
    for pos in range(0, len(data), width + 1):
        kind, row = data[pos], bytearray(data[pos + 1 : pos + 1 + width].ljust(width, b"\0"))
        for i in range(width) if kind else ():
            left = row[i - bpp] if i >= bpp else 0
            up = prior[i]
            if kind == 1:
                row[i] = (row[i] + left) & 0xFF
            elif kind == 2:
                row[i] = (row[i] + up) & 0xFF
            elif kind == 3:
                row[i] = (row[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                corner = prior[i - bpp] if i >= bpp else 0
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                best = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                row[i] = (row[i] + best) & 0xFF
        out += row
        prior = row
    return bytes(out)


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
