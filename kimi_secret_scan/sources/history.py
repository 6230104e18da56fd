"""Every blob, commit message and tag message reachable from the refs: each read once.

The default audit (every ref and reflog) has one `git cat-file --batch-all-objects
--unordered` print the whole object store in pack order: git's floor, with no history walk.
A narrowed audit (REVS, --since, --no-reflog) or a partial clone pipes `git rev-list
--objects` straight into one long-lived `git cat-file --batch --buffer` instead. Python
only reads that one stream, in large reads into one reusable buffer, skips the trees, and
reads the blobs, commits and annotated tags. Each unique blob is scanned once,
whole, whatever number of commits and paths hold it; only the blobs that held a key are
then attributed to the commits and paths that introduced them (sources/attribution.py),
read again, and yielded as one Content per (commit, path), so the usual detectors and
filters decide what is reported. In the default audit, what held a key but no ref or
reflog reaches is noted as skipped, not reported.

Memory is bounded by the largest object plus a 4 MiB read buffer and the pipes' buffers:
nothing of the history is kept but the ids of the blobs that held a key. Objects absent
from a partial clone are reported as skipped, never fetched.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from kimi_secret_scan import git
from kimi_secret_scan.content import Content, Skipped
from kimi_secret_scan.detectors import detect
from kimi_secret_scan.errors import ScanError
from kimi_secret_scan.finding import Commit
from kimi_secret_scan.settings import DEFAULT_SETTINGS, DetectorSettings
from kimi_secret_scan.sources.attribution import Introduction, RefWalk, introductions

DEFAULT_MAX_SIZE = 100 * 1024 * 1024
_PIPE = 1 << 20
_BUFFER = 4 << 20
_F_SETPIPE_SZ = 1031  # Linux: larger pipes mean fewer context switches per MB
COMMIT_MESSAGE = "<commit message>"


def tag_message_path(name: str) -> str:
    return f"<tag message {name}>"


@dataclass(frozen=True)
class Selection:
    """Which history to read: `revs` (default: every ref) minus what `since` reaches."""

    revs: tuple[str, ...] = ()
    since: str | None = None
    reflog: bool = True

    def rev_args(self) -> list[str]:
        args = list(self.revs) if self.revs else ["--all"]
        if self.reflog and not self.revs:
            # Older stash entries and amended or reset commits live only in reflogs.
            args.append("--reflog")
        if self.since:
            args += ["--not", self.since]
        return args

    @property
    def every_ref(self) -> bool:
        """The default audit: every ref and reflog, nothing narrowed."""
        return not self.revs and not self.since and self.reflog

    def describe(self) -> str:
        what = ", ".join(self.revs) if self.revs else "every ref and reflog"
        return f"history of {what}" + (f" since {self.since}" if self.since else "")


@dataclass
class HistoryStats:
    blobs: int = 0
    commits: int = 0
    tags: int = 0
    bytes: int = 0
    skipped: list[Skipped] = field(default_factory=list)


Progress = Callable[[int, int], None]  # (objects read, bytes read)


class _StreamReader:
    """Objects from `git cat-file --batch=<format>`, parsed out of one reusable buffer.

    The stream is read with `readv` into a fixed bytearray, so the hundreds of megabytes
    of a history pass through the same pages instead of a fresh allocation per read (each
    one page-faulted and zeroed by the kernel); an object's bytes are copied once, into
    the `bytes` the detectors read, and trees and oversized blobs are skipped without any
    copy. The header format is "<id> <type> <size> [<path>]": the size is the third field,
    since a path may hold spaces.
    """

    def __init__(self, fd: int, size: int = _BUFFER) -> None:
        self.fd = fd
        self.buf = bytearray(size)
        self.view = memoryview(self.buf)
        self.start = 0  # next unread byte
        self.end = 0  # end of the bytes read so far

    def _more(self) -> bool:
        """Read what the pipe holds after the unread bytes; False at end of stream."""
        if self.start == self.end:
            self.start = self.end = 0
        elif self.end == len(self.buf):
            # Move the unread tail (part of one object or header) to the front.
            tail = self.end - self.start
            if tail == len(self.buf):
                self.view.release()  # a bytearray with a live view cannot grow
                self.buf.extend(bytes(len(self.buf)))  # a header longer than the buffer
                self.view = memoryview(self.buf)
            else:
                self.buf[:tail] = self.buf[self.start : self.end]
                self.start, self.end = 0, tail
        read = os.readv(self.fd, [self.view[self.end :]])
        self.end += read
        return read > 0

    def header(self) -> list[bytearray] | None:
        """The next header's fields (id, type, size, path), or None at the end."""
        while True:
            end = self.buf.find(b"\n", self.start, self.end)
            if end >= 0:
                break
            if not self._more():
                return None
        fields = self.buf[self.start : end].split(b" ", 3)
        self.start = end + 1
        return fields

    def data(self, size: int) -> bytes:
        need = size + 1  # the object and its trailing newline
        if need > len(self.buf):
            return self._large(size)
        while self.end - self.start < need:
            if not self._more():
                raise ScanError("git cat-file stopped in the middle of an object")
        data = bytes(self.view[self.start : self.start + size])
        self.start += need
        return data

    def _large(self, size: int) -> bytes:
        parts = [bytes(self.view[self.start : self.end])]
        left = size + 1 - (self.end - self.start)
        self.start = self.end = 0
        while left > 0:
            chunk = os.read(self.fd, left)
            if not chunk:
                raise ScanError("git cat-file stopped in the middle of an object")
            parts.append(chunk)
            left -= len(chunk)
        return b"".join(parts)[:size]

    def skip(self, size: int) -> None:
        """Discard an object without holding it (trees, blobs over the size limit)."""
        left = size + 1 - (self.end - self.start)
        if left <= 0:
            self.start += size + 1
            return
        self.start = self.end = 0
        while left > 0:
            read = os.readv(self.fd, [self.view[: min(left, len(self.buf))]])
            if not read:
                raise ScanError("git cat-file stopped in the middle of an object")
            left -= read


