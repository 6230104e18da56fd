"""The readers behind unpack.expand(): zip, tar, gzip, bzip2, xz (SQLite: sqlite.py; zlib
and PDF: zlibs.py).

Every container is read whole from memory or from a temporary file, never extracted to
disk under its members' names (they are an attacker's): a member is read into memory when
it is no larger than a scan window, else into an anonymous temporary file that is scanned
in windows and deleted once scanned. Bytes are counted as they are decompressed, so a
bomb is stopped at the limit, whatever sizes its headers declare.
"""

from __future__ import annotations

import dataclasses
import functools
import io
import tempfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import IO, TYPE_CHECKING, Any, Protocol, cast

if TYPE_CHECKING:
    import tarfile

from kimi_secret_scan.content import Content, Skipped
from kimi_secret_scan.unpack import (
    _ZIP_METHODS,
    HEAD,
    SCRIPT_SPAN,
    TAIL,
    Limits,
    behind_prefix,
    container_kind,
    find_container,
)

if TYPE_CHECKING:
    from zipfile import ZipInfo

_CHUNK = 1 << 20
# A damaged or hostile container makes the standard library's readers raise nearly
# anything (BadZipFile, TarError, struct.error, zlib.error, sqlite3.Error, EOFError…):
# whatever they raise means "could not be read", and is reported as such.
_BROKEN = (Exception,)


class LimitHit(Exception):
    """A limit is reached: nothing more of the outermost container is unpacked."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(reason)
        self.path = path
        self.reason = reason


class Budget:
    """What is left to unpack of one outermost container."""

    def __init__(self, limits: Limits, size: int, top: str) -> None:
        self.limits = limits
        self.top = top
        self.cap = min(limits.max_bytes, max(limits.ratio_floor, limits.max_ratio * size))
        self.out = 0
        self.members = 0

    def take(self, n: int, where: str) -> None:
        self.out += n
        if self.out <= self.cap:
            return
        limits = self.limits
        if self.cap == limits.max_bytes:
            why = f"more than {limits.max_bytes} bytes unpacked (limit: max-unpacked-bytes)"
        else:
            why = (
                f"unpacks to more than {limits.max_ratio} times the size of {self.top} "
                "(limit: max-unpack-ratio): a compression bomb?"
            )
        raise LimitHit(where, f"{why}; this and the rest of {self.top} were not scanned")

    def member(self, where: str) -> None:
        self.members += 1
        if self.members > self.limits.max_members:
            raise LimitHit(
                where,
                f"more than {self.limits.max_members} members in {self.top} (limit: "
                "max-unpacked-members); this and the rest were not scanned",
            )


@dataclasses.dataclass
class Data:
    """Unpacked bytes: in memory, or in a temporary file when larger than a window."""

    raw: bytes | None
    file: IO[bytes] | None
    size: int

    def stream(self) -> IO[bytes]:
        if self.raw is not None:
            return io.BytesIO(self.raw)
        assert self.file is not None
        self.file.seek(0)
        return self.file

    def head(self) -> bytes:
        if self.raw is not None:
            return self.raw[:HEAD]
        assert self.file is not None
        self.file.seek(0)
        return self.file.read(HEAD)

    def chunks(self) -> Iterator[bytes]:
        assert self.file is not None
        # A handle of its own: the scan may read while the container's reader is open.
        with open(self.file.name, "rb") as handle:
            while chunk := handle.read(_CHUNK):
                yield chunk

    def close(self) -> None:
        if self.file is not None:
            self.file.close()

    def where(self) -> tuple[str, int] | None:
        """Which container these bytes are, and where it starts (unpack.find_container)."""
        if self.raw is not None:
            return find_container(self.raw)
        assert self.file is not None
        self.file.seek(0)
        head = self.file.read(SCRIPT_SPAN)
        kind = container_kind(head[:HEAD])
        if kind is not None:
            return kind, 0
        start = max(0, self.size - TAIL)
        self.file.seek(start)
        return behind_prefix(head, self.file.read(), start)

    def after(self, offset: int, keep: bool = False) -> Data:
        """The bytes from `offset` on (a container behind a prefix); this one is closed
        unless `keep`."""
        if not offset:
            return self
        if self.raw is not None:
            return Data(self.raw[offset:], None, self.size - offset)
        assert self.file is not None
        spool = temp_file()
        try:
            self.file.seek(offset)
            while chunk := self.file.read(_CHUNK):
                spool.write(chunk)
            spool.flush()
        except BaseException:
            spool.close()
            raise
        finally:
            if not keep:
                self.close()
        return Data(None, spool, self.size - offset)


def temp_file() -> IO[bytes]:
    # Named: SQLite opens a database by its name. Deleted when closed.
    return tempfile.NamedTemporaryFile(prefix="kimi-secret-scan-")


class Reader(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


def drain(reader: Reader, budget: Budget, where: str) -> Data:
    """Everything `reader` gives, counted against the budget as it is decompressed."""
    from kimi_secret_scan.windows import WINDOW

    parts: list[bytes] = []
    size = 0
    spool: IO[bytes] | None = None
    try:
        while chunk := reader.read(_CHUNK):
            budget.take(len(chunk), where)
            size += len(chunk)
            if spool is None and size > WINDOW:
                spool = temp_file()
                spool.writelines(parts)
                parts = []
            if spool is not None:
                spool.write(chunk)
            else:
                parts.append(chunk)
    except BaseException:
        if spool is not None:
            spool.close()
        raise
    if spool is not None:
        spool.flush()
        return Data(None, spool, size)
    return Data(b"".join(parts), None, size)


def source(content: Content) -> Data:
    """The outermost container's bytes (its source bounded their size already)."""
    if content.chunks is None:
        return Data(content.data, None, len(content.data))
    spool = temp_file()
    size = 0
    try:
        for chunk in content.chunks():
            spool.write(chunk)
            size += len(chunk)
        spool.flush()
    except BaseException:
        spool.close()
        raise
    return Data(None, spool, size)


