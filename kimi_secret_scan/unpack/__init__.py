"""Unpacking: one piece of content that is a container becomes the pieces it holds.

A stage between the sources and the detectors (see docs/containers.md). Zip and its family
(jar, whl, apk, docx, xlsx, epub…), tar, gzip, bzip2, xz and SQLite databases are told by
their first bytes, never by their names alone, and opened with the standard library's
readers. Each piece is a `Content` located inside its container
(`backup.zip!config/.env`, `one-api.db!channels[row 12].key`).

Containers are hostile input: what is unpacked is bounded (`Limits`), and whatever lies
beyond a limit is a `Skipped` naming the limit, never dropped without a word.

This module imports nothing heavy: the readers (zipfile, tarfile, sqlite3…) are imported
only when a container is met, so the pre-commit hook's start-up does not pay for them.
"""

from __future__ import annotations

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


_FIRST_BYTES = frozenset((b"P", b"\x1f", b"B", b"\xfd", b"S"))


def container_kind(head: bytes) -> str | None:
    """Which container these first bytes start, if any."""
    # Most content starts with none of the magic bytes' first letters, nor has tar's
    # magic: said with one slice and one comparison each, for every blob of a history.
    if head[:1] not in _FIRST_BYTES and head[257:262] != b"ustar":
        return None
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "zip"
    if head.startswith(b"\x1f\x8b\x08"):
        return "gzip"
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
    if head.startswith(b"SQLite format 3\x00"):
        return "sqlite"
    if head[257:262] == b"ustar":
        return "tar"
    return None


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


def is_container(content: Content) -> bool:
    return container_kind(head_of(content)) is not None


def expand(content: Content, limits: Limits = DEFAULT_LIMITS) -> Iterator[Content | Skipped]:
    """The pieces a container holds, nested containers opened in turn; nothing when the
    content is not a container. The container's own bytes are not among them."""
    kind = container_kind(head_of(content))
    if kind is None:
        return
    from kimi_secret_scan.unpack import archives  # only now: zipfile, tarfile…

    yield from archives.expand(kind, content, limits)


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
