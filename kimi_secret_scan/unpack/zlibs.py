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


_SPACE = re.compile(rb"[\0\t\n\x0c\r ]*")


class _Inflater:
    """A reader of what a deflated stream holds, up to its first error or its end; what
    went wrong (an error, a stream cut short) is kept in `problem`, not raised, so what
    was inflated before it is still scanned.

    Bytes after the stream's end are not dropped unsaid (review h10c, finding 2: a second
    zlib stream after the first passed every gate): another zlib stream there is inflated
    too (`zlib.compress(a) + zlib.compress(b)`, as gzip reads its members); anything else
    is left in `rest` (its offset `end`) for the caller to read or say. Input is fed in
    growing pieces, so a file of many small streams is not copied once per stream."""

    def __init__(self, data: bytes, wbits: int = 15) -> None:
        self._data = data
        self._wbits = wbits
        self._inflater = zlib.decompressobj(wbits)
        self._pos = 0  # input handed to the inflater up to here
        self._feed = 1 << 12
        self._pending = b""
        self.problem = ""
        self.end = len(data)  # where the bytes after the last stream start
        self.rest = 0  # how many there are (not white space, not another stream)

    def read(self, size: int = -1, /) -> bytes:
        size = _CHUNK if size < 0 else size
        data = self._data
        while not self.problem:
            inflater = self._inflater
            if inflater.eof:
                after = self._pos - len(self._pending) - len(inflater.unused_data)
                at = _spaced(data, after)
                if at >= len(data):
                    return b""
                if not _zlib_start(data[at : at + 2]):
                    self.end, self.rest = at, len(data) - at
                    return b""
                self._inflater = zlib.decompressobj(self._wbits)
                self._pos, self._pending, self._feed = at, b"", 1 << 12
                continue
            if not self._pending:
                if self._pos >= len(data):
                    out = inflater.flush()
                    if not inflater.eof:
                        self.problem = "cut short (the stream does not end)"
                        return out
                    if out:
                        return out
                    continue
                self._pending = data[self._pos : self._pos + self._feed]
                self._pos += len(self._pending)
                self._feed = min(self._feed * 2, _CHUNK)
            try:
                out = inflater.decompress(self._pending, size)
            except zlib.error as exc:
                self.problem = f"damaged ({exc})"
                return b""
            self._pending = inflater.unconsumed_tail
            if out:
                return out
        return b""


def _zlib_start(head: bytes) -> bool:
    """A zlib header (deflate, window at most 32 KiB, FCHECK, no preset dictionary): what
    follows is inflated, and said as damaged when it does not inflate."""
    if len(head) < 2:
        return False
    cmf, flg = head[0], head[1]
    return cmf & 0x0F == 8 and cmf >> 4 <= 7 and not (cmf << 8 | flg) % 31 and not flg & 0x20


def _spaced(data: bytes, at: int) -> int:
    """Where the white space from `at` on ends."""
    found = _SPACE.match(data, at)
    return found.end() if found is not None else at


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
    elif reader.rest:
        yield Skipped(
            where,
            f"{reader.rest} byte(s) after the zlib stream's end are not a zlib stream: not "
            "inflated (scanned as they are)",
        )


# A stream: a dictionary's `>>`, white space, the `stream` keyword (spaces may follow it,
# as readers take it), an end of line. Its dictionary is parsed from its `N G obj`.
_WHITE = b"\0\t\n\x0c\r "
_STREAM = re.compile(rb">>[\0\t\n\x0c\r ]*stream[\0\t\x0c ]*(?:\r\n|\n|\r)")
_OBJ = re.compile(rb"(\d{1,10})[\0\t\n\x0c\r ]+\d{1,5}[\0\t\n\x0c\r ]+obj")
_DICT_SPAN = 1 << 16
# The tokens of a dictionary: white space and comments skipped, then a delimiter, a hex
# string, a name or a number / keyword. A literal string is walked by _literal_end.
_TOKEN = re.compile(
    rb"(?:[\0\t\n\x0c\r ]|%[^\r\n]*)*"
    rb"(<<|>>|\[|\]|\(|<[0-9A-Fa-f\0\t\n\x0c\r ]*>|/[^\0\t\n\x0c\r ()<>\[\]{}/%]*"
    rb"|[^\0\t\n\x0c\r ()<>\[\]{}/%]+)"
)
_PAREN = re.compile(rb"[()\\]")
_NAME_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")