def _grow_pipe(fd: int) -> None:
    with contextlib.suppress(OSError, AttributeError):
        import fcntl

        fcntl.fcntl(fd, _F_SETPIPE_SZ, _PIPE)


def _popen(args: list[str], cwd: Path, **kwargs: object) -> subprocess.Popen[bytes]:
    try:
        return subprocess.Popen(  # type: ignore[call-overload, no-any-return]
            ["git", *args], cwd=cwd, env=git.git_env(), **kwargs
        )
    except FileNotFoundError:
        raise ScanError("git was not found on PATH; install git and try again") from None


def _person(header: bytes, field_name: bytes) -> Commit | None:
    """author/tagger line of a commit or tag object → name, email, ISO date."""
    for line in header.split(b"\n"):
        if not line.startswith(field_name + b" "):
            continue
        text = line[len(field_name) + 1 :].decode("utf-8", "replace")
        name, _, rest = text.partition(" <")
        email, _, when = rest.partition("> ")
        stamp, _, tz = when.partition(" ")
        try:
            sign = -1 if tz.startswith("-") else 1
            offset = dt.timedelta(hours=int(tz[1:3]), minutes=int(tz[3:5])) * sign
            date = dt.datetime.fromtimestamp(int(stamp), dt.timezone(offset)).isoformat()
        except (ValueError, IndexError):
            date = ""
        return Commit(sha="", author=name, email=email, date=date)
    return None


@dataclass
class _Message:
    oid: str
    kind: str  # commit or tag
    header: bytes
    text: bytes