def why(exc: BaseException) -> str:
    """An error's message on one short line (it may quote the container's own text)."""
    text = " ".join(str(exc).split()) or exc.__class__.__name__
    return text if len(text) <= 160 else text[:157] + "..."


def expand(
    kind: str, content: Content, limits: Limits, offset: int = 0
) -> Iterator[Content | Skipped]:
    data = source(content)
    budget = Budget(limits, data.size, content.path)
    try:
        data = data.after(offset)
        yield from _open(kind, data, content.path, content, budget, 1)
    except LimitHit as hit:
        yield Skipped(hit.path, hit.reason)
    finally:
        data.close()


def _open(
    kind: str, data: Data, path: str, base: Content, budget: Budget, depth: int
) -> Iterator[Content | Skipped]:
    from kimi_secret_scan.unpack import gitpack, zlibs

    readers = {
        "zlib": zlibs.read_zlib,
        "pdf": zlibs.read_pdf,
        "png": zlibs.read_png,
        "zip": _zip,
        "tar": _tar,
        "sqlite": _sqlite,
        "pack": _unopened,
        "lzh": _unopened,
        "old gzip": _unopened,
        "git bundle": gitpack.read_pack,
        "git pack": gitpack.read_pack,
    }
    reader = readers.get(kind, _stream)
    try:
        yield from reader(kind, data, path, base, budget, depth)
        if kind in ("png", "pdf") and _zip_after(data):
            # A polyglot (review h9b, finding 6): what the zip holds too.
            yield from _open("zip", data, path, base, budget, depth)
    except LimitHit:
        raise
    except _BROKEN as exc:
        # Its bytes: the outermost container's by the pipeline, a nested one's by member().
        said = "its bytes were scanned as they are"
        yield Skipped(path, f"could not be read as {kind} ({why(exc)}); {said}")


def _zip_after(data: Data) -> bool:
    """Is there a zip at the end of these bytes (a PNG or PDF with a zip appended)?"""
    from kimi_secret_scan.unpack import zip_at_end

    if data.size < 98:
        return False
    start = max(0, data.size - TAIL)
    if data.raw is not None:
        return zip_at_end(data.raw[start:], start)
    assert data.file is not None
    data.file.seek(start)
    return zip_at_end(data.file.read(), start)