class _Name(bytes):
    """A name (`/FlateDecode`), its `#xx` escapes undone, without its slash."""


class _Ref:
    """An indirect reference (`6 0 R`): what it names is looked up for a stream's
    /DecodeParms only (_looked_up)."""

    def __init__(self, number: bytes) -> None:
        self.number = number


_Value = object


def _literal_end(raw: bytes, at: int, stop: int) -> int:
    """The end of the literal string opened at `at` (balanced parentheses, escapes), or -1."""
    depth = 0
    pos = at
    while (m := _PAREN.search(raw, pos, stop)) is not None:
        pos = m.end()
        if m.group() == b"\\":
            pos += 1  # the escaped byte
            continue
        depth += 1 if m.group() == b"(" else -1
        if not depth:
            return pos
    return -1


def _parse(raw: bytes, at: int, stop: int, depth: int = 0) -> tuple[_Value, int] | None:
    """One object from `at`: a dictionary, an array, a name, a string, a number or
    keyword; None when the bytes are not one (or nest past 32 levels)."""
    m = _TOKEN.match(raw, at, stop)
    if m is None or depth > 32:
        return None
    token, at = m.group(1), m.end()
    if token == b"(":
        end = _literal_end(raw, m.start(1), stop)
        return (b"(", end) if end > 0 else None
    if token[:1] == b"/":
        name = _NAME_ESCAPE.sub(lambda e: bytes((int(e.group(1), 16),)), token[1:])
        return _Name(name), at
    if token[:1] == b"<" and token != b"<<":
        return b"<", at
    if token not in (b"<<", b"["):
        return (None if token in (b">>", b"]") else token), at
    close = b">>" if token == b"<<" else b"]"
    items: list[_Value] = []
    while True:
        m = _TOKEN.match(raw, at, stop)
        if m is None:
            return None
        if m.group(1) == close:
            at = m.end()
            break
        one = _parse(raw, at, stop, depth + 1)
        if one is None or one[0] is None:
            return None
        value, at = one
        number = items[-2] if len(items) >= 2 else None
        numbers = all(type(v) is bytes and v.isdigit() for v in items[-2:])
        if type(value) is bytes and value == b"R" and numbers and isinstance(number, bytes):
            items[-2:] = [_Ref(number)]
            continue
        items.append(value)
    if close == b"]":
        return items, at
    if len(items) % 2:
        return None
    keys = [bytes(k) for k in items[::2] if isinstance(k, _Name)]
    if len(keys) * 2 != len(items):
        return None
    return dict(zip(keys, items[1::2], strict=True)), at


def _dictionary(raw: bytes, low: int, close: int) -> tuple[str, dict[bytes, _Value]] | None:
    """A stream's dictionary, ending at `close` (after its `>>`), and its object number:
    parsed from its `N G obj` (the last of three before it that parses to there), so a
    `/Filter` in a string or a nested dictionary is not taken for the stream's own."""
    starts = list(_OBJ.finditer(raw, low, close))
    for found in reversed(starts[-3:]):
        one = _parse(raw, found.end(), close)
        if one is not None and one[1] == close and isinstance(one[0], dict):
            return found.group(1).decode(), one[0]
    return None


_LOOKUPS = 32


