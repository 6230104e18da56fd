"""Git LFS: the content behind a pointer blob, read from this clone's own LFS store.

A file tracked by Git LFS (`*.ipynb filter=lfs` in .gitattributes) is committed as a
pointer, three lines naming the content's SHA-256 and size; the content sits in
`.git/lfs/objects/<aa>/<bb>/<oid>` and goes to the LFS server on push. Scanning only the
pointer would pass a key in the content without a word.

- A pointer is recognised strictly by the spec (docs/spec.md of git-lfs): under 1024
  bytes, `version https://git-lfs.github.com/spec/v1` first (or the older hawser URL),
  then `key value` lines in ascending order of key, `oid sha256:<64 hex>` and `size
  <digits>` required, each line ending in a line feed.
- The content is read from the store only: git-lfs, a filter or the network is never run.
  Its path is computed from the oid (64 hex digits: nothing else can reach the path). No
  link is followed, neither the file nor a directory between it and the git directory
  (`lfs.storage` elsewhere is not read), and only a regular file of exactly the size the
  pointer names is read, under the command's size limit.
- The content is scanned under the pointer's path, whole (as a binary file's new version).
- Content not in this clone (never fetched, or a server, which keeps LFS objects apart)
  is a `Skipped` that leaves the scan incomplete (exit 2), unless the user accepts it
  (`--allow-missing-lfs`): never a silent pass.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable, Iterator
from functools import partial
from pathlib import Path

from kimi_secret_scan import git
from kimi_secret_scan.content import Content, Skipped
from kimi_secret_scan.finding import Commit
from kimi_secret_scan.windows import WINDOW

# git-lfs reads at most this many bytes of a blob as a pointer (blobSizeCutoff).
POINTER_MAX = 1024
VERSIONS = (b"https://git-lfs.github.com/spec/v1", b"https://hawser.github.com/spec/v1")
_OID = re.compile(rb"sha256:([0-9a-f]{64})")
_KEY = re.compile(rb"[a-z0-9.-]+")
_SIZE = re.compile(rb"[0-9]{1,19}")

NOT_LOCAL = "LFS object not in this clone, not scanned"
ACCEPTED = " (accepted: --allow-missing-lfs)"
UNACCEPTED = (
    "; fetch the LFS objects first (with git-lfs; in GitHub Actions, `lfs: true` in "
    "actions/checkout), or pass --allow-missing-lfs to accept it"
)


class Pointer:
    """What a pointer names: the content's SHA-256 (hex) and size."""

    __slots__ = ("oid", "size")

    def __init__(self, oid: str, size: int) -> None:
        self.oid = oid
        self.size = size


def maybe_pointer(data: bytes) -> bool:
    """The cheap test run on every small blob of a history: one length, one prefix."""
    return len(data) < POINTER_MAX and data.startswith(b"version https://")


def parse_pointer(data: bytes) -> Pointer | None:
    """The pointer `data` is, by the spec, or None."""
    if not maybe_pointer(data) or not data.endswith(b"\n"):
        return None
    lines = data[:-1].split(b"\n")
    values: dict[bytes, bytes] = {}
    previous = b""
    for i, line in enumerate(lines):
        key, space, value = line.partition(b" ")
        if not space or not value or not _KEY.fullmatch(key) or b"\r" in value:
            return None
        if i == 0:
            if key != b"version" or value not in VERSIONS:
                return None
            continue
        if key == b"version" or key <= previous:
            return None  # keys in ascending order, each once; version only first
        previous = key
        values[key] = value
    oid = _OID.fullmatch(values.get(b"oid", b""))
    size = values.get(b"size", b"")
    if oid is None or not _SIZE.fullmatch(size):
        return None
    return Pointer(oid.group(1).decode("ascii"), int(size))


def _object_path(store: Path, oid: str) -> Path | str:
    """The object's path in the store, or why it cannot be read without following a link."""
    where = store
    for part in ("lfs", "objects", oid[:2], oid[2:4]):
        where = where / part
        try:
            mode = os.lstat(where).st_mode
        except FileNotFoundError:
            return NOT_LOCAL
        except OSError as exc:
            return f"LFS store not readable ({exc.strerror or type(exc).__name__}), not scanned"
        if stat.S_ISLNK(mode):
            return f"LFS store {where.relative_to(store)} is a link (not followed), not scanned"
        if not stat.S_ISDIR(mode):
            return NOT_LOCAL
    return where / oid