def _unopened(
    kind: str, data: Data, path: str, base: Content, budget: Budget, depth: int
) -> Iterator[Content | Skipped]:
    """A format `gzip -d` and `zcat` still read (review 7 #3) that has no reader here:
    said, so a gate that finds no key exits 2, never 0."""
    said = "its bytes were scanned as they are"  # (by the pipeline, or by member())
    yield Skipped(path, f"a {kind} file (`gzip -d` reads it), not opened; {said}")


def leaf(data: Data, path: str, base: Content) -> Content:
    """A piece to scan, with the outermost container's commit and known keys."""
    outer = base.container or base.path
    if data.raw is not None:
        raw, chunks, size = data.raw, None, 0
    else:
        raw, chunks, size = b"", data.chunks, data.size
    return dataclasses.replace(
        base, path=path, data=raw, lines=None, chunks=chunks, size=size, container=outer, cells=()
    )


def member(
    data: Data, path: str, base: Content, budget: Budget, depth: int
) -> Iterator[Content | Skipped]:
    """A member: scanned as it is, and opened too when it is a container itself."""
    try:
        found = data.where()
        if found is None:
            yield leaf(data, path, base)
            return
        kind, offset = found
        if depth >= budget.limits.max_depth:
            yield Skipped(
                path,
                f"{kind} nested {depth + 1} containers deep, not opened (limit: "
                f"max-unpack-depth {budget.limits.max_depth}); its bytes were scanned as "
                "they are",
            )
            yield leaf(data, path, base)
            return
        inner = data.after(offset, keep=True)
        try:
            yield from _open(kind, inner, path, base, budget, depth + 1)
        finally:
            if inner is not data:
                inner.close()
        # Then its own bytes, as the outermost container's are scanned (review h10c #1):
        # a reader reads only part of them (a PDF's uncompressed page, its /Info, an
        # attachment; a launch script before an archive). Yielded after what it holds,
        # so a key found there is reported at the member only (unpack.Found).
        yield leaf(data, path, base)
    finally:
        data.close()


class _Names:
    """An archive's own text beside its members' bytes: member names, link targets, pax
    records (xattrs, comments), zip comments. The container's raw bytes hold them too,
    but not always as read (a pax record, a name's encoding): so they are given as pieces
    of their own, each line located at its member's path (`cells`), at every
    depth (at the outermost, a key found there is then not reported again at the
    container's path). `tar -x` writes a name, a link target and (`--xattrs`) an xattr
    to disk as they are."""

    _FLUSH = 1 << 20

    def __init__(self, path: str, base: Content, budget: Budget) -> None:
        self.path = path
        self.base = base
        self.budget = budget
        self.parts: list[bytes] = []
        self.cells: list[tuple[int, str]] = []
        self.line = 1
        self.size = 0

    def add(self, cell: str, texts: Iterator[str] | list[str]) -> Iterator[Content]:
        for text in texts:
            if not text:
                continue
            value = text.encode("utf-8", "surrogateescape")
            self.cells.append((self.line, cell))
            self.parts.append(value)
            self.line += value.count(b"\n") + 1
            self.size += len(value) + 1
        if self.size >= self._FLUSH:
            yield from self.flush()

    def flush(self) -> Iterator[Content]:
        if not self.parts:
            return
        text = b"\n".join(self.parts) + b"\n"
        self.budget.take(len(text), self.path)
        yield dataclasses.replace(
            self.base,
            path=self.path,
            data=text,
            lines=None,
            chunks=None,
            size=0,
            container=self.base.container or self.base.path,
            cells=tuple(self.cells),
        )
        self.parts, self.cells, self.line, self.size = [], [], 1, 0