def _looked_up(raw: bytes, ref: _Value, objects: dict[bytes, _Value]) -> _Value:
    """What an indirect reference names: its object's last definition (an update's),
    parsed; the reference itself when not found or past _LOOKUPS objects a PDF (each
    costs a search of the file)."""
    if not isinstance(ref, _Ref):
        return ref
    if ref.number not in objects:
        if len(objects) >= _LOOKUPS:
            return ref
        white = rb"[\0\t\n\x0c\r ]+"
        spelled = re.compile(rb"(?<![0-9])" + ref.number + white + rb"\d{1,5}" + white + b"obj")
        found = list(spelled.finditer(raw))
        at = found[-1].end() if found else -1
        one = _parse(raw, at, min(len(raw), at + _DICT_SPAN)) if at >= 0 else None
        objects[ref.number] = one[0] if one is not None and one[0] is not None else ref
    return objects[ref.number]


# Filters read here, by their full names (the short ones are inline images' and some
# writers'); FlateDecode only as the last (it is inflated as it streams, within the
# budget), the ASCII ones before it (their output is smaller than their input).
_SHORT = {b"Fl": b"FlateDecode", b"A85": b"ASCII85Decode", b"AHx": b"ASCIIHexDecode"}
# Filters of images: pixels, not text (images are not read for text anywhere:
# docs/detection.md). An image is known by its filter or its /Subtype with a /Width;
# any other stream is read whatever else its dictionary says (reviews h9b, finding 1;
# h10c, finding 3).
_PICTURES = {b"DCTDecode", b"JPXDecode", b"JBIG2Decode", b"CCITTFaxDecode", b"DCT", b"CCF"}
_TEXT_MAX = 32 << 20
# PNG predictor rows are undone row by row with bytes operations; Average and Paeth rows
# byte by byte. Past these (a PDF's total), the stream is scanned as inflated and said
# (review h10c, finding 5: 8 streams of one-byte Paeth rows took a minute).
_ROWS_MAX = 1 << 18
_SLOW_MAX = 2 << 20


_INTEGER = re.compile(rb"\+?\d{1,9}(?:\.0*)?")


class _Stream:
    """What a stream's dictionary says that is read here."""

    def __init__(self, entries: dict[bytes, _Value] | None) -> None:
        d = entries or {}
        self.known = entries is not None
        found = d.get(b"Filter")
        names = found if isinstance(found, list) else [] if found is None else [found]
        self.indirect = not all(isinstance(n, _Name) for n in names)
        self.filters = [_SHORT.get(bytes(n), bytes(n)) for n in names if isinstance(n, _Name)]
        parms = d.get(b"DecodeParms", d.get(b"DP"))
        if isinstance(parms, list):
            flate = self.filters.index(b"FlateDecode") if b"FlateDecode" in self.filters else -1
            parms = parms[flate] if 0 <= flate < len(parms) else None
        self.parms = parms if isinstance(parms, dict) else {}
        length = d.get(b"Length")
        self.length = int(length) if type(length) is bytes and length.isdigit() else -1
        self.image = d.get(b"Subtype") == b"Image" and b"Width" in d
        self.xref = d.get(b"Type") == b"XRef"

    def number(self, key: bytes, default: int) -> int:
        value = self.parms.get(key)
        if type(value) is bytes and _INTEGER.fullmatch(value):
            return int(float(value))  # (`12.0` too, as readers take it)
        return default


