"""The readers behind unpack.expand(): zip, tar, gzip, bzip2, xz (and SQLite, sqlite.py).

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
    HEAD,
    SCRIPT_SPAN,
    TAIL,
    Limits,
    behind_prefix,
    container_kind,
    find_container,
)

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

    def after(self, offset: int) -> Data:
        """The bytes from `offset` on (a container behind a prefix); this one is closed."""
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
    readers = {"zip": _zip, "tar": _tar, "sqlite": _sqlite}
    reader = readers.get(kind, _stream)
    try:
        yield from reader(kind, data, path, base, budget, depth)
    except LimitHit:
        raise
    except _BROKEN as exc:
        said = "its bytes were scanned as they are"
        yield Skipped(path, f"could not be read as {kind} ({why(exc)}); {said}")
        if depth > 1:  # the outermost container's own bytes are scanned by the pipeline
            yield leaf(data, path, base)


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
    """A member: scanned as it is, or opened when it is a container itself."""
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
        else:
            if container_kind(data.head()) is None:
                # Behind a prefix (a launch script, an installer's lines): those bytes are
                # the member's own, scanned as the outermost container's bytes are.
                yield leaf(data, path, base)
            data = data.after(offset)
            yield from _open(kind, data, path, base, budget, depth + 1)
    finally:
        data.close()


def _zip(
    kind: str, data: Data, path: str, base: Content, budget: Budget, depth: int
) -> Iterator[Content | Skipped]:
    import zipfile

    with zipfile.ZipFile(data.stream()) as archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            where = f"{path}!{info.filename}"
            budget.member(where)
            if info.flag_bits & 0x1:
                yield Skipped(where, "encrypted, not read")
                continue
            try:
                with archive.open(info) as handle:
                    piece = drain(handle, budget, where)
            except LimitHit:
                raise
            except _BROKEN as exc:
                yield Skipped(where, f"could not be decompressed ({why(exc)})")
                continue
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
        while (info := archive.next()) is not None:
            yield from _tar_unread(archive, data, path)
            where = f"{path}!{info.name}"
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

    from kimi_secret_scan.unpack.lzw import LZWReader

    where = f"{path}!{inner_name(path, kind)}"
    budget.member(where)
    openers: dict[str, Callable[[IO[bytes]], AbstractContextManager[Reader]]] = {
        "gzip": lambda stream: gzip.GzipFile(fileobj=stream, mode="rb"),
        "bzip2": bz2.BZ2File,
        "xz": lzma.LZMAFile,
        "lzma": functools.partial(lzma.LZMAFile, format=lzma.FORMAT_ALONE),
        # compress (.Z): LZW, read whole (the standard library has no reader for it).
        "compress": lambda stream: LZWReader(stream.read()),
    }
    with openers[kind](data.stream()) as reader:
        piece = drain(reader, budget, where)
    yield from member(piece, where, base, budget, depth)


def _sqlite(
    kind: str, data: Data, path: str, base: Content, budget: Budget, depth: int
) -> Iterator[Content | Skipped]:
    from kimi_secret_scan.unpack import sqlite

    yield from sqlite.rows(data, path, base, budget, depth)