def _zip(
    kind: str, data: Data, path: str, base: Content, budget: Budget, depth: int
) -> Iterator[Content | Skipped]:
    import zipfile

    with zipfile.ZipFile(data.stream()) as archive, _Bytes(data) as raw:
        spans: list[tuple[int, int]] = []
        names = _Names(path, base, budget)
        comment = archive.comment.decode("utf-8", "surrogateescape")
        yield from names.add("", [comment])
        for info in archive.infolist():
            where = f"{path}!{info.filename}"
            note = info.comment.decode("utf-8", "surrogateescape")
            yield from names.add(f"!{info.filename}", [info.filename, note])
            local = _local_header(raw, info)
            if isinstance(local, str):
                # Nothing to read where the directory points: zipfile would refuse it too.
                yield Skipped(where, f"could not be decompressed ({local})")
                continue
            method, start, problem, told = local
            if method == 0 and told != info.compress_size:
                # A stored member's local header gives another size: a streaming reader
                # (Java's ZipInputStream; unzip with a local zip64 size) reads that many
                # bytes, then takes the next local header; so every header inside the
                # span the directory gives is tried as an unlisted member.
                spans.append((info.header_offset, start))
            else:
                spans.append((info.header_offset, start + info.compress_size))
            # A directory holds no bytes (stored, or an empty deflate stream); one whose
            # entry carries some is read like a file: a streaming reader (Java's
            # ZipInputStream) takes the local header's name and inflates what follows.
            if info.is_dir():
                if not (problem or method or info.compress_size or info.file_size):
                    continue
            else:
                budget.member(where)
            if info.flag_bits & 0x1:
                yield Skipped(where, "encrypted, not read")
                continue
            try:
                if method in (0, 8):
                    # Read from the zip's own bytes, not through zipfile: zipfile stops
                    # at the size the directory declares, without a word, where unzip
                    # and Java inflate the stream to its end (hostile review 6).
                    reader = _Inflate(raw, start, info.compress_size, method)
                    piece = drain(reader, budget, where)
                    problem = problem or reader.disagrees(info, piece.size)
                else:
                    with archive.open(info) as handle:
                        piece = drain(handle, budget, where)
                    problem = problem or _beyond(raw, start, info, method)
            except LimitHit:
                raise
            except _BROKEN as exc:
                yield Skipped(where, f"could not be decompressed ({why(exc)})")
                continue
            if problem:
                yield Skipped(where, _DISAGREE.format(problem=problem))
            if info.is_dir() and not piece.size:
                piece.close()
            else:
                if info.is_dir():
                    budget.member(where)
                yield from member(piece, where, base, budget, depth)
            if method == 0 and told != info.compress_size and not info.flag_bits & 0x1:
                # The bytes the local header's size covers, read too: what the directory
                # lists (zipfile) and what a streaming reader extracts both are scanned.
                try:
                    streamed = drain(_Inflate(raw, start, told, 0), budget, where)
                except LimitHit:
                    raise
                except _BROKEN as exc:
                    yield Skipped(where, f"could not be decompressed ({why(exc)})")
                    continue
                yield from member(streamed, where, base, budget, depth)
        yield from names.flush()
        yield from _orphans(raw, spans, archive.start_dir, path, base, budget, depth)


_DISAGREE = (
    "the zip's headers or data disagree ({problem}), so zip readers differ on what it "
    "holds; read as unzip and Java's readers read it"
)


class _Bytes:
    """The zip's own bytes, read at offsets: for what zipfile does not check."""

    def __init__(self, data: Data) -> None:
        self.raw = data.raw
        self.handle: IO[bytes] | None = None
        if data.raw is None:
            assert data.file is not None
            self.handle = open(data.file.name, "rb")  # noqa: SIM115 (closed by __exit__)

    def __enter__(self) -> _Bytes:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.handle is not None:
            self.handle.close()

    def at(self, offset: int, size: int) -> bytes:
        if self.raw is not None:
            return self.raw[offset : offset + size]
        assert self.handle is not None
        self.handle.seek(offset)
        return self.handle.read(size)

    def find_all(self, mark: bytes, start: int, end: int) -> Iterator[int]:
        """Every offset of `mark` in [start, end)."""
        if self.raw is not None:
            at = self.raw.find(mark, start, end)
            while at >= 0:
                yield at
                at = self.raw.find(mark, at + 1, end)
            return
        overlap = len(mark) - 1
        pos = start
        while pos < end:
            want = min(_CHUNK, end - pos)
            chunk = self.at(pos, want)
            at = chunk.find(mark)
            while at >= 0:
                if pos + at + len(mark) <= end:
                    yield pos + at
                at = chunk.find(mark, at + 1)
            if len(chunk) < want or pos + len(chunk) >= end:
                return  # the end asked for, or the file's
            pos += max(1, len(chunk) - overlap)