def read_pdf(
    kind: str, data: Data, path: str, base: Content, budget: Budget, depth: int
) -> Iterator[Content | Skipped]:
    """A PDF's streams: each FlateDecode one inflated, a piece `doc.pdf!(stream 4)` (its
    object number), and the strings a content stream shows (hex strings, TJ arrays'
    pieces joined), whatever its filter, as a piece `doc.pdf!(stream 4 text)`.

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
    work = [0, 0]  # predictor rows and Average / Paeth bytes undone in this PDF
    again = 0  # bytes read twice, under a /Length over an `endstream`
    objects: dict[bytes, _Value] = {}  # indirect /DecodeParms looked up
    # Each search starts where the last stream's bytes ended (or at the first `endstream`
    # in them), and a dictionary is looked for back to there only: one pass.
    done = 0
    match = _STREAM.search(raw)
    while match is not None:
        close, start = match.start() + 2, match.end()
        first = raw.find(b"endstream", start)
        if first >= 0 and _spaced(raw, start) >= first:
            done = first  # an empty stream: nothing to read, whatever its dictionary
            match = _STREAM.search(raw, done)
            continue
        found = _dictionary(raw, max(done, close - _DICT_SPAN), close)
        if found is not None and isinstance(found[1].get(b"DecodeParms"), _Ref):
            found[1][b"DecodeParms"] = _looked_up(raw, found[1][b"DecodeParms"], objects)
        name, info = (found[0], _Stream(found[1])) if found else (str(close), _Stream(None))
        end, done = _stream_end(raw, info.length, start)
        if not info.known and (inner := _STREAM.search(raw, start, end)) is not None:
            end = done = inner.start()  # (a dictionary not parsed: up to the next stream)
        elif end > done:
            # A /Length over an `endstream`: what follows is read again as the next
            # objects, up to the file's size in all (nested lengths would be quadratic).
            again += end - done
            end = end if again <= len(raw) else done
        match = _STREAM.search(raw, done)
        body = raw[start:end]
        filters = info.filters
        if _PICTURES.intersection(filters):
            continue  # an image
        if not filters or info.indirect or not info.known:
            # A filter not in sight (none, an indirect one, a dictionary not parsed):
            # deflated bytes are read as such, text as text; other bytes are said.
            if zlib_header(body[:512]):
                filters = [b"FlateDecode"]
            elif info.indirect:
                unread["an indirect /Filter"] = unread.get("an indirect /Filter", 0) + 1
                continue
            elif not info.known and not _SHOW.search(body[: 1 << 16]):
                # (Its filter unknown: text is read only when it shows a string; hex
                # or ASCII85 digits behind a dictionary not parsed are said.)
                unread["a dictionary not read"] = unread.get("a dictionary not read", 0) + 1
                continue
        where = f"{path}!(stream {name})"
        text = _unwrapped(body, filters) if filters else body
        flate = filters[-1:] == [b"FlateDecode"]
        if info.image and not _drawn(body if text is None else text, flate):
            continue  # an image
        step = info.number(b"Predictor", 1)
        if step != 1 and info.xref:
            step = 1  # offsets, not text: scanned as inflated (undoing costs a loop a row)
        if text is None or step not in (1, 10, 11, 12, 13, 14, 15):
            label = " ".join(m.decode("latin-1") for m in filters[:4])
            label += f" /Predictor {step}" if step != 1 else ""
            unread[label] = unread.get(label, 0) + 1
            continue
        if not flate:
            # No filter (the PDF's own bytes, scanned as they are) or ASCII ones alone
            # (their output a member): the text it shows is read either way.
            shown = _shown(text) if len(text) <= _TEXT_MAX else b""
            if len(text) > _TEXT_MAX and _shows(text):
                yield Skipped(where, f"over {_TEXT_MAX >> 20} MiB: the text it shows was not read")
            if filters or shown:
                budget.member(where)
            if filters:
                budget.take(len(text), where)
                yield from member(Data(text, None, len(text)), where, base, budget, depth)
            if shown:
                budget.take(len(shown), where)
                yield leaf(Data(shown, None, len(shown)), f"{where[:-1]} text)", base)
            continue
        budget.member(where)
        reader = _Inflater(text)
        piece = drain(reader, budget, where)
        if piece.size > _TEXT_MAX:
            # Held whole and walked in Python: past this, the stream's bytes are still
            # scanned, the text it shows is said as not extracted.
            yield Skipped(where, f"over {_TEXT_MAX >> 20} MiB: the text it shows was not read")
        else:
            stream = _whole(piece)
            if step != 1:
                undone = _unpredicted(stream, info, work)
                if undone is None:
                    yield Skipped(
                        where,
                        "PNG predictor rows past the limit (262144 rows, 2 MiB of Average or "
                        "Paeth rows a PDF) not undone: its bytes were scanned as inflated",
                    )
                else:
                    piece.close()
                    stream = undone
                    piece = Data(stream, None, len(stream))
            shown = _shown(stream)
            if shown:
                budget.take(len(shown), where)
                yield leaf(Data(shown, None, len(shown)), f"{where[:-1]} text)", base)
        yield from member(piece, where, base, budget, depth)
        if reader.problem:
            yield Skipped(
                where, f"its FlateDecode stream is {reader.problem}; what came before was scanned"
            )
        elif reader.rest and filters != [b"FlateDecode"]:
            yield Skipped(where, f"{reader.rest} byte(s) after its FlateDecode stream: not read")
        elif reader.rest and raw[start + reader.end : done].strip(_WHITE):
            # (Bytes after `done` are read as the PDF's own: a /Length over the next
            # object leaves it to be read as itself.) Streams in the bytes after the
            # zlib stream are read as themselves, within the same bound.
            after = start + reader.end
            inner = _STREAM.search(raw, after, end)
            if inner is not None and again + end - after <= len(raw):
                again += end - after
                match, done = inner, after
                continue
            yield Skipped(
                where,
                f"{reader.rest} byte(s) after its FlateDecode stream: not inflated "
                "(scanned as they are)",
            )
    for label, count in sorted(unread.items()):
        yield Skipped(
            path, f"{count} stream(s) in a filter not read ({label}): not opened (could hold text)"
        )


_PRINTABLE = bytes(range(0x20, 0x7F)) + b"\t\n\r\x0c"


def _drawn(body: bytes, flate: bool) -> bool:
    """Does a stream named an image hold a content stream's operators instead? Its first
    64 KiB (inflated) show a string by Tj or TJ in a text block (not `'`: pixels hold
    `(…)'` by chance in one image of three), or are all ASCII, spaced words of more than one
    kind: pixels seldom are, and such a stream is read (a page's text does not hide
    behind `/Subtype /Image`, nor behind a comment of other bytes: review h10c)."""
    peek = body[: 1 << 16]
    if flate:
        try:
            peek = zlib.decompressobj().decompress(body, 1 << 16)
        except zlib.error:
            return False
    if b"BT" in peek and _shown_by_tj(peek):
        return True
    if not peek or peek.translate(None, _PRINTABLE):
        return False
    return len(set(peek.split())) > 2


def _shown_by_tj(peek: bytes) -> bool:
    """Does a `Tj` or `TJ` in `peek` show a string? Looked for before its first few
    occurrences only (a search of the whole 64 KiB of pixels costs milliseconds)."""
    for op in (b"Tj", b"TJ"):
        at = peek.find(op)
        for _ in range(16):
            if at < 0:
                break
            found = _SHOWN_HERE.search(peek, max(0, at - 2048), at + 2)
            if found is not None and (found.group(2) or b"(" in found.group(1)):
                return True
            at = peek.find(op, at + 2)
    return False


# A content stream's text operators: when present, the strings shown are given as a
# piece of their own, as a reader extracts them (the key is in the stream's bytes as it
# is only when one literal `(…) Tj` shows it whole).
_SHOWS = re.compile(rb"T[jJ]|['\"]\s")


def _shows(stream: bytes) -> bool:
    """Any text operator? (Byte searches first: a stream of 31 MiB costs a regex pass
    only when one of them is there.)"""
    marked = b"Tj" in stream or b"TJ" in stream or b"'" in stream or b'"' in stream
    return marked and _SHOWS.search(stream) is not None


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
_SHOWN_HERE = re.compile(b"(?:" + _SHOW.pattern + rb")\Z", re.S)  # (up to a search's end)
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


def _shown_lines(stream: bytes) -> list[tuple[bytes, bool]]:
    """The strings a content stream shows, a line per text position, each with whether
    the stream's bytes hold it as it is (one literal string without escapes)."""
    lines: list[tuple[bytes, bool]] = []
    line: list[bytes] = []
    held = False
    last = 0
    for m in _SHOW.finditer(stream):
        if line and _MOVE.search(stream, last, m.start()):
            lines.append((b"".join(line), held))
            line = []
        last = m.end()
        if m.group(2) is not None:
            token = m.group(2)
            held = not line and token[:1] == b"(" and b"\\" not in token
            line.append(_string(token))
            continue
        held = False
        for piece in _PIECE.finditer(m.group(1)):
            token = piece.group()
            if token[:1] in b"(<":
                line.append(_string(token))
            elif float(token) < -250:
                line.append(b" ")
    if line:
        lines.append((b"".join(line), held))
    return lines


