"""Git LFS: the content behind a pointer blob, read from this clone's own LFS store.

A file tracked by Git LFS (`*.ipynb filter=lfs` in .gitattributes) is committed as a
pointer, three lines naming the content's SHA-256 and size; the content sits in
`.git/lfs/objects/<aa>/<bb>/<oid>` and goes to the LFS server on push. Scanning only the
pointer would pass a key in the content without a word.

- A pointer is recognised as git-lfs's own decoder recognises one (lfs/pointer.go,
  DecodeFrom and decodeKV; read, not copied), since what it accepts is what a checkout
  turns into content and what its pre-push uploads: the blob's first 1024 bytes (the
  smudge filter reads only those, whatever the blob's length), stripped of surrounding
  white space (Go's: ASCII and Unicode spaces), split into lines on line feeds, one
  carriage return dropped from each line's end, blank lines skipped; then `version`,
  `oid`, `size` in that order, `ext-<digit>-<name>` lines anywhere before `size`; the
  version one of the three git-lfs knows (the spec's, the hawser URL, the alpha
  `http://git-media.io/v/2`), the oid `sha256:` and 64 lower-case hex digits, the size a
  Go decimal (a sign allowed, not negative, under 2**63).
- A pointer of size 0 is empty content (git-lfs writes nothing): nothing to scan. One
  naming extensions is smudged by programs the repository configures, never run here:
  its content is a `Skipped` that leaves the scan incomplete.
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
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from pathlib import Path

from kimi_secret_scan import git
from kimi_secret_scan.content import Content, Skipped
from kimi_secret_scan.errors import ScanError
from kimi_secret_scan.finding import Commit
from kimi_secret_scan.windows import WINDOW

# git-lfs's smudge filter decodes the first this many bytes of a blob (BlobSizeCutoff);
# its other commands take only smaller blobs for pointers, a narrower set.
POINTER_MAX = 1024
VERSIONS = (
    b"https://git-lfs.github.com/spec/v1",
    b"https://hawser.github.com/spec/v1",
    b"http://git-media.io/v/2",
)
_OID = re.compile(rb"sha256:([0-9a-f]{64})")
# Go's strconv.ParseInt(value, 10, 64): an optional sign, decimal digits (range checked).
_SIZE = re.compile(rb"[+-]?([0-9]+)")
_EXT = re.compile(rb"ext-([0-9])-[0-9A-Za-z_]")
_CANONICAL = (b"version", b"oid", b"size")
# What Go's bytes.TrimSpace strips at either end (unicode.IsSpace, as UTF-8); an invalid
# or cut sequence is not space, for Go either.
_ASCII_SPACE = b"\t\n\x0b\x0c\r "
_WIDE_SPACE = tuple(
    chr(c).encode() for c in (0x85, 0xA0, 0x1680, *range(0x2000, 0x200B), 0x2028, 0x2029)
) + tuple(chr(c).encode() for c in (0x202F, 0x205F, 0x3000))
# The cheap test: what a pointer's first byte can be (a space, `version`, `ext-`), then
# the word git-lfs itself looks for before reading lines.
_FIRST = frozenset(b"ve\t\n\x0b\x0c\r \xc2\xe1\xe2\xe3")
_MATCHER = re.compile(rb"git-media|hawser|git-lfs")

NOT_LOCAL = "LFS object not in this clone, not scanned"
ACCEPTED = " (accepted: --allow-missing-lfs)"
UNACCEPTED = (
    "; fetch the LFS objects first (with git-lfs; in GitHub Actions, `lfs: true` in "
    "actions/checkout), or pass --allow-missing-lfs to accept it"
)


class Pointer:
    """What a pointer names: the content's SHA-256 (hex) and size, and the extensions
    (names) git-lfs would run on it."""

    __slots__ = ("extensions", "oid", "size")

    def __init__(self, oid: str, size: int, extensions: tuple[str, ...] = ()) -> None:
        self.oid = oid
        self.size = size
        self.extensions = extensions


def maybe_pointer(data: bytes) -> bool:
    """The cheap test run on every blob of a history: one byte, then one bounded search."""
    return bool(data) and data[0] in _FIRST and _MATCHER.search(data, 0, POINTER_MAX) is not None


def _strip(data: bytes) -> bytes:
    """`data` without the white space Go's bytes.TrimSpace strips (linear, no regex)."""
    while True:
        data = data.lstrip(_ASCII_SPACE)
        if not data.startswith(_WIDE_SPACE):
            break
        data = data[next(len(w) for w in _WIDE_SPACE if data.startswith(w)) :]
    while True:
        data = data.rstrip(_ASCII_SPACE)
        if not data.endswith(_WIDE_SPACE):
            return data
        data = data[: -next(len(w) for w in _WIDE_SPACE if data.endswith(w))]


def parse_pointer(data: bytes) -> Pointer | None:
    """The pointer `data` is, as git-lfs decodes one, or None."""
    if not maybe_pointer(data):
        return None
    text = _strip(data[:POINTER_MAX])
    values: dict[bytes, bytes] = {}
    extensions: dict[bytes, bytes] = {}
    line = 0
    for raw in text.split(b"\n"):
        part = raw[:-1] if raw.endswith(b"\r") else raw
        if not part:
            continue
        key, space, value = part.partition(b" ")
        if not space or line == len(_CANONICAL):
            return None  # no space, or a line after `size`
        if key == _CANONICAL[line]:
            values[key] = value
            line += 1
        elif _EXT.match(key):
            extensions[key] = value  # the same key again replaces it, as in git-lfs
        else:
            return None
    if values.get(b"version") not in VERSIONS:
        return None
    oid = _OID.fullmatch(values.get(b"oid", b""))
    size = _SIZE.fullmatch(values.get(b"size", b""))
    if oid is None or size is None:
        return None
    number = int(size.group(1))
    if number >= 1 << 63 or (number and values[b"size"].startswith(b"-")):
        return None  # out of int64, or negative
    priorities = set()
    for key, value in extensions.items():
        match = _EXT.match(key)
        assert match is not None
        if _OID.fullmatch(value) is None or match.group(1) in priorities:
            return None  # an extension's oid is checked too; priorities unique
        priorities.add(match.group(1))
    names = tuple(key[6:].decode("utf-8", "replace") for key in sorted(extensions))
    return Pointer(oid.group(1).decode("ascii"), number, names)


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


def _head(chunks: Callable[[], Iterator[bytes]]) -> bytes:
    """The first POINTER_MAX bytes of content over a window (git-lfs's smudge filter reads
    those of any blob); its reader is closed then (its git process ends). A failure is
    said where the content itself is scanned."""
    head = b""
    pieces = chunks()
    try:
        for piece in pieces:
            head += piece
            if len(head) >= POINTER_MAX:
                break
    except ScanError:
        return b""
    finally:
        close = getattr(pieces, "close", None)
        if close is not None:
            close()
    return head[:POINTER_MAX]


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
        if not isinstance(item, Content) or item.metadata:
            return None
        pointer = parse_pointer(item.data if item.chunks is None else _head(item.chunks))
        if pointer is None or pointer.size == 0:
            return None  # not a pointer, or empty content (git-lfs writes nothing)
        commit = item.commit
        shown = f"{commit.sha[:12]}:{item.path}" if commit is not None else item.path
        if pointer.extensions:
            # git-lfs pipes the stored object through programs the repository
            # configures (lfs.extension.<name>.smudge); none is run here.
            names = ", ".join(pointer.extensions)
            reason = f"LFS pointer with extensions ({names}): their programs' output not scanned"
            return Skipped(shown, reason, unreadable=True)
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