_LOCAL = b"PK\x03\x04"


def _local_header(raw: _Bytes, info: ZipInfo) -> tuple[int, int, str, int] | str:
    """The method the member's local header names, where its data starts, how the header
    disagrees with the central directory ("" when it does not), and the compressed size
    a streaming reader takes from it (the directory's when the data descriptor defers
    it); or why there is no header to read."""
    import struct

    head = raw.at(info.header_offset, 30)
    if len(head) < 30 or head[:4] != _LOCAL:
        return "no local header where the central directory says"
    flags, method, _, _, crc, csize, size, name_len, extra_len = struct.unpack_from(
        "<HHHHIIIHH", head, 6
    )
    start = info.header_offset + 30 + name_len + extra_len
    name = raw.at(info.header_offset + 30, name_len)
    problems = []
    if name.decode("utf-8" if flags & 0x800 else "cp437", "replace") != info.orig_filename:
        problems.append("the local header names another file")
    if method != info.compress_type:
        problems.append(
            f"method {method} in the local header, {info.compress_type} in the directory"
        )
    if (flags ^ info.flag_bits) & 0x1:
        problems.append("encrypted in one header only")
    told = info.compress_size
    if not flags & 0x8:  # sizes in the local header, not in a descriptor after the data
        # 0xFFFFFFFF is no wildcard: a size that says so is in the local zip64 extra
        # (which streaming readers and unzip follow), and a CRC is a CRC.
        sizes = _zip64_local(raw.at(info.header_offset + 30 + name_len, extra_len), size, csize)
        if sizes is None:
            problems.append("sizes 0xFFFFFFFF in the local header and no zip64 extra")
        else:
            size, csize = sizes
        for value, known, what in (
            (crc, info.CRC, "CRC"),
            (csize, info.compress_size, "compressed size"),
            (size, info.file_size, "size"),
        ):
            if value != known:
                problems.append(f"{what} {value} in the local header, {known} in the directory")
        told = csize
    if method not in (0, 8):
        method = info.compress_type
    return method, start, "; ".join(problems), told


def _zip64_local(extra: bytes, size: int, csize: int) -> tuple[int, int] | None:
    """The local header's sizes, read from its zip64 extra when one is 0xFFFFFFFF (the
    size first, then the compressed size); None when such a size is not there."""
    import struct

    if size != 0xFFFFFFFF and csize != 0xFFFFFFFF:
        return size, csize
    pos = 0
    while pos + 4 <= len(extra):
        tag, length = struct.unpack_from("<HH", extra, pos)
        body = extra[pos + 4 : pos + 4 + length]
        pos += 4 + length
        if tag != 1:
            continue
        if len(body) >= 16:  # both, as the format asks and Java reads them
            return struct.unpack_from("<QQ", body)
        values = [struct.unpack_from("<Q", body, at)[0] for at in range(0, len(body) - 7, 8)]
        if size == 0xFFFFFFFF:
            if not values:
                return None
            size = values.pop(0)
        if csize == 0xFFFFFFFF:
            if not values:
                return None
            csize = values.pop(0)
        return size, csize
    return None


class _Inflate:
    """A stored or deflated member read from the zip's bytes, as unzip and Java read it:
    a deflate stream to its end, whatever size the directory declares."""

    def __init__(self, raw: _Bytes, start: int, size: int, method: int) -> None:
        import zlib

        self.raw = raw
        self.pos = start
        self.left = size
        self.stored = method == 0
        self.decompressor = zlib.decompressobj(-15)
        self.crc = 0
        self.short = False  # the bytes end before the declared compressed size

    def read(self, size: int = -1, /) -> bytes:
        import zlib

        out = self._next()
        self.crc = zlib.crc32(out, self.crc)
        return out

    def _next(self) -> bytes:
        decompressor = self.decompressor
        while True:
            if not self.stored and decompressor.unconsumed_tail:
                out = decompressor.decompress(decompressor.unconsumed_tail, _CHUNK)
            elif self.left and not (not self.stored and decompressor.eof):
                chunk = self.raw.at(self.pos, min(self.left, _CHUNK))
                if not chunk:
                    self.short = True
                    return b""
                self.pos += len(chunk)
                self.left -= len(chunk)
                if self.stored:
                    return chunk
                out = decompressor.decompress(chunk, _CHUNK)
            else:
                return b""
            if out:
                return out
            if decompressor.eof and not decompressor.unconsumed_tail:
                return b""

    def disagrees(self, info: ZipInfo, size: int) -> str:
        """How what was read differs from what the directory declares ("" when not)."""
        if self.short:
            return "the data ends before its declared size"
        if not self.stored:
            decompressor = self.decompressor
            if not decompressor.eof:
                return "the deflate stream does not end within its declared size"
            if self.left or decompressor.unused_data:
                return "the deflate stream ends before its declared size"
        if size != info.file_size:
            return f"{size} bytes read, {info.file_size} declared"
        if self.crc != info.CRC:
            return "its CRC is not the one declared"
        return ""