def shown_text(stream: bytes) -> bytes:
    """The strings a content stream shows, a line per text position: hex strings
    decoded, escapes undone, a TJ array's pieces joined (a wide gap, as a reader does,
    read as a space). Glyph ids of a CID font (Identity-H) are not mapped to letters."""
    return b"\n".join(line for line, _ in _shown_lines(stream))


# What a key and the setting before it are made of: two strings that end and start with
# these are read joined too.
_GLUED = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-="
_WHOLE = 72  # a Kimi Code key's length, the longest


def _key_start(line: bytes) -> bytes:
    """The end of a string a key may start in: from its last `sk-` (with the setting
    glued before it) when shorter than a whole key, or the `s` or `sk` of a cut `sk-`
    it ends with; else nothing (a key it holds whole is found in it)."""
    tail = line[-256:]
    tail = tail[len(tail.rstrip(_GLUED)) :]
    key = tail.rfind(b"sk-")
    if key < 0:
        return b"sk" if tail.endswith(b"sk") else b"s" if tail.endswith(b"s") else b""
    return tail if len(tail) - key < _WHOLE else b""


def _key_rest(line: bytes) -> bytes:
    """The start of a string a key's rest may be in: up to a `sk-` of its own."""
    head = line[:256]
    head = head[: len(head) - len(head.lstrip(_GLUED))]
    own = head.find(b"sk-")
    return head if own < 0 else head[:own]


