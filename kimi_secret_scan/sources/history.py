"""Every blob, commit message and tag message reachable from the refs: each read once.

Phase 1 reads every object once. In one process, `git rev-list --objects` (every ref, and
the reflogs, by default) is piped into one long-lived `git cat-file --batch --buffer`,
which prints each object with its type, size and path; Python reads that one stream in
large chunks (the listing passes through a thread on its way, for its path names). With
workers (--jobs, or one per CPU for a large history), the listing is cut into runs as
rev-list writes it, each run handed to whichever worker is free; a worker reads its runs
through its own long-lived `git cat-file --batch-command` and sends back only what held a
key, merged in stream order (the report is the same for any number of workers). Trees
are parsed for the names the listing leaves out (sources/tree_names.py; the listing names
each object once) and for submodules; blobs, commits and annotated tags are read. Each unique
blob is scanned once (one larger than a window, windows.py, in windows as it arrives),
whatever number of commits and paths hold it (twice when a tree names it where it is read
further, as a configuration file). The same read gathers what
metadata.history_names reports besides objects: the listing's path names (and the trees'
other names) and the commits' author and committer identities; the reads that need
nothing the scan finds (ref names, taggers, the shallow check; at the first key, the refs
walk and HEAD's tree) run beside it.

Phases 2 and 3 attribute only the blobs that held a key to the commits and paths that
introduced them (sources/attribution.py: one `git log -m --find-object` walk, which needs
every matched blob id, so it runs after phase 1), read them again, and yield them as one
Content per (commit, path), so the usual detectors and filters decide what is reported.

Why the walk, when `git cat-file --batch-all-objects` reads the object store faster (it
costs git about 0.15 s less CPU on psf/requests' 4,516 refs): only the walk names each
blob's path, and the detectors read configuration files further (base64) by their name.
Without a path every blob would have to be read as a configuration file, which costs far
more than the walk (+0.9 s CPU there), and unreachable objects would have to be told apart
afterwards. See bench/README.md, "History audit".

Memory is bounded by a window (or the largest object under it) plus the pipes' buffers:
nothing of the objects is kept but the ids of the blobs that held a key; the listing itself
is kept for its path names (about 65 bytes an object: 3 MB for psf/requests' 46,000), and
each distinct identity with the line that names it; a large blob that
held one is read again with `git cat-file blob`, in chunks. Objects absent from a partial clone are
reported as skipped, never fetched.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import os
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import IO, TYPE_CHECKING

from kimi_secret_scan import git, threads
from kimi_secret_scan.content import Content, Skipped
from kimi_secret_scan.detect import marks
from kimi_secret_scan.detect.layered import holds_nothing
from kimi_secret_scan.detectors import detect
from kimi_secret_scan.errors import ScanError
from kimi_secret_scan.finding import Commit, Finding
from kimi_secret_scan.settings import DEFAULT_SETTINGS, DetectorSettings
from kimi_secret_scan.sources import lfs, metadata, reencode
from kimi_secret_scan.sources.attribution import (
    _COMMIT_LINES,
    Introduction,
    RefWalk,
    WalkOrder,
    commit_order,
    introductions,
    listed_walk,
)
from kimi_secret_scan.sources.hidden_refs import Hidden
from kimi_secret_scan.sources.message import person as _person
from kimi_secret_scan.sources.tree_names import TreeNames, widest
from kimi_secret_scan.unpack import (
    HEAD,
    TAIL,
    container_kind,
    find_container,
    tar_after_junk,
    zip_at_end,
)
from kimi_secret_scan.windows import WINDOW, detect_chunks, detect_members

if TYPE_CHECKING:
    import concurrent.futures

DEFAULT_MAX_SIZE = 100 * 1024 * 1024
_CHUNK = 1 << 20
_STRADDLE = 4096  # read at least this much to complete an object begun in the last read
_F_SETPIPE_SZ = 1031  # Linux: larger pipes mean fewer context switches per MB
_F_GETPIPE_SZ = 1032
COMMIT_MESSAGE = "<commit message>"
_GITLINK = b"160000 "
_HEX = re.compile(r"[0-9a-f]+")
_NAMED = (b"blob", b"tree")  # the objects a listing line names by a path


def tag_message_path(name: str) -> str:
    return f"<tag message {name}>"


COMMIT_HEADER = "<commit header>"


def tag_header_path(name: str) -> str:
    return f"<tag header {name}>"


# Header lines a history audit reads elsewhere: ids (metadata.ID_LINE: a line that is
# only an id), and (of a tag) its name, which the listing holds as a path name. A commit's
# last author and committer line, in git's own shape (metadata.plain_identity), are its
# identities (metadata.Identities); every other line is published with the commit and is
# scanned as its header, as the gates scan it (custom headers, `mergetag` with the merged
# tag's tagger and message, `gpgsig`, an earlier author or committer line of a hand-made
# object, an identity line with more than `name <email> date`, or without `<email>`). A
# tag's last tagger line is scanned whole (_header); in git's shape it is reported with
# the refs (for-each-ref, history_names) when a tag ref names the tag; any other (a tag of
# a tag, a line with more than its identity and date) is reported here (_Message.tagger).
_TAG_TYPE = re.compile(rb"type (?:commit|tree|blob|tag)")
# The header of almost every commit: ids, then one author and one committer in git's shape
# (one C pass: nothing else to scan in it, which _header_rest would take 2x longer to tell).
_ORDINARY_COMMIT = re.compile(
    rb"tree [0-9a-f]{40}(?:[0-9a-f]{24})?\n(?:parent [0-9a-f]{40}(?:[0-9a-f]{24})?\n)*"
    rb"author [^<>\n]* <[^<>\n]*> [0-9]+ [+-][0-9]{4}\n"
    rb"committer [^<>\n]* <[^<>\n]*> [0-9]+ [+-][0-9]{4}"
).fullmatch


_ASCII_RUNS = re.compile(rb"[\x21-\x7e]+").findall


def _same_reencoded(head: bytes, line: bytes) -> bool:
    """Does an author or committer line's value keep its ASCII text re-encoded (as
    metadata.Identities reads it)? Latin-1 does; UTF-16 turns it into other characters."""
    value = line.partition(b" ")[2]
    return _ASCII_RUNS(metadata._reencoded(head, value)) == _ASCII_RUNS(value)


def _header_rest(kind: str, head: bytes) -> bytes:
    """The lines of a commit's or tag's header that nothing else reads (see above)."""
    if kind == "commit" and _ORDINARY_COMMIT(head) is not None:
        return b""
    lines = head.split(b"\n")
    if kind != "commit":
        read = {i for i, line in enumerate(lines) if line.startswith(b"tagger ")}
        read = {max(read)} if read else set()  # the last, read whole by _header
        if (
            len(lines) > 2
            and metadata.ID_LINE.fullmatch(lines[0])
            and _TAG_TYPE.fullmatch(lines[1])
        ):
            read |= {0, 1}
            if lines[2].startswith(b"tag "):
                read.add(2)  # the name git parses, and lists (rev-list --objects)
        return b"\n".join(line for i, line in enumerate(lines) if i not in read)
    last: dict[bytes, int] = {}
    for i, line in enumerate(lines):
        if line.startswith((b"author ", b"committer ")):
            last[line[:6]] = i
    identities = {i for i in last.values() if metadata.plain_identity(lines[i]) is not None}
    if b"\nencoding " in head:
        # The identities are read re-encoded, as git log shows them: a line that the
        # commit's `encoding` changes (UTF-16 turns it into other characters) is read raw
        # here too, or a key in it would pass.
        identities = {i for i in identities if _same_reencoded(head, lines[i])}
    return b"\n".join(
        line
        for i, line in enumerate(lines)
        if i not in identities and not metadata.ID_LINE.fullmatch(line)
    )


def _tagger_shown_with_refs(message: _Message) -> bool:
    """Is a tag's tagger line all that history_names reports for it (`%(taggername)
    %(taggeremail)`, of its one tagger line, in git's shape)?"""
    one = message.header.count(b"\ntagger ") + message.header.startswith(b"tagger ") == 1
    return one and metadata.plain_identity(message.text) is not None


@dataclass(frozen=True)
class Selection:
    """Which history to read: `revs` (default: every ref) minus what `since` reaches."""

    revs: tuple[str, ...] = ()
    since: str | None = None
    reflog: bool = True
    # Object ids named outside refs, walked with every ref (sources/hidden_refs.py:
    # FETCH_HEAD, MERGE_HEAD, other worktrees' refs/bisect/*, …), which --all leaves out.
    extra: tuple[str, ...] = ()

    def rev_args(self) -> list[str]:
        args = list(self.revs) if self.revs else ["--all"]
        if self.reflog and not self.revs:
            # Older stash entries and amended or reset commits live only in reflogs.
            args.append("--reflog")
        if not self.revs:
            args += self.extra
        if self.since:
            args += ["--not", self.since]
        return args

    def describe(self) -> str:
        every = "every ref and reflog" if self.reflog else "every ref"
        what = ", ".join(self.revs) if self.revs else every
        return f"history of {what}" + (f" since {self.since}" if self.since else "")


@dataclass
class HistoryStats:
    blobs: int = 0
    commits: int = 0
    tags: int = 0
    bytes: int = 0
    skipped: list[Skipped] = field(default_factory=list)


Progress = Callable[[int, int], None]  # (objects read, bytes read)


class _ChunkReader:
    """Objects from `git cat-file --batch=<format>`, parsed out of large raw reads.

    The header format is "<id> <type> <size> <path>": the size is the third field, since a
    path may hold spaces.
    """

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buf = b""
        self.pos = 0

    def _fill(self, need: int) -> bool:
        """Make at least `need` unread bytes available; False at end of stream."""
        have = len(self.buf) - self.pos
        if have >= need:
            return True
        if not have:
            # Nothing left over: a fresh chunk becomes the buffer as it is, not copied.
            self.buf, self.pos = os.read(self.fd, max(need, _CHUNK)), 0
            have = len(self.buf)
            if have >= need or not have:
                return have >= need
        # What is wanted straddles two reads: read little more than its remainder, so
        # that the join copies about that object, not a whole chunk (~1 MiB) per read.
        parts = [self.buf[self.pos :]]
        while have < need:
            chunk = os.read(self.fd, max(need - have, _STRADDLE))
            if not chunk:
                break
            parts.append(chunk)
            have += len(chunk)
        self.buf = b"".join(parts)
        self.pos = 0
        return have >= need

    def header(self) -> list[bytes] | None:
        """The next header's fields (id, type, size, path), or None at the end."""
        while True:
            end = self.buf.find(b"\n", self.pos)
            if end >= 0:
                break
            if not self._fill(len(self.buf) - self.pos + 1):
                return None
        fields = self.buf[self.pos : end].split(b" ", 3)
        self.pos = end + 1
        return fields

    def data(self, size: int) -> bytes:
        if not self._fill(size + 1):
            raise ScanError("git cat-file stopped in the middle of an object")
        data = self.buf[self.pos : self.pos + size]
        self.pos += size + 1
        return data

    def pieces(self, size: int) -> Iterator[bytes]:
        """An object in pieces as they arrive (blobs larger than a window)."""
        left = size
        while left > 0:
            if self.pos >= len(self.buf):
                self.buf, self.pos = os.read(self.fd, _CHUNK), 0
                if not self.buf:
                    raise ScanError("git cat-file stopped in the middle of an object")
            take = min(left, len(self.buf) - self.pos)
            yield self.buf[self.pos : self.pos + take]
            self.pos += take
            left -= take
        if not self._fill(1):
            raise ScanError("git cat-file stopped in the middle of an object")
        self.pos += 1

    def skip(self, size: int) -> None:
        """Discard an object without holding it (blobs over the size limit)."""
        left = size + 1
        while left > 0:
            have = len(self.buf) - self.pos
            if have >= left:
                self.pos += left
                return
            left -= have
            self.buf, self.pos = os.read(self.fd, min(left, _CHUNK)), 0
            if not self.buf:
                raise ScanError("git cat-file stopped in the middle of an object")


class _Tee:
    """A large blob's pieces as they stream by; kept in a temporary file only when its
    first bytes name a container (or a script, which may carry an archive), so it can be
    unpacked after its bytes are scanned. Its last 64 KiB are kept to tell a zip behind a
    prefix by its end (`zip_end`), which is then read again."""

    def __init__(self, pieces: Iterator[bytes]) -> None:
        self.pieces = pieces
        self.spool: IO[bytes] | None = None
        self.tail = b""
        self.size = 0
        self.first = b""  # the first bytes, for a Git LFS pointer's test (sources/lfs.py)

    def zip_end(self) -> bool:
        return self.spool is None and zip_at_end(self.tail, self.size - len(self.tail))

    def __iter__(self) -> Iterator[bytes]:
        head = b""
        deciding = True
        for piece in self.pieces:
            self.size += len(piece)
            self.tail = piece[-TAIL:] if len(piece) >= TAIL else (self.tail + piece)[-TAIL:]
            if len(self.first) < lfs.POINTER_MAX:
                self.first += piece[: lfs.POINTER_MAX - len(self.first)]
            if deciding:
                head += piece
                if len(head) >= HEAD:
                    deciding = False
                    # A tar behind junk blocks too (GNU tar skips to it), in these bytes.
                    if (
                        container_kind(head[:HEAD]) is not None
                        or head.startswith(b"#!")
                        or tar_after_junk(head)
                    ):
                        import tempfile

                        self.spool = tempfile.NamedTemporaryFile(prefix="kimi-secret-scan-")  # noqa: SIM115
                        self.spool.write(head)
            elif self.spool is not None:
                self.spool.write(piece)
            yield piece
        if self.spool is not None:
            self.spool.flush()

    def replay(self) -> Iterator[bytes]:
        assert self.spool is not None
        with open(self.spool.name, "rb") as handle:
            while chunk := handle.read(_CHUNK):
                yield chunk


class _RunReader:
    """A run's objects as _consume reads them, with the path of each taken from the run's
    own lines (cat-file --batch-command has no %(rest)): the same header fields as
    _BATCH_FORMAT gives, the path as %(rest) shows it, so that --jobs changes nothing."""

    def __init__(self, reader: _ChunkReader, lines: list[bytes]) -> None:
        self.lines = iter(lines)
        self.reader = reader
        self.data = reader.data
        self.pieces = reader.pieces
        self.skip = reader.skip

    def header(self) -> list[bytes] | None:
        line = next(self.lines, None)
        if line is None:
            return None
        if line[:1] == b"?":
            return [line]  # absent from a partial clone: never asked of cat-file
        reader = self.reader
        end = reader.buf.find(b"\n", reader.pos)
        if end >= 0:  # the header is in the buffer already (_ChunkReader.header inline)
            fields = reader.buf[reader.pos : end].split(b" ", 3)
            reader.pos = end + 1
        else:
            found = reader.header()
            if found is None:
                raise ScanError("git cat-file stopped in the middle of the objects")
            fields = found
        if len(fields) >= 3 and fields[1] in _NAMED:  # commits and tags have no path
            fields.append(_rest(line))
        return fields


def _rest(line: bytes) -> bytes:
    """A listing line's path as cat-file's %(rest) gives it: without a trailing CR, and
    from the first character after the blanks that follow the id."""
    if line[-1:] == b"\r":
        line = line[:-1]
    rest = line.partition(b" ")[2]
    if rest[:1] in (b" ", b"\t"):
        rest = rest.lstrip(b" \t")
    return rest


def _runs(fd: int, chunks: list[bytes]) -> Iterator[tuple[int, bytes]]:
    """(its first line's place in the listing, run) for each run of about _RUN_BYTES of
    whole lines, as rev-list writes them to `fd`; every chunk read is kept in `chunks`."""
    pending = b""
    pos = 0
    line = 0
    while True:
        chunk = os.read(fd, _CHUNK)
        if chunk:
            chunks.append(chunk)
            pending = pending[pos:] + chunk
            pos = 0
        while True:
            if len(pending) - pos >= _RUN_BYTES:
                cut = pending.find(b"\n", pos + _RUN_BYTES - 1)
                if cut < 0:
                    break
            elif not chunk and pos < len(pending):
                cut = len(pending) - 1
            else:
                break
            run = pending[pos : cut + 1]
            pos = cut + 1
            yield line, run
            line += run.count(b"\n")
        if not chunk:
            return


def _write(fd: int, data: bytes) -> None:
    view = memoryview(data)
    try:
        while view:
            view = view[os.write(fd, view) :]
    except OSError:
        pass  # cat-file is gone: the reader says so


# In a worker process: its cat-file, kept for every run it reads (one start, and a delta
# base cache that stays warm), and the repository it reads.
_batch: tuple[Path, git.Process, _ChunkReader] | None = None


def _worker_batch(repo: Path) -> tuple[git.Process, _ChunkReader]:
    global _batch
    if _batch is not None and _batch[0] == repo and _batch[1].poll() is None:
        return _batch[1], _batch[2]
    cat = git.batch_command(repo, _RUN_FORMAT)
    assert cat.stdin is not None and cat.stdout is not None
    _grow_pipe(cat.stdout.fileno())
    _grow_pipe(cat.stdin.fileno())
    _batch = (repo, cat, _ChunkReader(cat.stdout.fileno()))
    import multiprocessing.util

    # When the worker ends (the pool shuts down), so does its cat-file.
    multiprocessing.util.Finalize(None, _end_batch, args=(cat,), exitpriority=10)
    return cat, _batch[2]


def _drop_batch() -> None:
    global _batch
    if _batch is not None:
        cat = _batch[1]
        _batch = None
        if cat.poll() is None:
            cat.kill()
        cat.wait()


def _end_batch(cat: git.Process) -> None:
    with contextlib.suppress(OSError):
        if cat.stdin is not None:
            cat.stdin.close()
    try:
        cat.wait(timeout=10)
    except Exception:  # TimeoutExpired: it did not end on its own
        cat.kill()
        cat.wait()
    if cat.stdout is not None:
        cat.stdout.close()


def _tee(source: IO[bytes], sink: IO[bytes], kept: list[bytes]) -> None:
    """Copy `source` into `sink` (then closed) and keep what passed in `kept`."""
    try:
        while chunk := os.read(source.fileno(), _CHUNK):
            kept.append(chunk)
            view = memoryview(chunk)
            while view:
                view = view[os.write(sink.fileno(), view) :]
    except OSError:
        pass  # cat-file stopped (killed, or it failed): the reader says why
    finally:
        with contextlib.suppress(OSError):
            sink.close()


def _grow_pipe(fd: int) -> None:
    with contextlib.suppress(OSError, AttributeError):
        import fcntl

        fcntl.fcntl(fd, _F_SETPIPE_SZ, _CHUNK)


def _pipe_size(fd: int) -> int:
    """The bytes a pipe holds (Linux); 4,096 (POSIX's PIPE_BUF, the least) elsewhere."""
    try:
        import fcntl

        return int(fcntl.fcntl(fd, _F_GETPIPE_SZ))
    except (OSError, AttributeError, ImportError):
        return 4096


@dataclass
class _Message:
    oid: str
    kind: str  # commit or tag
    header: bytes
    text: bytes
    position: int = 0  # the object's place in the listing, to merge shards in stream order
    # A message larger than a window is not held: `text` is empty, and the message is read
    # again from the object, from this offset, in chunks.
    offset: int = 0
    length: int = 0
    # The header lines nothing else reads (_header_rest) held a key: `text` holds them.
    header_rest: bool = False
    # ... and it is a tag's tagger line: reported unless a tag ref names the tag (then
    # history_names reports it, as "tagger of <tag>").
    tagger: bool = False
    # ... and it is the whole object, whose header alone is larger than a window (`text` is
    # empty: the object is read again in chunks).
    whole: bool = False
    # Found in the text decoded from the object's `encoding` (this Python codec), as git
    # log shows it: `text` holds it decoded, or (read again) it is decoded as it is read.
    codec: str = ""


class HistorySource:
    """Scan once, then yield the content of every occurrence of a key."""

    def __init__(
        self,
        repo: Path,
        selection: Selection,
        settings: DetectorSettings = DEFAULT_SETTINGS,
        max_size: int = DEFAULT_MAX_SIZE,
        progress: Progress | None = None,
        jobs: int | None = None,
    ) -> None:
        self.repo = repo
        # Processes reading the history; None: one per usable CPU, and one alone for a
        # history too small to pay for starting the others (_SHARD_MIN_OBJECTS).
        self.jobs = jobs
        self.selection = selection
        self.settings = settings
        self.max_size = max_size
        self.progress = progress
        self.stats = HistoryStats()
        # The content behind Git LFS pointer blobs, read from this clone's LFS store.
        self.lfs = lfs.Store(repo, max_size)
        # Commit → age in the topological walk (larger is older), for ordering occurrences.
        self.commit_age: dict[str, int] = {}
        # blob id -> the SHA-256 of each key its raw scan found (for "still in HEAD").
        self.blob_keys: dict[str, set[str]] = {}
        self.blob_path: dict[str, str] = {}
        # The blobs that hold a key inside a container (a zip, a tar.gz, ...): replacing
        # text cannot reach it there, so the purge plan strips these blobs (audit.py).
        self.container_blobs: set[str] = set()
        # blob id -> size, for the blobs that held a key and are too large to hold.
        self.big_blobs: dict[str, int] = {}
        self.messages: list[_Message] = []
        self.ref_walk: RefWalk | None = None
        # What the selection's `extra` ids are named by (the caller sets it: run_history).
        self.hidden = Hidden()
        # Paths at which some commit holds a submodule (gitlink): not scanned, and said so.
        self.submodules: set[str] = set()
        self._partial: bool | None = None
        # Read when first needed: refs that point at blobs; notes commit -> its notes ref.
        self.blob_refs: dict[str, list[str]] | None = None
        self.notes: dict[str, str] | None = None
        # The object being read (its place in the stream) and where each skip was said.
        self.position = 0
        self.count = 0
        self.skipped_at: list[int] = []
        # What history_names reports, gathered while reading: the listing's path names,
        # the commits' identities, how many objects were listed.
        self.names = metadata.HistoryNames()
        self.listing = b""
        # Its first lines, the commits and their parents (_listed_walk), kept after it.
        self.commit_lines = b""
        self.early_walk: _EarlyWalk | None = None
        # Reads that need nothing the scan finds, started while the objects are read
        # (_start_aside) or at the first key found (_found): the walk of every ref's
        # commits, HEAD's tree, whether the clone is shallow. False in a worker process.
        self.parent = True
        self.head_tree: git.Pending | None = None
        # The commit whose tree is "HEAD's" (the org audit names the inferred default branch
        # of a mirror whose HEAD names a branch that does not exist).
        self.head = "HEAD"
        self.shallow: git.Pending | None = None
        # The attribution walk's commits, and how many processes share its diffs.
        self.commit_order: git.Pending | WalkOrder | None = None
        self.ways = 1
        # The caller's own reads to start beside the scan (the audit's count of stored
        # objects in a bare repository).
        self.aside: list[Callable[[], object]] = []

    # -- phase 1: read everything once -------------------------------------------------

    def _read_all(self) -> None:
        jobs = self.jobs if self.jobs is not None else git.usable_cpus()
        if jobs > 1 and git.in_daemon_process():
            jobs = 1  # a multiprocessing pool's worker may not start processes of its own
        self.ways = jobs
        if jobs <= 1:
            self._read_piped()
            return
        self._read_streamed(jobs)

    def _walks_every_ref(self) -> bool:
        """The default selection (every ref, reflog and hidden ref): the refs' walk is
        then the listing's own (_found)."""
        return self.selection.rev_args() == ["--all", "--reflog", *self.selection.extra]

    def _listing_args(self) -> list[str]:
        # With --parents, each commit's line names its parents too (at no cost to git:
        # the walk has parsed them): the refs' walk and the attribution's order are then
        # taken from the listing, not from a second walk (attribution.listed_walk).
        parents = ["--parents"] if self._walks_every_ref() else []
        revs = self.selection.rev_args()
        return ["rev-list", "--objects", *parents, "--missing=print", *revs, "--"]

    def _listed_walk(self) -> list[list[bytes]] | None:
        # Once the objects are read: every commit read is one of the listing's first lines.
        if self.early_walk is not None:
            self.early_walk.join()
            walk = self.early_walk.walk
            if walk is not None and len(walk) == self.stats.commits:
                return walk
        return listed_walk(self.commit_lines, self.stats.commits, block=True)

    def _walk_early(self) -> None:
        """With the listing whole and the workers still reading: the walk from every
        commit-shaped line that begins the listing, in a thread of this process (idle
        while the workers read: its ~30 ms then leave the report's serial end), checked
        against the count of commits read once it is known (_listed_walk)."""
        lines = self.commit_lines
        if lines:
            self.early_walk = _EarlyWalk(lines)

    def _listing_names(self, listing: bytes) -> None:
        # Not the commits' lines, which hold their parents' ids (--parents), no name.
        commits = _COMMIT_LINES.match(listing)
        end = commits.end() if commits else 0
        self.commit_lines = listing[:end] if self._walks_every_ref() else b""
        self.names.paths = metadata.listing_paths(listing, end)
        self.listing = listing  # for the blobs to scan again under another name (_aliases)
        # Objects absent from a partial clone ("?<id>") are not stored: not counted.
        absent = listing.count(b"\n?") + listing.startswith(b"?")
        self.names.listed = listing.count(b"\n") - absent

    def _read_listing(self, listing: bytes) -> None:
        """Read the objects `listing` names through one `git cat-file --batch`."""
        cat = git.batch_objects(self.repo, listing, _BATCH_FORMAT)
        assert cat.stdout is not None
        _grow_pipe(cat.stdout.fileno())
        try:
            self._consume(_ChunkReader(cat.stdout.fileno()))
        finally:
            if cat.poll() is None:
                cat.kill()
            cat.wait()
            cat.stdout.close()

    def _read_streamed(self, jobs: int) -> None:
        """The listing handed, as `git rev-list --objects` writes it, to `jobs` worker
        processes, each with its own cat-file and detectors; their few results (the blobs
        that held a key, messages that did, what was skipped) merged back in stream order,
        so the report is the same for any count.

        The listing is cut into runs of consecutive objects (_RUN_BYTES of it: objects
        near each other in the walk share delta bases, which each cat-file caches), each
        handed to whichever worker is free as soon as rev-list has written it: blob sizes
        vary too much for equal shares of objects to be equal shares of work, and the
        workers start while the walk goes on. Without --jobs, a history of fewer than
        _SHARD_MIN_OBJECTS objects is read by this process alone.
        """
        import tempfile

        # rev-list's stderr in a file, not a pipe a thread drains: no thread may exist
        # when the workers are forked.
        errors = tempfile.TemporaryFile(prefix="kimi-secret-scan-")  # noqa: SIM115
        # Without --jobs: how many objects the repository stores (one fast read of the
        # packs' indexes). A store of at least _SHARD_MIN_OBJECTS starts the workers at
        # once rather than after that many objects are listed (~50 ms into the walk).
        stored = None
        if self.jobs is None:
            stored = git.popen(
                ["count-objects", "-v"], self.repo, stdout=git.PIPE, stderr=git.DEVNULL
            )
        rev_list = git.popen(self._listing_args(), self.repo, stdout=git.PIPE, stderr=errors)
        assert rev_list.stdout is not None
        _grow_pipe(rev_list.stdout.fileno())
        chunks: list[bytes] = []  # the whole listing, for its path names
        try:
            # While rev-list reads the refs (~25 ms for psf/requests' 4,516) and before its
            # first line: the marks' databases (the workers inherit them) and the modules
            # every worker would otherwise import after its fork.
            _enable_marks()
            many = stored is None or _stored_objects(stored) >= _SHARD_MIN_OBJECTS
            if many:
                _preload_for_workers()
            runs = _runs(rev_list.stdout.fileno(), chunks)
            first: list[tuple[int, bytes]] = []
            if not many:
                lines = 0
                for run in runs:
                    first.append(run)
                    lines += run[1].count(b"\n")
                    if lines >= _SHARD_MIN_OBJECTS:
                        break
                else:
                    self._listing_done(rev_list, errors)
                    listing = b"".join(chunks)
                    self._start_aside()
                    self._read_listing(listing)
                    self._listing_names(listing)
                    return
            # The workers' temporary files (spools that hold whole keys) in a directory of
            # their own, removed here even when the workers were killed (Ctrl-C).
            with tempfile.TemporaryDirectory(prefix="kimi-secret-scan-workers-") as temp_dir:
                if not many:
                    _preload_for_workers()
                pool = git.worker_pool(jobs, temp_dir, partial(_worker_batch, self.repo))
                # From its creation on: a Ctrl-C as the reads aside start left the pool
                # running, and the interpreter's exit then waited for its workers to read
                # their shards to the end (and raced its wake-up pipe: a traceback).
                try:
                    with git.worker_start_guard():
                        # Forks every worker now (a fork pool starts them all at its first
                        # submit), each starting its cat-file, before the first run is ready.
                        pool.submit(int)
                    # The workers are forked by now: the reads aside may start threads.
                    self._start_aside()
                    bounds, shards = self._run_shards(
                        itertools.chain(first, runs), pool, rev_list, errors, chunks
                    )
                except BaseException:
                    for process in list(getattr(pool, "_processes", {}).values()):
                        process.kill()  # a worker's cat-file then ends on its closed pipe
                    pool.shutdown(wait=True, cancel_futures=True)
                    raise
                pool.shutdown(wait=True)
        finally:
            if rev_list.poll() is None:
                rev_list.kill()
            rev_list.wait()
            rev_list.stdout.close()
            errors.close()
            if stored is not None and stored.stdout is not None and not stored.stdout.closed:
                stored.kill()  # not read: an error came first
                stored.wait()
                stored.stdout.close()
        self._merge_shards(bounds, shards)

    def _listing_done(self, rev_list: git.Process, errors: IO[bytes]) -> None:
        """rev-list has written its last line: did it list everything?"""
        if rev_list.wait() != 0:
            errors.seek(0)
            raise ScanError(f"git rev-list failed: {git._first_line(errors.read())}")

    def _run_shards(
        self,
        runs: Iterator[tuple[int, bytes]],
        pool: concurrent.futures.ProcessPoolExecutor,
        rev_list: git.Process,
        errors: IO[bytes],
        chunks: list[bytes],
    ) -> tuple[list[int], list[_Shard]]:
        futures = []
        bounds: list[int] = []
        for start, run in runs:
            with git.worker_start_guard():  # a submit may fork the workers
                future = pool.submit(_scan_shard, self.repo, run, self.settings, self.max_size)
            futures.append(future)
            bounds.append(start)
        self._listing_done(rev_list, errors)
        self._listing_names(b"".join(chunks))  # while the workers read
        read = 0
        for done in _as_completed(futures):
            part = done.result()
            read += part.count
            if part.blob_keys or part.messages:
                self._found()
            if self.progress is not None:
                self.progress(read, self.stats.bytes + part.stats.bytes)
            self.stats.bytes += part.stats.bytes
        return bounds, [future.result() for future in futures]

    def _merge_shards(self, bounds: list[int], shards: list[_Shard]) -> None:
        for start, shard in zip(bounds, shards, strict=False):
            stats = shard.stats
            self.stats.blobs += stats.blobs
            self.stats.commits += stats.commits
            self.stats.tags += stats.tags
            self.stats.skipped += stats.skipped
            self.skipped_at += [start + at for at in shard.skipped_at]
            for message in shard.messages:
                message.position += start
                self.messages.append(message)
            self.blob_keys.update(shard.blob_keys)
            self.blob_path.update(shard.blob_path)
            self.container_blobs |= shard.container_blobs
            self.big_blobs.update(shard.big_blobs)
            self.submodules |= shard.submodules
            self.count += shard.count
            self.names.identities.merge(shard.identities, start)
            self.names.entries.merge(shard.entries)

    def _read_piped(self) -> None:
        """One git-to-git pipe, rev-list into cat-file; Python only reads its output."""
        self._start_aside()
        rev_list = git.popen(self._listing_args(), self.repo, stdout=git.PIPE, stderr=git.PIPE)
        assert rev_list.stdout is not None and rev_list.stderr is not None
        cat = git.popen(
            ["cat-file", f"--batch={_BATCH_FORMAT}", "--buffer"],
            self.repo,
            stdin=git.PIPE,
            stdout=git.PIPE,
            stderr=git.DEVNULL,
        )
        assert cat.stdout is not None and cat.stdin is not None
        _grow_pipe(cat.stdout.fileno())
        _grow_pipe(rev_list.stdout.fileno())
        _enable_marks()  # while rev-list reads the refs
        # The listing passes through this process on its way to cat-file (a thread copies
        # it, ~3 MB for 46,000 objects), so that its path names are the listing's own:
        # cat-file's %(rest) drops a name's leading blanks and trailing CR.
        listing: list[bytes] = []
        tee = threads.start(_tee, rev_list.stdout, cat.stdin, listing, daemon=False)
        # rev-list reports on stderr; read it aside so a full pipe never blocks it.
        errors: list[bytes] = []
        stderr = rev_list.stderr
        drain = threads.start(lambda: errors.append(stderr.read()), daemon=False)
        try:
            self._consume(_ChunkReader(cat.stdout.fileno()))
        finally:
            if cat.poll() is None:
                cat.kill()
            if rev_list.poll() is None:
                rev_list.kill()
            tee.join()
            cat.wait()
            cat.stdout.close()
            code = rev_list.wait()
            drain.join()
            stderr.close()
            rev_list.stdout.close()
        if code != 0:
            raise ScanError(f"git rev-list failed: {git._first_line(b''.join(errors))}")
        self._listing_names(b"".join(listing))

    def _read_run(self, run: bytes) -> None:
        """In a worker: read the objects of one run of the listing through this worker's
        long-lived cat-file (git 2.36+), else through a cat-file of its own."""
        lines = run.split(b"\n")
        if lines and not lines[-1]:
            lines.pop()
        wanted = [line.partition(b" ")[0] for line in lines if line[:1] != b"?"]
        if not git.has_batch_command():
            cat = git.batch_objects(self.repo, b"".join(oid + b"\n" for oid in wanted), _RUN_FORMAT)
            assert cat.stdout is not None
            _grow_pipe(cat.stdout.fileno())
            try:
                self._consume(_RunReader(_ChunkReader(cat.stdout.fileno()), lines))
            finally:
                if cat.poll() is None:
                    cat.kill()
                cat.wait()
                cat.stdout.close()
            return
        cat, reader = _worker_batch(self.repo)
        assert cat.stdin is not None
        commands = b"".join(b"contents " + oid + b"\n" for oid in wanted) + b"flush\n"
        writer = None
        if len(commands) <= _pipe_size(cat.stdin.fileno()):
            # cat-file has read every command of the previous run (it answered them all):
            # the pipe is empty, and this run's commands fit in it without blocking.
            _write(cat.stdin.fileno(), commands)
        else:
            # Written aside: the commands may not fit in the pipe while the objects fill
            # the other one.
            writer = threads.start(_write, cat.stdin.fileno(), commands, daemon=False)
        try:
            self._consume(_RunReader(reader, lines))
        except BaseException:
            # Its place in the stream is lost, and the writer may wait on it: end it.
            _drop_batch()
            raise
        finally:
            if writer is not None:
                writer.join()

    def _consume(self, reader: _ChunkReader | _RunReader) -> None:
        stats, progress, settings = self.stats, self.progress, self.settings
        max_size = self.max_size
        count = 0
        while True:
            fields = reader.header()
            if fields is None:
                break
            self.position = count
            count += 1
            if len(fields) < 3:  # "?<id>" (rev-list) or "<id> missing" (cat-file)
                oid = fields[0].lstrip(b"?").decode()
                self._skip(Skipped(f"object {oid}", self._missing_reason(), True))
                continue
            kind, size = fields[1], int(fields[2])
            if kind == b"tree":
                # Every name a tree gives its entries, which the listing names only once,
                # and cuts at a line break (sources/tree_names.py): key-named empty files,
                # configuration aliases, names with a line break, submodules' names.
                data = reader.data(size)
                self.names.entries.add(fields, data)
                # rev-list never lists a submodule's commit (a gitlink): find them in the
                # trees, so a submodule is reported as not scanned rather than passed over.
                if _GITLINK in data:
                    # A tree entry holds the raw id: half the hex id's length.
                    raw_id = len(fields[0]) // 2
                    self._gitlinks(fields[3] if len(fields) > 3 else b"", data, raw_id)
                continue
            if kind == b"blob":
                path = fields[3].decode("utf-8", "replace") if len(fields) > 3 else ""
                oid = fields[0].decode()
                if size > max_size:
                    reader.skip(size)
                    self._skip(
                        Skipped(
                            f"{path or oid} (blob {oid[:12]})",
                            f"larger than the size limit ({size} > {max_size} bytes)",
                        )
                    )
                    continue
                stats.blobs += 1
                stats.bytes += size
                if size > WINDOW:
                    tee = _Tee(reader.pieces(size))
                    # Read again from git only when its Kimi context comes after a window.
                    anew = partial(git.blob_chunks, self.repo, oid, _CHUNK)
                    found = detect_chunks(Content(path, b""), tee, settings, again=anew)
                    if tee.spool is not None:
                        whole = Content(path, b"", chunks=tee.replay, size=size)
                        found += self._members(whole, oid, found)
                        tee.spool.close()
                    elif tee.zip_end():  # a zip behind a prefix: read once more
                        again = partial(git.blob_chunks, self.repo, oid, _CHUNK)
                        whole = Content(path, b"", chunks=again, size=size)
                        found += self._members(whole, oid, found)
                    if lfs.maybe_pointer(tee.first):  # git-lfs reads any blob's first bytes
                        found += self._lfs(Content(path, tee.first), oid)
                else:
                    data = reader.data(size)
                    found = (
                        []
                        if holds_nothing(path, data, settings)
                        else detect(Content(path, data), settings)
                    )
                    if find_container(data) is not None:
                        found += self._members(Content(path, data), oid, found)
                    if lfs.maybe_pointer(data):
                        found += self._lfs(Content(path, data), oid)
                if found:
                    if self.ref_walk is None:
                        self._found()
                    if size > WINDOW:
                        self.big_blobs[oid] = size
                    self.blob_keys[oid] = {f.secret_sha256 for f in found}
                    self.blob_path[oid] = path
                    if any(f.member is not None for f in found):
                        self.container_blobs.add(oid)
            elif size > WINDOW:
                self._big_message(fields[0].decode(), kind.decode(), reader.pieces(size), size)
            else:
                self._message(fields[0].decode(), kind.decode(), reader.data(size))
            if progress is not None and not count & 255:
                progress(count, stats.bytes)
        if progress is not None:
            progress(count, stats.bytes)
        self.count = count

    def _aliases(self) -> None:
        """What the listing, naming each object once, left out (sources/tree_names.py):
        the names only trees hold join the path names, and a blob that a tree names as a
        configuration file, listed under another name, is scanned again under that one
        (base64 is searched in configuration files only; a container's members were read
        as under its widest name already, _members). Its occurrences are then reported at
        each path that holds it, each judged by its own name."""
        paths, wanted = self.names.entries.resolve(self.listing)
        self.listing = b""
        if self.names.paths is not None:
            self.names.paths |= paths
        if not wanted:
            return
        settings = self.settings
        for oid, kind, data, size in git.cat_file_bounded(self.repo, sorted(wanted), WINDOW):
            if kind != "blob" or size > self.max_size:
                continue  # said when it was first read (missing, or over the limit)
            path = wanted[oid]
            if data is None:
                pieces = git.blob_chunks(self.repo, oid, _CHUNK)
                anew = partial(git.blob_chunks, self.repo, oid, _CHUNK)
                found = detect_chunks(Content(path, b""), pieces, settings, again=anew)
                for _ in pieces:  # the rest, when the scan stopped early: its git ends
                    pass
            else:
                found = detect(Content(path=path, data=data), settings)
            if found:
                if size > WINDOW:
                    self.big_blobs[oid] = size
                self.blob_keys.setdefault(oid, set()).update(f.secret_sha256 for f in found)
                self.blob_path.setdefault(oid, path)

    def _lfs(self, pointer: Content, oid: str) -> list[Finding]:
        """The keys in the content a Git LFS pointer blob names (sources/lfs.py), kept
        under the pointer's id: the content's occurrences are the pointer's. Content not in
        this clone is said (and fails the audit unless --allow-missing-lfs)."""
        behind = self.lfs.behind(pointer)
        if behind is None:
            return []
        if isinstance(behind, Skipped):
            self._skip(dataclasses.replace(behind, path=f"{pointer.path or oid} (blob {oid[:12]})"))
            return []
        if behind.chunks is not None:
            return detect_chunks(behind, behind.chunks(), self.settings, again=behind.chunks)
        found = detect(behind, self.settings)
        if find_container(behind.data) is not None:
            found += self._members(behind, oid, found)
        return found

    def _skip(self, item: Skipped) -> None:
        self.stats.skipped.append(item)
        self.skipped_at.append(self.position)

    def _members(self, content: Content, oid: str, raw: list[Finding]) -> list[Finding]:
        """The keys inside a container blob. What could not be unpacked is said here for a
        blob that holds no key; one that does is unpacked again, with the same result, when
        its occurrences are scanned."""
        # Unpacked as if named `.env…`: a member's judgement depends on its container's
        # name, and this blob may have several (tree_names.py); what is skipped is said
        # at its real path.
        wide = widest(content.path)
        found, skipped = detect_members(dataclasses.replace(content, path=wide), self.settings)
        if not found and not raw:
            for skip in skipped:
                where = content.path + skip.path[len(wide) :]
                if not skip.path.startswith(wide):
                    where = skip.path
                shown = f"{where} (blob {oid[:12]})"
                self._skip(dataclasses.replace(skip, path=shown))
        return found

    def _missing_reason(self) -> str:
        if self._partial is None:
            self._partial = git.is_partial_clone(self.repo)
        if self._partial:
            return "object not in this clone (partial clone), not fetched and not scanned"
        return "object missing or corrupt in this repository, not scanned (run `git fsck`)"

    def _gitlinks(self, tree_path: bytes, data: bytes, raw_id: int) -> None:
        pos, end = 0, len(data)
        while pos < end:
            space = data.find(b" ", pos)
            nul = data.find(b"\0", space)
            if space < 0 or nul < 0:
                return
            if data[pos:space] == b"160000":
                name = data[space + 1 : nul]
                path = tree_path + b"/" + name if tree_path else name
                self.submodules.add(path.decode("utf-8", "surrogateescape"))
            pos = nul + 1 + raw_id

    def _message(self, oid: str, kind: str, data: bytes) -> None:
        head, sep, text = data.partition(b"\n\n")
        if kind == "commit":
            self.stats.commits += 1
            self.names.identities.add(self.position, oid, head)
        else:
            self.stats.tags += 1
        self._header(oid, kind, head)
        if b"encoding " in head:
            self._encoded(oid, kind, head, text)
        if not sep or not text or holds_nothing(COMMIT_MESSAGE, text, self.settings):
            return
        if detect(Content(path=COMMIT_MESSAGE, data=text), self.settings):
            self.messages.append(_Message(oid, kind, head, text, self.position))
            if self.ref_walk is None:
                self._found()

    def _encoded(
        self, oid: str, kind: str, head: bytes, text: bytes, offset: int = 0, length: int = 0
    ) -> None:
        """An object with an `encoding` header: its header and message decoded from it
        (sources/reencode.py), as git log shows them; the raw bytes are scanned too. Only
        such objects pay for it. `length`: the message (from `offset`; 0: the whole object)
        is larger than a window, and is read again and decoded as it is scanned."""
        for name in reencode.encodings_of(head):
            codec = reencode.codec_for(name)
            if codec is None:
                self._skip(Skipped(f"{kind} {oid}", reencode.undecodable(name), unreadable=True))
                continue
            if not codec:
                continue  # UTF-8: the raw bytes are the text
            found: list[_Message] = []
            # Its identities are read decoded (metadata.Identities); the other lines here.
            rest = _header_rest(kind, head)
            header = reencode.decoded(rest, codec)
            if self._new_keys(COMMIT_HEADER, header, rest):
                found.append(
                    _Message(oid, kind, head, header, self.position, header_rest=True, codec=codec)
                )
            if length:
                chunks = partial(git.object_chunks, self.repo, kind, oid, offset=offset)
                pieces = reencode.decoded_chunks(chunks, codec)()
                if detect_chunks(Content(COMMIT_MESSAGE, b""), pieces, self.settings):
                    found.append(
                        _Message(
                            oid,
                            kind,
                            head,
                            b"",
                            self.position,
                            offset,
                            length,
                            whole=not offset,
                            codec=codec,
                        )
                    )
            elif text.strip():
                decoded = reencode.decoded(text, codec)
                if self._new_keys(COMMIT_MESSAGE, decoded, text):
                    found.append(_Message(oid, kind, head, decoded, self.position, codec=codec))
            self.messages.extend(found)
            if found and self.ref_walk is None:
                self._found()

    def _header(self, oid: str, kind: str, head: bytes) -> None:
        rest = _header_rest(kind, head)
        if (
            rest.strip()
            and not holds_nothing(COMMIT_HEADER, rest, self.settings)
            and detect(Content(path=COMMIT_HEADER, data=rest), self.settings)
        ):
            found = _Message(oid, kind, head, rest, self.position, header_rest=True)
            self.messages.append(found)
            if self.ref_walk is None:
                self._found()
        if kind != "commit" and b"tagger " in head:
            line = b"tagger " + metadata._header_line(head, b"tagger ")
            if detect(Content(path=COMMIT_HEADER, data=line), self.settings):
                found = _Message(
                    oid, kind, head, line, self.position, header_rest=True, tagger=True
                )
                self.messages.append(found)
                if self.ref_walk is None:
                    self._found()

    def _new_keys(self, path: str, decoded: bytes, raw: bytes) -> bool:
        """`decoded` holds a key the raw bytes do not (a Latin-1 text decodes to the same
        ASCII key: reported once, from the raw bytes)."""
        if decoded == raw:
            return False
        found = detect(Content(path=path, data=decoded), self.settings)
        if not found:
            return False
        before = {f.secret for f in detect(Content(path=path, data=raw), self.settings)}
        return any(f.secret not in before for f in found)

    def _start_aside(self) -> None:
        """Start the reads that need nothing from the scan, to run beside it."""
        self.shallow = git.Pending(["rev-parse", "--is-shallow-repository"], self.repo)
        self.names.start(self.repo)
        for start in self.aside:
            start()

    def _found(self) -> None:
        """The first key: start what only a finding needs (the refs walk, HEAD's tree),
        so that it runs while the rest is read instead of after."""
        if not self.parent or self.ref_walk is not None:
            return
        # Every ref and reflog (the default selection): one walk gives both the refs'
        # containment and the attribution's commit order.
        shared = self._walks_every_ref()
        self.ref_walk = RefWalk(
            self.repo,
            reflog=shared,
            extra=self.hidden.tips,
            listed=self._listed_walk if shared else None,
        )
        if shared:
            self._walk_early()
        self.head_tree = git.Pending(["ls-tree", "-r", "-z", "--full-tree", self.head], self.repo)
        if self.ways > 1:
            if shared:
                self.commit_order = self.ref_walk.order()
            else:
                self.commit_order = commit_order(self.repo, self.selection.rev_args())

    def _big_message(self, oid: str, kind: str, pieces: Iterator[bytes], size: int) -> None:
        """A commit or tag larger than a window (its message of any size): the message is
        scanned as its pieces stream by, and read again in chunks only if it held a key."""
        if kind == "commit":
            self.stats.commits += 1
        else:
            self.stats.tags += 1
        held = bytearray()
        for piece in pieces:
            start = max(0, len(held) - 1)
            held += piece
            end = held.find(b"\n\n", start)
            if end >= 0:
                head = bytes(held[:end])
                if kind == "commit":
                    # Its people, as of any commit (metadata.Identities): a large message
                    # must not hide a key in its author or committer.
                    self.names.identities.add(self.position, oid, head)
                self._header(oid, kind, head)
                offset = end + 2
                rest = bytes(held[end + 2 :])
                del held
                message = itertools.chain([rest], pieces)
                if detect_chunks(Content(COMMIT_MESSAGE, b""), message, self.settings):
                    found = _Message(oid, kind, head, b"", self.position, offset, size - offset)
                    self.messages.append(found)
                for _ in message:  # the rest of the object, when the scan stopped early
                    pass
                if b"encoding " in head:
                    self._encoded(oid, kind, head, b"", offset, size - offset)
                return
            if len(held) > WINDOW:
                # A header larger than a window (a hand-made object): the whole object is
                # scanned as its header, in chunks, as the gates scan it; its people are
                # read from its first window.
                head = bytes(held[:WINDOW])
                if kind == "commit":
                    self.names.identities.add(self.position, oid, head)
                whole = itertools.chain([bytes(held)], pieces)
                del held
                if detect_chunks(Content(COMMIT_HEADER, b""), whole, self.settings):
                    self.messages.append(
                        _Message(oid, kind, head, b"", self.position, 0, size, True, whole=True)
                    )
                for _ in whole:  # the rest of the object, when the scan stopped early
                    pass
                if b"encoding " in head:
                    self._encoded(oid, kind, head, b"", 0, size)
                return

    # -- phases 2 and 3: attribute the few blobs that matched, and yield them --------------

    def items(self) -> Iterator[Content | Skipped]:
        self._read_all()
        self._aliases()
        for path in sorted(self.submodules):
            self.stats.skipped.append(
                Skipped(path, "submodule, not scanned (scan its own repository's history)")
            )
        shallow = self.shallow.answer() if self.shallow is not None else None
        if self.shallow is None:
            shallow = git.try_git(["rev-parse", "--is-shallow-repository"], self.repo)
        if shallow == b"true\n":
            self.stats.skipped.append(Skipped(SHALLOW, SHALLOW_REASON))
        yield from self.stats.skipped
        if (self.blob_keys or self.messages) and self.ref_walk is None:
            # Runs while the blobs are attributed.
            self.ref_walk = RefWalk(self.repo, extra=self.hidden.tips)
        intros = introductions(
            self.repo, self.blob_keys, self.selection.rev_args(), self.commit_order, self.ways
        )
        for blob_intros in intros.values():
            for intro in blob_intros:
                self.commit_age[intro.commit.sha] = intro.age
        ids = sorted(oid for oid in self.blob_keys if oid not in self.big_blobs)
        for oid, kind, data in git.cat_file(self.repo, ids):
            if kind == "blob":
                yield from self._occurrences(oid, intros, data)
        for oid in sorted(self.big_blobs):
            yield from self._occurrences(oid, intros, b"")
        named: set[str] | None = None  # the tags a tag ref names (their taggers are read)
        for message in self.messages:
            if message.tagger and _tagger_shown_with_refs(message):
                if named is None:
                    out = git.run_git(
                        ["for-each-ref", "--format=%(objectname)", "refs/tags"], self.repo
                    )
                    named = set(out.decode("ascii", "replace").split())
                if message.oid in named:
                    continue
            yield self._message_content(message)

    def _occurrences(
        self, oid: str, intros: dict[str, list[Introduction]], data: bytes
    ) -> Iterator[Content]:
        big = oid in self.big_blobs
        chunks = partial(git.blob_chunks, self.repo, oid, _CHUNK) if big else None
        size = self.big_blobs.get(oid, 0)
        places: list[Introduction] = intros.get(oid, [])
        versions: list[tuple[bytes, Callable[[], Iterator[bytes]] | None, int]]
        versions = [(data, chunks, size)]
        behind = self.lfs.behind(Content("", data, chunks=chunks, size=size))
        if isinstance(behind, Content):
            # A Git LFS pointer: the content it names is reported where the pointer is.
            versions.append((behind.data, behind.chunks, behind.size))
        for body, pieces, length in versions:
            if not places:
                # Reachable, but no commit adds it: a tag (or another ref) pointing straight
                # at the blob, which is then located by that ref.
                for name in self._blob_refs().get(oid) or [self.blob_path[oid] or oid]:
                    yield Content(name, body, chunks=pieces, size=length)
            for place in places:
                path = self._note_path(place) or place.path
                yield Content(path, body, commit=place.commit, chunks=pieces, size=length)

    def _blob_refs(self) -> dict[str, list[str]]:
        """Blob id -> the refs that point at it, directly or through an annotated tag."""
        if self.blob_refs is None:
            self.blob_refs = {}
            out = git.run_git(
                [
                    "for-each-ref",
                    "--format=%(objecttype) %(objectname) %(*objecttype) %(*objectname) %(refname)",
                ],
                self.repo,
            )
            for line in out.decode("utf-8", "replace").splitlines():
                kind, oid, peeled_kind, peeled, name = line.split(" ", 4)
                if kind == "blob" or peeled_kind == "blob":
                    blob = oid if kind == "blob" else peeled
                    self.blob_refs.setdefault(blob, []).append(name)
            for name, oid in self.hidden.named:  # FETCH_HEAD naming a blob, say
                if self.hidden.kinds.get(oid) == "blob":
                    self.blob_refs.setdefault(oid, []).append(name)
        return self.blob_refs

    def _note_path(self, place: Introduction) -> str | None:
        """A git note is a blob stored at the annotated object's id (split by fan-out
        directories) in a notes ref's tree: say so, with the ref and the object."""
        annotated = place.path.replace("/", "")
        if len(annotated) not in (40, 64) or not _HEX.fullmatch(annotated):
            return None
        if self.notes is None:
            self.notes = {}
            names = git.run_git(["for-each-ref", "--format=%(refname)", "refs/notes/"], self.repo)
            for name in names.decode("utf-8", "replace").splitlines():
                out = git.run_git(["rev-list", name, "--"], self.repo)
                for commit in out.decode().split():
                    self.notes.setdefault(commit, name)
        ref = self.notes.get(place.commit.sha)
        return f"note on {annotated} ({ref})" if ref else None

    def _message_content(self, message: _Message) -> Content:
        if message.kind == "commit":
            person = _person(message.header, b"author")
            path = COMMIT_MESSAGE
        else:
            person = _person(message.header, b"tagger")
            name = b""
            for line in message.header.split(b"\n"):
                if line.startswith(b"tag "):
                    name = line[4:]
                    break  # the first, as git reads it (a hand-made tag may hold more)
            path = tag_message_path(name.decode("utf-8", "replace"))
            if message.header_rest:
                path = tag_header_path(name.decode("utf-8", "replace"))
        if message.header_rest and message.kind == "commit":
            path = COMMIT_HEADER
        commit = Commit(
            sha=message.oid,
            author=person.author if person else "",
            email=person.email if person else "",
            date=person.date if person else "",
        )
        if message.codec:
            path += f" (decoded from {message.codec})"
        if message.offset or message.whole:
            chunks: Callable[[], Iterator[bytes]] = partial(
                git.object_chunks, self.repo, message.kind, message.oid, offset=message.offset
            )
            if message.codec:
                chunks = reencode.decoded_chunks(chunks, message.codec)
            return Content(path, b"", commit=commit, chunks=chunks, size=message.length)
        return Content(path=path, data=message.text, commit=commit, metadata=message.header_rest)

    def head_paths(self) -> dict[str, list[str]]:
        """Key SHA-256 -> the paths of HEAD's tree that hold it."""
        if not self.blob_keys or not git.has_commit(self.repo, self.head):
            return {}
        if self.head_tree is not None:
            out = self.head_tree.result()  # started at the first key found
        else:
            out = git.run_git(["ls-tree", "-r", "-z", "--full-tree", self.head], self.repo)
        found: dict[str, list[str]] = {}
        for entry in out.split(b"\0"):
            meta, _, path = entry.partition(b"\t")
            parts = meta.split()
            if len(parts) != 3 or parts[1] != b"blob":
                continue
            oid = parts[2].decode()
            for sha in self.blob_keys.get(oid, ()):
                found.setdefault(sha, []).append(path.decode("utf-8", "replace"))
        return found


_BATCH_FORMAT = "%(objectname) %(objecttype) %(objectsize) %(rest)"
# A worker's cat-file is asked ids only; the paths come from the listing (_RunReader).
_RUN_FORMAT = "%(objectname) %(objecttype) %(objectsize)"
# Below this many objects one process reads the history: starting workers (a fork and a
# cat-file each, a few ms) would cost more than they save.
_SHARD_MIN_OBJECTS = 20_000
# Bytes of the listing per run handed to a worker (~1,000 objects): small enough that the
# last run to finish leaves the other workers idle only briefly, large enough that handing
# it out (~0.3 ms) is nothing beside reading it.
_RUN_BYTES = 64 * 1024


class _EarlyWalk(threading.Thread):
    """listed_walk over every line of a listing's commit block, in a thread."""

    def __init__(self, lines: bytes) -> None:
        super().__init__(daemon=True)
        self.lines = lines
        self.walk: list[list[bytes]] | None = None
        threads.started(self)

    def run(self) -> None:
        self.walk = listed_walk(self.lines, self.lines.count(b"\n"), block=True)


@dataclass
class _Shard:
    """What a worker sends back: only what phases 2 and 3 need, never the objects."""

    stats: HistoryStats
    skipped_at: list[int]
    blob_keys: dict[str, set[str]]
    blob_path: dict[str, str]
    big_blobs: dict[str, int]
    messages: list[_Message]
    submodules: set[str]
    count: int
    identities: metadata.Identities
    entries: TreeNames
    container_blobs: set[str]


def _as_completed(
    futures: list[concurrent.futures.Future[_Shard]],
) -> Iterator[concurrent.futures.Future[_Shard]]:
    """concurrent.futures.as_completed, its wait woken every threads.TICK: a Ctrl-C that
    another thread took (one not started by threads.start) is then handled within a tick,
    not after the next shard is read (threads.py says why)."""
    import concurrent.futures

    pending = set(futures)
    while pending:
        done, pending = concurrent.futures.wait(
            pending, timeout=threads.TICK, return_when=concurrent.futures.FIRST_COMPLETED
        )
        yield from done


def _stored_objects(proc: git.Process) -> int:
    """`git count-objects -v`'s loose and packed objects (0 when it says nothing usable:
    the listing is then counted, as without it)."""
    assert proc.stdout is not None
    try:
        out = proc.stdout.read()
    finally:
        proc.stdout.close()
        proc.wait()
    total = 0
    for line in out.splitlines():
        name, _, value = line.partition(b": ")
        if name in (b"count", b"in-pack") and value.strip().isdigit():
            total += int(value)
    return total


def _enable_marks() -> None:
    # Every object is read: the detectors' survey by Hyperscan's marks pays here (in the
    # workers too: forked, they have it compiled; spawned, _scan_shard enables it).
    marks.enable()


def _preload_for_workers() -> None:
    """Import in this process what a worker imports when it meets its first container, a
    UTF-16 text or a zip member's name: forked, the workers then share one import of
    each (~20 ms of CPU a worker otherwise, psf/requests)."""
    import codecs

    from kimi_secret_scan.unpack import archives  # noqa: F401  (zipfile, tarfile, gzip…)

    # `regex` too: no module imports it at its own import any more (lazy_regex.py).
    for name in ("regex", "zipfile", "tarfile", "gzip", "bz2", "lzma"):
        with contextlib.suppress(ImportError):  # a Python built without one
            __import__(name)
    for codec in ("utf-16-le", "utf-16-be", "cp437"):
        codecs.lookup(codec)


def _scan_shard(repo: Path, run: bytes, settings: DetectorSettings, max_size: int) -> _Shard:
    """In a worker process: read and scan the objects a run of the listing names (phase 1
    only)."""
    marks.enable()
    source = HistorySource(repo, Selection(), settings, max_size, jobs=1)
    source.parent = False
    source._read_run(run)
    return _Shard(
        source.stats,
        source.skipped_at,
        source.blob_keys,
        source.blob_path,
        source.big_blobs,
        source.messages,
        source.submodules,
        source.count,
        source.names.identities,
        source.names.entries,
        source.container_blobs,
    )


SHALLOW = "(shallow clone)"
SHALLOW_REASON = (
    "history before the shallow boundary is not in this clone, and keys that entered history "
    "before it look as if the boundary commit added them; fetch the whole history "
    "(`git fetch --unshallow`), or pass --allow-shallow to audit only what is here"
)
SHALLOW_ACCEPTED = (
    "history before the shallow boundary is not in this clone, and keys that entered history "
    "before it look as if the boundary commit added them; only what is here was audited "
    "(--allow-shallow); `git fetch --unshallow` fetches the rest"
)


def find_repo_dir(path: str, whole: bool = False) -> Path:
    """The git directory to read: a work tree's top level, or a bare repository.
    `whole`: `path` must be that repository itself, not a directory inside one."""
    target = Path(path)
    if not target.exists():
        raise ScanError(f"{path} does not exist")
    out = git.require_repo(target, f"{target.resolve()} is not inside a git repository")
    git_dir = Path(out.decode("utf-8", "surrogateescape").removesuffix("\n"))
    top = git.try_git(["rev-parse", "--show-toplevel"], target)
    root = git_dir
    if top and top.strip():
        root = Path(top.decode("utf-8", "surrogateescape").removesuffix("\n"))
    git.refuse_a_repository_above(target, root, git_dir, whole)
    return root