def _beyond(raw: _Bytes, start: int, info: ZipInfo, method: int) -> str:
    """How a bzip2 or LZMA member's stream disagrees with its declared size ("" when it
    does not): zipfile cuts what it inflates at that size without a word. Inflated once
    more, counted and thrown away, in bounded steps, only as far as one byte past it."""
    import bz2
    import lzma
    import struct

    decompressor: bz2.BZ2Decompressor | lzma.LZMADecompressor
    if method == 12:
        decompressor = bz2.BZ2Decompressor()
        pos, left = start, info.compress_size
    else:  # zip's LZMA: a version, the properties' length and the properties, then raw
        head = raw.at(start, 4)
        if method != 14 or len(head) < 4:
            return ""
        props = struct.unpack_from("<H", head, 2)[0]
        try:
            lzma1 = lzma._decode_filter_properties(  # type: ignore[attr-defined]
                lzma.FILTER_LZMA1, raw.at(start + 4, props)
            )
        except Exception:  # a Python without it (bad properties failed zipfile first)
            return ""
        decompressor = lzma.LZMADecompressor(lzma.FORMAT_RAW, filters=[lzma1])
        pos, left = start + 4 + props, info.compress_size - 4 - props
    total = 0
    while not decompressor.eof:
        if decompressor.needs_input:
            chunk = raw.at(pos, min(max(left, 0), 1 << 16))
            if not chunk:
                return "its stream does not end within its declared size"
            pos += len(chunk)
            left -= len(chunk)
        else:
            chunk = b""
        total += len(decompressor.decompress(chunk, 1 << 20))
        if total > info.file_size:
            return f"its stream holds more than the {info.file_size} bytes declared"
    if left or decompressor.unused_data:
        return "its stream ends before its declared size"
    return ""


def _orphans(
    raw: _Bytes,
    spans: list[tuple[int, int]],
    end: int,
    path: str,
    base: Content,
    budget: Budget,
    depth: int,
) -> Iterator[Content | Skipped]:
    """Members that only a reader walking the local headers sees (Java's ZipInputStream):
    a local header that no directory entry names, outside every listed member's bytes,
    between the zip's first header and its central directory. Each is said (the headers
    disagree) and read as such a reader reads it, when it is stored or deflated."""
    import bisect
    import struct

    if raw.at(0, 4) == _LOCAL:
        start = 0  # a streaming reader starts at the first byte
    elif spans:
        start = min(first for first, _ in spans)
    else:
        return
    spans.sort()
    firsts = [first for first, _ in spans]
    after = start  # the end of the last unlisted member read
    for at in raw.find_all(_LOCAL, start, end):
        i = bisect.bisect_right(firsts, at) - 1
        if at < after or (i >= 0 and (at == firsts[i] or at < spans[i][1])):
            continue  # a listed member's header, or inside a member's data
        head = raw.at(at, 30)
        if len(head) < 30:
            continue
        flags, method, _, _, _, csize, _, name_len, extra_len = struct.unpack_from(
            "<HHHHIIIHH", head, 6
        )
        if method not in _ZIP_METHODS or not 0 < name_len <= 4096:
            continue
        name = raw.at(at + 30, name_len).decode("utf-8" if flags & 0x800 else "cp437", "replace")
        where = f"{path}!{name}"
        yield Skipped(
            where,
            f"a member at byte {at} that the zip's central directory does not list: "
            "readers that walk the local headers (Java's ZipInputStream) extract it, "
            "zipfile and unzip do not",
        )
        data = at + 30 + name_len + extra_len
        if flags & 0x1 or method not in (0, 8) or (flags & 0x8 and method == 0):
            continue  # said above; not read
        budget.member(where)
        if flags & 0x8 or csize == 0xFFFFFFFF:
            csize = max(0, end - data)  # a deflate stream ends by itself
        reader = _Inflate(raw, data, csize, method)
        try:
            piece = drain(reader, budget, where)
        except LimitHit:
            raise
        except _BROKEN as exc:
            # Headers in the bytes it consumed are not tried again: each byte is
            # inflated once, however many headers an attacker packs in (this one failing
            # already fails a gate).
            after = reader.pos
            yield Skipped(where, f"could not be decompressed ({why(exc)})")
            continue
        after = reader.pos - len(reader.decompressor.unused_data)
        yield from member(piece, where, base, budget, depth)