def _seams(lines: list[tuple[bytes, bool]]) -> list[bytes]:
    """Where strings meet, the key they may hold between them: a key's start at the end
    of one and its rest at the start of the next (or of several: a key cut in three),
    joined; given when a string in it is held as it is (the others are in the piece)."""
    out: list[bytes] = []
    carry, held_in, joins = b"", False, 0
    for line, held in lines:
        rest = _key_rest(line) if carry else b""
        if rest:
            joined = carry + rest
            if len(rest) == len(line) and len(joined) - joined.rfind(b"sk-") < _WHOLE:
                # The whole string is more of the key, still short of a whole one.
                carry, held_in, joins = joined, held_in or held, joins + 1
                continue
            if held_in or held:
                out.append(joined)
        elif joins and held_in:
            out.append(carry)
        carry, held_in, joins = _key_start(line), held, 0
    if joins and held_in:
        out.append(carry)
    return out


def _shown(stream: bytes) -> bytes:
    """The text a stream shows that its bytes do not hold as it is (a hex string, TJ
    pieces, escapes), and where strings meet, their edges joined: a key drawn as two
    strings or more (side by side, or wrapped to the next line) is read whole (review
    h10c, finding 4). A string held as it is is found in the stream's bytes, once."""
    if not _shows(stream):
        return b""
    head = stream[:4096]
    if len(head.translate(None, _CONTROL)) < len(head):
        # Binary from its start (a font program, pixels, an application's private data):
        # read from its first `BT` operator on, where text operators may be; the show
        # pattern's pass over the rest cost ~0.08 s for one 2 MB Illustrator file of
        # psf/requests (29 streams of compressed data). A content stream that starts
        # with an inline image has its text read all the same.
        stream = _text_blocks(stream)
    lines = _shown_lines(stream)
    out = [line for line, held in lines if not held]
    return b"\n".join(out + _seams(lines))