def _open(path: Path) -> int:
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    return os.open(path, flags | getattr(os, "O_CLOEXEC", 0))


def _chunks(path: Path, size: int, chunk: int = 1 << 20) -> Iterator[bytes]:
    fd = _open(path)
    try:
        left = size
        while left > 0:
            data = os.read(fd, min(chunk, left))
            if not data:
                break
            left -= len(data)
            yield data
    finally:
        os.close(fd)


def content(
    store: Path,
    pointer: Pointer,
    path: str,
    shown: str,
    max_size: int,
    commit: Commit | None = None,
) -> Content | Skipped:
    """The content a pointer names, at `path` in `commit`, or why it is not scanned (said
    at `shown`). `store`: the repository's common git directory."""
    named = f"sha256:{pointer.oid[:12]}…, {pointer.size} bytes"
    if pointer.size > max_size:
        reason = f"larger than the size limit ({pointer.size} > {max_size} bytes; LFS object)"
        return Skipped(shown, reason)
    found = _object_path(store, pointer.oid)
    if isinstance(found, str):
        return Skipped(shown, f"{found} ({named}){UNACCEPTED}", unreadable=True)
    try:
        fd = _open(found)
    except FileNotFoundError:
        return Skipped(shown, f"{NOT_LOCAL} ({named}){UNACCEPTED}", unreadable=True)
    except OSError as exc:
        why = "a link (not followed)" if os.path.islink(found) else exc.strerror or "unreadable"
        return Skipped(shown, f"LFS object in this clone is {why}, not scanned ({named})", True)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size != pointer.size:
            what = f"{info.st_size} bytes" if stat.S_ISREG(info.st_mode) else "not a file"
            reason = f"LFS object in this clone does not match its pointer ({what}; {named})"
            return Skipped(shown, reason, unreadable=True)
        if pointer.size <= WINDOW:
            data = b""
            while len(data) < pointer.size:
                piece = os.read(fd, pointer.size - len(data))
                if not piece:
                    return Skipped(shown, f"LFS object in this clone ended early ({named})", True)
                data += piece
            return Content(path, data, commit=commit)
    finally:
        os.close(fd)
    chunks = partial(_chunks, found, pointer.size)
    return Content(path, b"", commit=commit, chunks=chunks, size=pointer.size)


class Store:
    """The LFS store of the repository at `cwd`, found when the first pointer is met (a
    repository without LFS costs no git process)."""

    def __init__(self, cwd: Path, max_size: int) -> None:
        self.cwd = cwd
        self.max_size = max_size
        self._dir: Path | None = None

    def dir(self) -> Path:
        if self._dir is None:
            out = git.run_git(["rev-parse", "--git-common-dir"], self.cwd)
            self._dir = self.cwd / out.decode("utf-8", "surrogateescape").removesuffix("\n")
        return self._dir

    def behind(self, item: Content | Skipped) -> Content | Skipped | None:
        """The content behind `item` when it is a pointer blob, else None."""
        if not isinstance(item, Content) or item.metadata or item.chunks is not None:
            return None
        pointer = parse_pointer(item.data)
        if pointer is None:
            return None
        commit = item.commit
        shown = f"{commit.sha[:12]}:{item.path}" if commit is not None else item.path
        return content(self.dir(), pointer, item.path, shown, self.max_size, commit=commit)

    def resolve(self, items: Iterable[Content | Skipped]) -> Iterator[Content | Skipped]:
        """Each item, and after each pointer blob the content it names (or why not)."""
        for item in items:
            yield item
            found = self.behind(item)
            if found is not None:
                yield found


def accepting(items: Iterable[Content | Skipped], accepted: bool) -> Iterator[Content | Skipped]:
    """With --allow-missing-lfs, an LFS object not in this clone is said, not a failure."""
    for item in items:
        if accepted and isinstance(item, Skipped) and item.reason.startswith(NOT_LOCAL):
            reason = item.reason.split(UNACCEPTED)[0] + ACCEPTED
            yield Skipped(item.path, reason, unreadable=False)
        else:
            yield item
