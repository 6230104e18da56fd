"""Unpacking: one piece of content that is a container becomes the pieces it holds.

A stage between the sources and the detectors (see docs/containers.md). Zip and its family
(jar, whl, apk, docx, xlsx, epub…), tar, gzip, bzip2, xz, lzma, compress (.Z), zlib, PDF
and PNG (their zlib streams: zlibs.py) and SQLite databases are told by their first bytes
(and `pack`, LZH and old-magic gzip files, which only `gzip -d` reads, to be said as not
opened), never by their names alone, and opened with the standard library's readers
(compress: lzw.py; git bundles and pack files: gitpack.py); a zip after anything by its end
record, an archive behind a script by its header (`find_container`). Each piece is a
`Content` located inside its container (`backup.zip!config/.env`,
`one-api.db!channels[row 12].key`).

Containers are hostile input: what is unpacked is bounded (`Limits`), and whatever lies
beyond a limit is a `Skipped` naming the limit, never dropped without a word.

This module imports nothing heavy: the readers (zipfile, tarfile, sqlite3…) are imported
only when a container is met, so the pre-commit hook's start-up does not pay for them.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

from kimi_secret_scan.content import Content, Skipped
from kimi_secret_scan.finding import Finding

# The first bytes that name a container: read this many to tell (tar's magic is at 257).
HEAD = 512


class Limits:
    """What one container (with everything nested in it) may unpack to.

    A plain class, not a dataclass: building a dataclass costs the pre-commit hook's
    start-up about half a millisecond, and this module is imported by every run.
    """

    __slots__ = ("max_bytes", "max_depth", "max_members", "max_ratio", "max_seconds", "ratio_floor")

    def __init__(
        self,
        max_bytes: int = 256 << 20,
        max_ratio: int = 200,
        ratio_floor: int = 16 << 20,
        max_depth: int = 5,
        max_members: int = 10_000,
        max_seconds: float = 60.0,
    ) -> None:
        # Bytes unpacked in all, every nesting level counted.
        self.max_bytes = max_bytes
        # Unpacked bytes per byte of the container, once past `ratio_floor` bytes: a small
        # file that unpacks to gigabytes is a bomb, while anything may unpack to a few MiB.
        self.max_ratio = max_ratio
        self.ratio_floor = ratio_floor
        # Containers inside containers (a tar.gz is two: gzip, then tar).
        self.max_depth = max_depth
        # Members read in all (files of an archive, tables of a database).
        self.max_members = max_members
        # Seconds a database may take to read (SQLite's progress handler enforces it).
        self.max_seconds = max_seconds


DEFAULT_LIMITS = Limits()

# A zlib stream's first byte: deflate with a window of 256 bytes to 32 KiB (`x` is zlib's
# default, 32 KiB).
_ZLIB_CMF = frozenset(bytes((n << 4 | 8,)) for n in range(8))


# A git bundle (`git bundle create`: its header, then a pack) and a pack file
# (`.git/objects/pack/*.pack`): their objects are zlib streams behind pack headers, which
# `git clone backup.bundle` or `git index-pack` gives back (review h10c #10).
_GIT_BUNDLE = (b"# v2 git bundle\n", b"# v3 git bundle\n")
_GIT_PACK = (b"PACK\x00\x00\x00\x02", b"PACK\x00\x00\x00\x03")

_FIRST_BYTES = frozenset((b"P", b"\x1f", b"B", b"\xfd", b"S", b"%"))


def container_kind(head: bytes) -> str | None:
    """Which container these first bytes start, if any."""
    # Most content starts with none of the magic bytes' first letters, nor has tar's
    # magic: said with one slice and one comparison each, for every blob of a history.
    if head[:1] not in _FIRST_BYTES and head[257:262] != b"ustar":
        if head.startswith(_GIT_BUNDLE):
            return "git bundle"  # gitpack.py
        if _v7_tar(head):
            return "tar"
        if head[:1] in _ZLIB_CMF and zlib_header(head):
            return "zlib"
        return "lzma" if _lzma_alone(head) else None
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "zip"
    if head.startswith(b"\x1f\x8b\x08"):
        return "gzip"
    if head.startswith(b"\x1f\x9d"):
        return "compress"  # Unix compress (.Z), read by `uncompress` and `gzip -d`
    if head.startswith((b"\x1f\x1e", b"\x1f\xa0", b"\x1f\x9e")):
        # Formats only `gzip -d` still reads: not opened, said (archives.py `_unopened`).
        kind = _GZIP_D_ONLY[head[1]]
        if kind == "lzh" or (_pack_tree(head) if kind == "pack" else head[2:3] == b"\x08"):
            return kind
    if (
        head.startswith(b"BZh")
        and head[3:4].isdigit()
        and head[4:10]
        in (
            b"1AY&SY",
            b"\x17rE8P\x90",  # an empty stream
        )
    ):
        return "bzip2"
    if head.startswith(b"\xfd7zXZ\x00"):
        return "xz"
    if head.startswith(_GIT_PACK):
        return "git pack"  # gitpack.py
    if head.startswith(b"SQLite format 3\x00"):
        return "sqlite"
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head[257:262] == b"ustar" or _v7_tar(head):
        return "tar"
    return "lzma" if _lzma_alone(head) else None


# Control bytes that text never holds (tab, line breaks, form feed and escape are text).
_CONTROL = bytes(range(32)).translate(None, b"\t\n\x0b\x0c\r\x1b")


def zlib_header(head: bytes) -> bool:
    """Does `head` (a content's first bytes) start a zlib stream?

    Its two-byte header (deflate, a window of at most 32 KiB, FCHECK: the pair a multiple
    of 31, no preset dictionary), its first bytes inflating without an error, and then
    either the whole stream in `head` (a short content; its checksum holding) or a
    control byte among these bytes: text may start `x^` and inflate for a while as fixed
    Huffman codes, but holds no control byte, while 500 deflated bytes always do."""
    if len(head) < 3:
        return False
    cmf, flg = head[0], head[1]
    if cmf & 0x0F != 8 or cmf >> 4 > 7 or (cmf << 8 | flg) % 31 or flg & 0x20:
        return False
    # (Said before inflating: a history's text blob that starts `x^` costs one translate.)
    binary = len(head.translate(None, _CONTROL)) < len(head)
    if len(head) >= HEAD and not binary:
        return False
    import zlib

    inflater = zlib.decompressobj()
    try:
        inflater.decompress(head, 1 << 16)
    except zlib.error:
        return False
    return inflater.eof or (binary and len(head) >= HEAD)


_GZIP_D_ONLY = {0x1E: "pack", 0xA0: "lzh", 0x9E: "old gzip"}


def _pack_tree(head: bytes) -> bool:
    """A `pack` file's Huffman tree header, checked as gzip's unpack.c checks it: a
    maximum code length of 1-25 and no more leaves at each length than can fit."""
    if len(head) < 7 or not 0 < head[6] <= 25 or len(head) < 7 + head[6]:
        return False
    leaves, room = 0, 1
    for length in range(1, head[6] + 1):
        count = head[6 + length]
        if room - (length == head[6]) < count:
            return False
        room = (room - count + 1) * 2 - 1
        leaves += count
    return leaves < 256


def _lzma_alone(head: bytes) -> bool:
    """A legacy .lzma file (LZMA-alone: `xz --format=lzma`, `lzma`), which has no magic:
    told as `xz -d` tells it, by its 13-byte header (valid properties, a dictionary size of
    2^n or 2^n + 2^(n-1), an uncompressed size that is unknown or below 2^38), the range
    coder's first byte (always 0), and its first bytes decoding without an error. Text
    never holds the three NULs or 0xFF bytes at 10-12 that the size puts there."""
    if head[10:13] not in (b"\x00\x00\x00", b"\xff\xff\xff") or len(head) < 14 or head[13]:
        return False
    props = head[0]
    lc, lp = props % 9, props // 9 % 5
    if props > 224 or lc + lp > 4:
        return False
    dict_size, size = struct.unpack_from("<IQ", head, 1)
    if dict_size != 0xFFFFFFFF:
        n = dict_size.bit_length() - 1
        if dict_size == 0 or dict_size not in (1 << n, (1 << n) | (1 << max(n - 1, 0))):
            return False
    if size != 0xFFFFFFFFFFFFFFFF and size >= 1 << 38:
        return False
    import lzma

    try:
        lzma.LZMADecompressor(lzma.FORMAT_ALONE).decompress(head, 1 << 16)
    except lzma.LZMAError:
        return False
    except MemoryError:
        pass  # the dictionary it names: opening it will say so, not a silent pass
    return True


# A tar header's checksum field holds what tarfile's number reader takes: octal digits,
# spaces, NULs (and what int() takes beside them: a sign, underscores, whitespace), or a
# base-256 number (its first byte 0x80 or 0xff), which tarfile reads and GNU tar does not.
_NOT_OCTAL = b"01234567 \x00+-_\t\n\r\x0b\x0c"
_HIGH = bytes(range(128, 256))


def _v7_tar(head: bytes) -> bool:
    """A tar without `ustar` at 257 (the v7 format, `tar --format=v7`), which GNU tar and
    tarfile read by its header's checksum alone. Text seldom has only digits and spaces
    at bytes 148-155, so the sum is rarely computed (one C-level translate otherwise)."""
    if len(head) < 512:
        return False
    if head[148] not in (0x80, 0xFF) and head[148:156].translate(None, _NOT_OCTAL):
        return False
    return tar_checksum_ok(head[:512])


def _checksum_field(field: bytes) -> int | None:
    """The number in a header's checksum field, read as tarfile reads it (nti)."""
    if field[0] in (0x80, 0xFF):
        told = int.from_bytes(field[1:], "big")
        return told - (1 << 56) if field[0] == 0xFF else told
    text = field.split(b"\x00", 1)[0].strip()
    if not text or not text.isascii():
        # tarfile reads an empty field as 0, which matches a block whose signed byte sum
        # is 0: binaries hold such blocks (a shared library, a .mo file), and GNU tar
        # refuses an empty field, so it is no header here.
        return None
    try:
        return int(text, 8)
    except ValueError:
        return None


def tar_checksum_ok(block: bytes) -> bool:
    """Does a 512-byte block's checksum field hold its sum (as tarfile and GNU tar check
    it: the field counted as spaces, bytes unsigned or signed)?"""
    if len(block) < 512:
        return False
    told = _checksum_field(block[148:156])
    if told is None:
        return False
    unsigned = sum(block[:148]) + 256 + sum(block[156:])
    if told == unsigned:
        return True
    low = len(block[:148].translate(None, _HIGH)) + len(block[156:].translate(None, _HIGH))
    return told == unsigned - 256 * (504 - low)  # each byte above 127 counted negative


# Containers behind something else (docs/containers.md, "Behind a prefix"). A zip is read
# from its end: its end-of-central-directory record is in the last 22 bytes, or up to
# 64 KiB before them when the zip carries a comment (where zipfile looks too), so a launch
# script, an image or any byte in front of it changes nothing for zipfile. A stream
# (gzip, bzip2, xz, tar, a zip without its end) is looked for only behind a script's `#!`,
# within its first MiB: what makeself installers and shell-wrapped archives are.
_EOCD = b"PK\x05\x06"
TAIL = 22 + 0xFFFF
SCRIPT_SPAN = 1 << 20
# Each container's mark, and the mark's offset in its header. gzip's is one byte text
# never holds (memchr: a script costs next to nothing). The others are looked for only in
# a script holding a byte below 8, as each of their headers does: xz's magic ends in 0,
# a zip's local header holds 3 and 4, a tar's magic is followed by 0, and a bzip2 block's
# 24-bit origPtr is below 900,000, so the byte after its magic and checksum is below 8.
_LOW = tuple(bytes((n,)) for n in range(8))
_MARKS = (
    (b"\x1f", "gzip", 0),
    (b"\xfd", "xz", 0),
    (b"\x03", "zip", 2),
    (b"1AY&SY", "bzip2", 4),
    (b"ustar", "tar", 257),
)
_ZIP_METHODS = (0, 8, 9, 12, 14, 93, 95, 98, 99)


def zip_at_end(tail: bytes, start: int) -> bool:
    """Does `tail` (the content's bytes from offset `start` to its end) hold a zip's end
    record that names a central directory where one is? Its fields are checked, not only
    its four bytes, so a binary that happens to hold them is not taken for a zip."""
    low = max(0, len(tail) - TAIL)
    # Text holds no byte 5: one memchr says so, where a search for the four bytes costs
    # tens of times more (it is run on every blob of a history).
    if tail.find(b"\x05", low) < 0:
        return False
    pos = tail.rfind(_EOCD, low)
    while pos >= 0:
        if pos + 22 <= len(tail):
            _, _, here, total, cd_size, cd_offset = struct.unpack_from("<HHHHII", tail, pos + 4)
            zip64 = 0xFFFF in (here, total) or 0xFFFFFFFF in (cd_size, cd_offset)
            # Zip64: its own locator sits right before the record.
            if zip64 and pos >= 20 and tail[pos - 20 : pos - 16] == b"PK\x06\x07":
                return True
            # Otherwise only the directory's size and offset are checked: zipfile reads
            # the directory by them and looks at neither the entry counts, the disk
            # numbers nor whether the comment fits (a zip claiming 0 entries is read in
            # full). The directory starts where the record says, or before these bytes.
            cd = pos - cd_size
            if (
                cd_size >= 46
                and start + cd >= 0
                and cd_offset <= start + cd
                and (cd < 0 or tail[cd : cd + 4] == b"PK\x01\x02")
            ):
                return True
        pos = tail.rfind(_EOCD, low, pos + 3)
    return False


def _header_at(head: bytes, kind: str, at: int) -> bool:
    """Is there a `kind` header at `at`, checked beyond its magic bytes?"""
    if at <= 0:
        return False  # at 0 the first bytes would have named it
    if kind == "gzip":
        if head[at : at + 3] != b"\x1f\x8b\x08" or len(head) < at + 10:
            return False
        if head[at + 3] & 0xE0:
            return False  # a reserved flag
        import zlib

        try:  # its first bytes inflate without an error
            zlib.decompressobj(31).decompress(head[at : at + 65536], 4096)
        except zlib.error:
            return False
        return True
    if kind == "xz":
        return head[at : at + 6] == b"\xfd7zXZ\x00"
    if kind == "zip":
        if head[at : at + 4] != b"PK\x03\x04" or len(head) < at + 30:
            return False
        method, name = struct.unpack_from("<H16xH", head, at + 8)
        return method in _ZIP_METHODS and 0 < name <= 4096
    if kind == "bzip2":
        return head[at : at + 3] == b"BZh" and head[at + 3 : at + 4] in b"123456789"
    return tar_checksum_ok(head[at : at + 512])  # tar: the header's checksum


def _script_payload(head: bytes) -> tuple[str, int] | None:
    """Where a container starts behind a script's lines (`head`: its first bytes): the
    first header, of any kind, within SCRIPT_SPAN bytes."""
    end = min(len(head), SCRIPT_SPAN)
    best: tuple[str, int] | None = None
    binary = any(head.find(low, 0, end) >= 0 for low in _LOW)
    for mark, kind, back in _MARKS if binary else _MARKS[:1]:
        at = head.find(mark, 0, end)
        while at >= 0 and (best is None or at - back < best[1]):
            if _header_at(head, kind, at - back):
                best = (kind, at - back)
                break
            at = head.find(mark, at + 1, end)
    return best


def find_container(data: bytes) -> tuple[str, int] | None:
    """Which container `data` (whole, in memory) is, and where it starts: by its first
    bytes; else a zip by its end record, or a stream behind a script's `#!` lines."""
    kind = container_kind(data[:HEAD])
    if kind is not None:
        return kind, 0
    return behind_prefix(data, data, 0)


def behind_prefix(head: bytes, tail: bytes, tail_start: int) -> tuple[str, int] | None:
    # A zip with a member is at least 98 bytes (a local header, a directory entry, an end).
    if tail_start + len(tail) >= 98 and zip_at_end(tail, tail_start):
        # zipfile finds the zip's start from its end. A PNG or PDF before it (a
        # polyglot: the image or page shows, `unzip` lists the zip) is read as both:
        # its reader opens the zip after it (archives._open).
        if head.startswith(_PNG):
            return "png", 0
        return ("pdf" if head.find(b"%PDF-", 0, 1024) >= 0 else "zip"), 0
    if head.startswith(b"#!"):
        found = _script_payload(head)
        if found is not None:
            return found
    at = tar_after_junk(head)
    if at:
        return "tar", at
    # A PNG, for its compressed text chunks (zlibs.read_png).
    if head.startswith(_PNG):
        return "png", 0
    # A PDF whose `%PDF-` follows junk or a byte-order mark: readers look for it in the
    # first 1024 bytes (review h9b, finding 1). One bounded find per content.
    return ("pdf", 0) if head.find(b"%PDF-", 0, 1024) > 0 else None


_PNG = b"\x89PNG\r\n\x1a\n"


# A tar whose first block is no header: GNU tar says "This does not look like a tar
# archive", skips block by block to the next header and extracts what follows (exit 2,
# but the files are written). Looked for at 512-byte boundaries: a ustar header anywhere
# in the first MiB (one search for its magic, which text seldom holds), a v7 header (no
# magic: its checksum field is checked) in the first 16 blocks. A header's checksum must
# hold, so ordinary files are not taken for tars.
_V7_BLOCKS = 16
# What a checksum field may start with (_NOT_OCTAL's bytes, or base-256's 0x80 / 0xff).
_CHECKSUM_FIRST = _NOT_OCTAL + b"\x80\xff"


def tar_after_junk(head: bytes) -> int:
    """Where a tar starts behind junk blocks (0: none)."""
    end = min(len(head), SCRIPT_SPAN)
    if end < 1024:
        return 0  # no room for junk and a header
    # Asked of every blob a history holds: one byte a block is looked at before anything
    # else (a strided slice, no pass over the bytes): the first byte of a v7 header's
    # checksum field, the first of a ustar header's magic. Searching every byte for
    # `ustar` cost ~0.15 s over psf/requests' 284 MB.
    last = min(end, _V7_BLOCKS * 512) - 511  # a v7 header starts before this
    firsts = head[512 + 148 : last + 148 : 512]
    # (One C call finds out whether any block is a candidate; most blobs have none.)
    if len(firsts.translate(None, _CHECKSUM_FIRST)) != len(firsts):
        for k, first in enumerate(firsts):
            if first not in _CHECKSUM_FIRST:
                continue
            off = 512 * (k + 1)
            field = head[off + 148 : off + 156]  # as _v7_tar, without copying the block
            octal = field[0] in (0x80, 0xFF) or not field.translate(None, _NOT_OCTAL)
            if octal and tar_checksum_ok(head[off : off + 512]):
                return off
    magics = head[512 + 257 : end : 512]  # byte 257 of each block after the first
    k = magics.find(b"u")
    while k >= 0:
        off = 512 * (k + 1)
        ustar = off + 262 <= end and head.startswith(b"ustar", off + 257)
        if ustar and tar_checksum_ok(head[off : off + 512]):
            return off
        k = magics.find(b"u", k + 1)
    return 0


def head_of(content: Content) -> bytes:
    if content.chunks is None:
        return content.data[:HEAD]
    out = b""
    chunks = content.chunks()
    try:
        for chunk in chunks:
            out += chunk
            if len(out) >= HEAD:
                break
    finally:
        # Now, not when collected: a blob's chunks come from a git process to stop.
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    return out[:HEAD]


def locate(content: Content) -> tuple[str, int] | None:
    """Which container `content` is and where it starts (find_container); content too
    large to hold is read once more, for its end, when its first bytes name none."""
    if content.chunks is None:
        return find_container(content.data)
    head = b""
    tail = b""
    size = 0
    chunks = content.chunks()
    try:
        for chunk in chunks:
            if not size:
                kind = container_kind(chunk[:HEAD])
                if kind is not None and len(chunk) >= HEAD:
                    return kind, 0
            if len(head) < SCRIPT_SPAN:
                head += chunk[: SCRIPT_SPAN - len(head)]
            size += len(chunk)
            tail = chunk[-TAIL:] if len(chunk) >= TAIL else (tail + chunk)[-TAIL:]
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    kind = container_kind(head[:HEAD])
    if kind is not None:
        return kind, 0
    return behind_prefix(head, tail, size - len(tail))


def is_container(content: Content) -> bool:
    return locate(content) is not None


def expand(
    content: Content,
    limits: Limits = DEFAULT_LIMITS,
    found: tuple[str, int] | None = None,
) -> Iterator[Content | Skipped]:
    """The pieces a container holds, nested containers opened in turn; nothing when the
    content is not a container. The container's own bytes are not among them. `found`:
    what locate() said of it already."""
    if found is None:
        found = locate(content)
    if found is None:
        return
    from kimi_secret_scan.unpack import archives  # only now: zipfile, tarfile…

    yield from archives.expand(found[0], content, limits, found[1])


class Found:
    """The keys found so far in the pieces expand() gives, by the container they are in:
    a nested container's own bytes come after what it holds (archives.member), and a key
    found in a member is reported there, not again at its container's path, at every
    depth as at the outermost (scan.py)."""

    __slots__ = ("under",)

    def __init__(self) -> None:
        self.under: dict[str, set[str]] = {}

    def known(self, piece: Content) -> frozenset[str]:
        """The keys found inside the container whose own bytes `piece` is (none for an
        archive's text: its cells are the members' own places)."""
        if piece.cells or not self.under:
            return frozenset()
        return frozenset(self.under.get(piece.path, ()))

    def add(self, piece: Content, keys: set[str] | frozenset[str]) -> None:
        if not keys:
            return
        path = piece.path
        # An archive's text (cells) lies at its container's own path.
        at = len(path) if piece.cells else path.rfind("!")
        while at > 0:
            self.under.setdefault(path[:at], set()).update(keys)
            at = path.rfind("!", 0, at)


def relocate(content: Content, findings: list[Finding]) -> list[Finding]:
    """Findings in a database row, located in their cell: path `…!table[row N].column`,
    line counted from the cell's first line."""
    if not content.cells or not findings:
        return findings
    import dataclasses

    out = []
    for f in findings:
        first, name = content.cells[0]
        for start, cell in content.cells:
            if start > f.line:
                break
            first, name = start, cell
        out.append(dataclasses.replace(f, path=content.path + name, line=f.line - first + 1))
    return out