# Bytes text does not hold (line breaks, tab and form feed are text).
_CONTROL = bytes(range(32)).translate(None, b"\t\n\x0c\r")


# `BT` as an operator: a token of its own (whitespace or a delimiter on each side). Random
# bytes hold one about once in 16 MiB; a content stream writes one per text block.
_BT = re.compile(rb"(?:(?<=[\s()<>\[\]{}/%])|^)BT(?=[\s()<>\[\]{}/%]|$)")


def _text_blocks(stream: bytes) -> bytes:
    """The stream from its first text block on (nothing when it opens none). Not cut at
    an `ET`: a string may hold those letters, and the text after them would be lost."""
    first = _BT.search(stream)
    return stream[first.start() :] if first is not None else b""


def _unpredicted(data: bytes, info: _Stream, work: list[int]) -> bytes | None:
    """PNG predictor rows (a filter byte, then the row) undone, as PNG does; None past
    the PDF's limits (`work`: rows and Average / Paeth bytes undone so far)."""
    from itertools import accumulate

    colors = info.number(b"Colors", 1)
    bits = info.number(b"BitsPerComponent", 8)
    columns = info.number(b"Columns", 1)
    bpp = max(1, colors * bits // 8)
    width = max(1, (colors * bits * columns + 7) // 8)
    if width > 1 << 24:
        return None
    kinds = data[:: width + 1]
    rows = bytearray(data)
    del rows[:: width + 1]  # the filter bytes out, in one step
    rows += bytes(len(kinds) * width - len(rows))
    if not kinds.strip(b"\0"):
        return bytes(rows)
    work[0] += len(kinds)
    if work[0] > _ROWS_MAX:
        return None
    low = int.from_bytes(b"\x7f" * width, "big")
    high = int.from_bytes(b"\x80" * width, "big")
    byte = (255).__and__
    prior = bytes(width)
    for n, kind in enumerate(kinds):
        row = rows[n * width : (n + 1) * width]
        if kind == 2:
            # Bytewise sums, without carries, in one big-integer step.
            a, b = int.from_bytes(row, "big"), int.from_bytes(prior, "big")
            row = bytearray((((a & low) + (b & low)) ^ ((a ^ b) & high)).to_bytes(width, "big"))
        elif kind == 1:
            for lane in range(min(bpp, width)):
                row[lane::bpp] = bytes(map(byte, accumulate(row[lane::bpp])))
        elif kind in (3, 4):
            work[1] += width
            if work[1] > _SLOW_MAX:
                return None
            _slow_row(row, prior, bpp, kind)
        rows[n * width : (n + 1) * width] = row
        prior = bytes(row)
    return bytes(rows)


def _slow_row(row: bytearray, prior: bytes, bpp: int, kind: int) -> None:
    """An Average (3) or Paeth (4) row undone in place, byte by byte."""
    for i in range(len(row)):
        left = row[i - bpp] if i >= bpp else 0
        up = prior[i]
        if kind == 3:
            row[i] = (row[i] + (left + up) // 2) & 0xFF
            continue
        corner = prior[i - bpp] if i >= bpp else 0
        p = left + up - corner
        pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
        best = left if pa <= pb and pa <= pc else up if pb <= pc else corner
        row[i] = (row[i] + best) & 0xFF


def _stream_end(raw: bytes, length: int, start: int) -> tuple[int, int]:
    """Where a stream's bytes end (its direct /Length when `endstream` follows there,
    else the next `endstream`), and where the search for the next stream goes on: at
    the first `endstream`, so a /Length running over the next object leaves it to be
    read as itself (review h10c, finding 2: its page passed every gate)."""
    first = raw.find(b"endstream", start)
    first = len(raw) if first < 0 else first
    if length >= 0:
        end = start + length
        if raw[end : end + 32].lstrip(_WHITE).startswith(b"endstream"):
            return end, min(end, first)
    return first, first


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
        elif reader.rest:
            yield Skipped(where, f"{reader.rest} byte(s) after its zlib stream: not inflated")


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