def _tar(
    kind: str, data: Data, path: str, base: Content, budget: Budget, depth: int
) -> Iterator[Content | Skipped]:
    import tarfile

    # ignore_zeros: past a damaged header tarfile would end the archive without a word,
    # where GNU tar says "Skipping to next header" and extracts the members after it. With
    # it tarfile skips such blocks one by one as well (and reads on past zero blocks, a
    # little more than GNU tar does); every block it could not read is said.
    with _tar_archive().open(fileobj=data.stream(), mode="r:", ignore_zeros=True) as archive:
        names = _Names(path, base, budget)
        shared: dict[str, str] = {}  # the global pax records said so far, said once
        while (info := archive.next()) is not None:
            yield from _tar_unread(archive, data, path)
            where = f"{path}!{info.name}"
            fresh = {k: v for k, v in archive.pax_headers.items() if shared.get(k) != v}
            if fresh:
                shared.update(fresh)
                yield from names.add("", [f"{k}={v}" for k, v in fresh.items()])
            # A member's own pax records (the globals are in each member's copy too).
            records = [
                f"{k}={v}"
                for k, v in info.pax_headers.items()
                if archive.pax_headers.get(k) != v and k not in ("path", "linkpath")
            ]
            yield from names.add(f"!{info.name}", [info.name, info.linkname, *records])
            # POSIX (and GNU tar) read a type they do not know as a regular file, and so
            # does tarfile's extractfile(). Directories, links and devices hold no bytes
            # of their own; one that declares some is said, not passed over.
            if not (info.isreg() or info.type not in tarfile.SUPPORTED_TYPES):
                if info.size > 0 and not info.isdir():
                    yield Skipped(
                        where,
                        f"a tar entry of type {_tar_type(info.type)} declaring "
                        f"{info.size} bytes, not read",
                    )
                continue
            budget.member(where)
            handle = archive.extractfile(info)
            if handle is None:
                continue
            try:
                piece = drain(handle, budget, where)
            except LimitHit:
                raise
            except _BROKEN as exc:
                yield Skipped(where, f"could not be read ({why(exc)})")
                continue
            yield from member(piece, where, base, budget, depth)
        yield from names.flush()
        yield from _tar_unread(archive, data, path)


def _tar_type(flag: bytes) -> str:
    return repr(flag.decode("latin-1"))


class _Unread(Protocol):
    # Where each header block tarfile could not read starts, and whether it was cut short.
    unread: list[tuple[int, bool]]


@functools.cache
def _tar_archive() -> type[tarfile.TarFile]:
    """tarfile's reader, noting every header block it could not read (a bad checksum, a
    block cut short) as it passes over it; zero blocks are the archive's end, not noted."""
    import tarfile

    # Not in tarfile's documented API (nor its type stubs), but there since Python 3.2.
    invalid: type[Exception] = getattr(tarfile, "InvalidHeaderError")  # noqa: B009
    truncated: type[Exception] = getattr(tarfile, "TruncatedHeaderError")  # noqa: B009

    class Info(tarfile.TarInfo):
        @classmethod
        def fromtarfile(cls, tarfile: tarfile.TarFile) -> Info:
            start = tarfile.fileobj.tell() if tarfile.fileobj is not None else -1
            try:
                return super().fromtarfile(tarfile)
            except (invalid, truncated) as exc:
                cast(_Unread, tarfile).unread.append((start, isinstance(exc, truncated)))
                raise

    class Archive(tarfile.TarFile):
        tarinfo = Info

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self.unread: list[tuple[int, bool]] = []  # before: the first header is read now
            super().__init__(*args, **kwargs)

    return Archive