class HistorySource:
    """Scan once, then yield the content of every occurrence of a key."""

    def __init__(
        self,
        repo: Path,
        selection: Selection,
        settings: DetectorSettings = DEFAULT_SETTINGS,
        max_size: int = DEFAULT_MAX_SIZE,
        progress: Progress | None = None,
    ) -> None:
        self.repo = repo
        self.selection = selection
        self.settings = settings
        self.max_size = max_size
        self.progress = progress
        self.stats = HistoryStats()
        # blob id -> the SHA-256 of each key its raw scan found (for "still in HEAD").
        self.blob_keys: dict[str, set[str]] = {}
        self.blob_path: dict[str, str] = {}
        self.messages: list[_Message] = []
        self.ref_walk: RefWalk | None = None
        # Every-object mode: blobs over the size limit (id -> size), placed after the read.
        self.oversized: dict[str, int] = {}
        self.every_object = False

    # -- phase 1: read everything once -------------------------------------------------

    def _read_all(self) -> None:
        if self.selection.every_ref and _complete(self.repo):
            self.every_object = True
            self._read_every_object()
        else:
            self._read_reachable()

    def _read_every_object(self) -> None:
        """Every object of the repository, in pack order, with no history walk at all.

        Reading the object store whole costs git no more than the floor, where listing
        what the refs reach first (`rev-list --objects`) walks every tree. What no ref or
        reflog reaches is read too; the few objects that held a key are placed afterwards
        (attribution, `_place_unattributed`), and the unreachable ones are not reported.
        """
        cat = _popen(
            [
                "cat-file",
                "--batch-all-objects",
                "--unordered",
                "--batch=%(objectname) %(objecttype) %(objectsize)",
            ],
            self.repo,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert cat.stdout is not None and cat.stderr is not None
        _grow_pipe(cat.stdout.fileno())
        errors: list[bytes] = []
        stderr = cat.stderr
        drain = threading.Thread(target=lambda: errors.append(stderr.read()))
        drain.start()
        try:
            self._consume(_StreamReader(cat.stdout.fileno()))
        finally:
            if cat.poll() is None:
                cat.kill()
            code = cat.wait()
            cat.stdout.close()
            drain.join()
            stderr.close()
        if code != 0:
            raise ScanError(f"git cat-file failed: {git._first_line(b''.join(errors))}")

    def _read_reachable(self) -> None:
        """One git-to-git pipe, rev-list into cat-file; Python only reads its output."""
        rev_list = _popen(
            ["rev-list", "--objects", "--missing=print", *self.selection.rev_args(), "--"],
            self.repo,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert rev_list.stdout is not None and rev_list.stderr is not None
        cat = _popen(
            ["cat-file", "--batch=%(objectname) %(objecttype) %(objectsize) %(rest)", "--buffer"],
            self.repo,
            stdin=rev_list.stdout,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        rev_list.stdout.close()
        assert cat.stdout is not None
        _grow_pipe(cat.stdout.fileno())
        # rev-list reports on stderr; read it aside so a full pipe never blocks it.
        errors: list[bytes] = []
        stderr = rev_list.stderr
        drain = threading.Thread(target=lambda: errors.append(stderr.read()))
        drain.start()
        try:
            self._consume(_StreamReader(cat.stdout.fileno()))
        finally:
            if cat.poll() is None:
                cat.kill()
            cat.wait()
            cat.stdout.close()
            if rev_list.poll() is None:
                rev_list.kill()
            code = rev_list.wait()
            drain.join()
            stderr.close()
        if code != 0:
            raise ScanError(f"git rev-list failed: {git._first_line(b''.join(errors))}")

    def _consume(self, reader: _StreamReader) -> None:
        stats, progress, settings = self.stats, self.progress, self.settings
        max_size = self.max_size
        count = 0
        while True:
            fields = reader.header()
            if fields is None:
                break
            count += 1
            if len(fields) < 3:  # "?<id> missing": absent from a partial clone
                oid = fields[0].lstrip(b"?").decode()
                stats.skipped.append(
                    Skipped(oid, "object not in this clone (partial clone), not fetched")
                )
                continue
            kind, size = fields[1], int(fields[2])
            if kind == b"tree":
                reader.skip(size)
                continue
            if kind == b"blob":
                path = fields[3].decode("utf-8", "replace") if len(fields) > 3 else ""
                if size > max_size:
                    reader.skip(size)
                    oid = fields[0].decode()
                    if self.every_object:  # reported once placed, if a ref reaches it
                        self.oversized[oid] = size
                        continue
                    stats.skipped.append(
                        Skipped(
                            f"{path or oid} (blob {oid[:12]})",
                            f"larger than the size limit ({size} > {max_size} bytes)",
                        )
                    )
                    continue
                data = reader.data(size)
                stats.blobs += 1
                stats.bytes += size
                # Without a path (every-object mode) the detectors take the blob for a
                # configuration file, their broadest reading: what a real path would let
                # them find is found; the matched blobs are read again at their paths.
                found = detect(Content(path=path, data=data), settings)
                if found:
                    oid = fields[0].decode()
                    self.blob_keys[oid] = {f.secret_sha256 for f in found}
                    self.blob_path[oid] = path
            else:
                self._message(fields[0].decode(), kind.decode(), reader.data(size))
            if progress is not None and not count & 255:
                progress(count, stats.bytes)
        if progress is not None:
            progress(count, stats.bytes)

    def _message(self, oid: str, kind: str, data: bytes) -> None:
        if kind == "commit":
            self.stats.commits += 1
        else:
            self.stats.tags += 1
        head, sep, text = data.partition(b"\n\n")
        if not sep or not text:
            return
        if detect(Content(path=COMMIT_MESSAGE, data=text), self.settings):
            self.messages.append(_Message(oid, kind, head, text))

    # -- phases 2 and 3: attribute the few blobs that matched, and yield them --------------

    def items(self) -> Iterator[Content | Skipped]:
        self._read_all()
        if git.try_git(["rev-parse", "--is-shallow-repository"], self.repo) == b"true\n":
            self.stats.skipped.append(
                Skipped(
                    "(shallow clone)",
                    "history beyond the shallow boundary is not here, and keys that entered "
                    "history before it look as if the boundary commit added them; run "
                    "`git fetch --unshallow` for a full audit",
                )
            )
        if self.blob_keys or self.messages:
            self.ref_walk = RefWalk(self.repo)  # runs while the blobs are attributed
        intros = introductions(self.repo, self.blob_keys, self.selection.rev_args())
        if self.every_object:
            self._place_unattributed(intros)
        yield from self.stats.skipped
        ids = sorted(self.blob_keys)
        for oid, kind, data in git.cat_file(self.repo, ids):
            if kind != "blob":
                continue
            places: list[Introduction] = intros.get(oid, [])
            if not places:
                # Reachable, but no commit adds it (a tag pointing straight at a blob).
                yield Content(path=self.blob_path[oid] or oid, data=data)
                continue
            for place in places:
                yield Content(path=place.path, data=data, commit=place.commit)
        for message in self.messages:
            yield self._message_content(message)

    def _place_unattributed(self, intros: dict[str, list[Introduction]]) -> None:
        """Every-object mode: which of the objects no commit introduced a ref reaches.

        A blob that some commit introduced is reachable (attribution walked every ref and
        reflog); the rest, the messages that held a key and the oversized blobs are looked
        up in one `rev-list --objects` walk, run only when there is any. What it does not
        reach (dangling blobs, objects only in the index or left by a rewrite) is dropped
        from the findings and counted in one note.
        """
        blobs = [oid for oid in self.blob_keys if not intros.get(oid)]
        wanted = {*blobs, *(m.oid for m in self.messages), *self.oversized}
        if not wanted:
            return
        reached = self._reachable(wanted)
        unreachable = [oid for oid in blobs if oid not in reached]
        for oid in blobs:
            if oid in reached:
                self.blob_path[oid] = reached[oid]
            else:
                del self.blob_keys[oid]
                del self.blob_path[oid]
        kept = [m for m in self.messages if m.oid in reached]
        unreachable += [m.oid for m in self.messages if m.oid not in reached]
        self.messages = kept
        for oid, size in sorted(self.oversized.items()):
            if oid in reached:
                path = reached[oid]
                self.stats.skipped.append(
                    Skipped(
                        f"{path or oid} (blob {oid[:12]})",
                        f"larger than the size limit ({size} > {self.max_size} bytes)",
                    )
                )
        if unreachable:
            ids = ", ".join(sorted(oid[:12] for oid in unreachable))
            self.stats.skipped.append(
                Skipped(
                    f"({len(unreachable)} unreachable objects: {ids})",
                    "held keys, but no ref or reflog reaches them, so they are not reported; "
                    "they stay in this clone (not in what it pushes) until "
                    "`git reflog expire --expire-unreachable=now --all && git gc --prune=now`",
                )
            )

    def _reachable(self, wanted: set[str]) -> dict[str, str]:
        """The ids in `wanted` that the selected refs reach, with a path for blobs."""
        out = git.run_git(["rev-list", "--objects", *self.selection.rev_args(), "--"], self.repo)
        ids = {oid.encode() for oid in wanted}
        reached: dict[str, str] = {}
        for line in out.split(b"\n"):
            oid, _, path = line.partition(b" ")
            if oid in ids:
                ids.discard(oid)
                reached[oid.decode()] = path.decode("utf-8", "replace")
        return reached

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
            path = tag_message_path(name.decode("utf-8", "replace"))
        commit = Commit(
            sha=message.oid,
            author=person.author if person else "",
            email=person.email if person else "",
            date=person.date if person else "",
        )
        return Content(path=path, data=message.text, commit=commit)

    def head_paths(self) -> dict[str, list[str]]:
        """Key SHA-256 -> the paths of HEAD's tree that hold it."""
        if not self.blob_keys or not git.has_commit(self.repo):
            return {}
        out = git.run_git(["ls-tree", "-r", "-z", "--full-tree", "HEAD"], self.repo)
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


def _complete(repo: Path) -> bool:
    """Whether every object the refs reach is here: not a partial clone.

    Only a history walk sees what a partial clone lacks (`rev-list --missing=print`), so
    there the reachable objects are listed rather than the object store read whole.
    """
    if git.try_git(["config", "--get", "extensions.partialclone"], repo):
        return False
    out = git.try_git(["rev-parse", "--git-path", "objects/pack"], repo)
    if out is None:
        return False
    pack = Path(out.decode("utf-8", "surrogateescape").strip())
    return not any((repo / pack).glob("*.promisor"))


def find_repo_dir(path: str) -> Path:
    """The git directory to read: a work tree's top level, or a bare repository."""
    target = Path(path)
    if not target.exists():
        raise ScanError(f"{path} does not exist")
    out = git.try_git(["rev-parse", "--absolute-git-dir"], target)
    if out is None:
        raise ScanError(f"{target.resolve()} is not inside a git repository")
    top = git.try_git(["rev-parse", "--show-toplevel"], target)
    if top and top.strip():
        return Path(top.decode("utf-8", "surrogateescape").strip())
    return Path(out.decode("utf-8", "surrogateescape").strip())