def _nonzero(data: Data, start: int, end: int) -> int | None:
    """The offset of the first byte in [start, end) that is not zero, if any."""
    if data.raw is not None:
        span = data.raw[start:end]
        rest = span.lstrip(b"\x00")
        return start + len(span) - len(rest) if rest else None
    assert data.file is not None
    with open(data.file.name, "rb") as handle:
        handle.seek(start)
        rest = handle.read(end - start).lstrip(b"\x00")
        return end - len(rest) if rest else None


def _tar_unread(archive: object, data: Data, path: str) -> Iterator[Skipped]:
    """The header blocks tarfile passed over since last asked, each stretch said once: a
    damaged header and the blocks after it that are no header either."""
    unread = cast(_Unread, archive).unread
    stretches: list[list[int]] = []
    for start, cut in unread:
        end = data.size if cut else start + 512
        if cut and _nonzero(data, start, end) is None:
            continue  # zeros cut short at the end: padding, not a member
        if stretches and stretches[-1][1] == start:
            stretches[-1][1] = end
        else:
            stretches.append([start, end])
    unread.clear()
    for start, end in stretches:
        yield Skipped(
            path,
            f"bytes {start}-{end} of the tar are not a readable member (a damaged or "
            "truncated header); skipped to the next header as GNU tar does, not read",
        )


_SUFFIXES = {
    "gzip": {".gz": "", ".tgz": ".tar", ".gzip": "", ".z": ""},
    "bzip2": {".bz2": "", ".tbz2": ".tar", ".tbz": ".tar", ".bz": ""},
    "xz": {".xz": "", ".txz": ".tar", ".lzma": ""},
    "lzma": {".lzma": "", ".tlz": ".tar"},
    "compress": {".z": "", ".taz": ".tar"},
    "zlib": {".zz": "", ".zlib": "", ".z": "", ".deflate": ""},
}


def inner_name(path: str, kind: str) -> str:
    """`app.log.gz` → `app.log`: how a compressed file's content is named inside it."""
    name = path.rsplit("!", 1)[-1].rsplit("/", 1)[-1]
    stem, dot, suffix = name.rpartition(".")
    replacement = _SUFFIXES[kind].get(f".{suffix.lower()}") if dot else None
    if replacement is None or not stem:
        return f"({kind} content)"
    return stem + replacement


def _stream(
    kind: str, data: Data, path: str, base: Content, budget: Budget, depth: int
) -> Iterator[Content | Skipped]:
    """gzip, bzip2, xz, lzma or compress: one compressed stream (concatenated members
    read as one)."""
    import bz2
    import functools
    import gzip
    import lzma

    from kimi_secret_scan.unpack.lzw import LZWReader, read_input

    where = f"{path}!{inner_name(path, kind)}"
    budget.member(where)
    openers: dict[str, Callable[[IO[bytes]], AbstractContextManager[Reader]]] = {
        "gzip": lambda stream: gzip.GzipFile(fileobj=stream, mode="rb"),
        "bzip2": bz2.BZ2File,
        "xz": lzma.LZMAFile,
        "lzma": functools.partial(lzma.LZMAFile, format=lzma.FORMAT_ALONE),
        # compress (.Z): LZW, read whole, up to lzw.py's caps (no standard library reader).
        "compress": lambda stream: LZWReader(read_input(stream)),
    }
    with openers[kind](data.stream()) as reader:
        piece = drain(reader, budget, where)
    yield from member(piece, where, base, budget, depth)


def _sqlite(
    kind: str, data: Data, path: str, base: Content, budget: Budget, depth: int
) -> Iterator[Content | Skipped]:
    from kimi_secret_scan.unpack import sqlite

    yield from sqlite.rows(data, path, base, budget, depth)
