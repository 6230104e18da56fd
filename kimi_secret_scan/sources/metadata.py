"""What a push publishes besides files: messages, names and identities.

A push sends commit messages, annotated tag messages, notes, the names of the refs it
updates, the names of the files it adds, and the names and emails of the authors,
committers and taggers. Each is a place a key can be pasted, and each is public once
pushed, so the gates (range, ci, pre-push, pre-receive) scan them all, as `history` scans
the messages of the whole repository.

Each piece is yielded as its own Content with `metadata=True` and a `path` that says which
piece it is (`commit message of 1a2b3c4d5e6f`, `author of 1a2b3c4d5e6f`, `ref name`,
`tag message of v1.0`, `note on 1a2b3c4d5e6f (refs/notes/commits)`); the path names of a
commit are yielded by sources/commits.py, which already lists them. An object that cannot
be read is skipped as unreadable: the scan is then incomplete, never clean.
"""

from __future__ import annotations

import contextlib
import queue
import re
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from dataclasses import field as _field
from functools import partial
from pathlib import Path

from kimi_secret_scan import git
from kimi_secret_scan.content import Content, Skipped
from kimi_secret_scan.finding import Commit
from kimi_secret_scan.sources import reencode
from kimi_secret_scan.sources.message import person
from kimi_secret_scan.sources.tree_names import _ENTRIES, TreeNames
from kimi_secret_scan.windows import WINDOW

# Every byte of every header line is published. Lines that are only an id (`tree`,
# `parent`, a tag's `object` and `type`) hold nothing to scan; an author, committer or
# tagger line in git's own shape (`name <email> seconds zone`) is scanned as its identity,
# `name <email>`, once per distinct identity (the rest is digits). Every other line (a
# key after the time zone or glued to `>`, an identity without `<email>`, mergetag,
# encoding, gpgsig, anything a tool or a hand-made object added) is scanned whole, as text.
ID_LINE = re.compile(rb"(?:tree|parent|object) [0-9a-f]{40}(?:[0-9a-f]{24})?")
_TYPE_LINE = re.compile(rb"type (?:commit|tree|blob|tag)")
_PLAIN_IDENTITY = re.compile(
    rb"(?:author|committer|tagger) ([^<>\n]* <[^<>\n]*>) [0-9]+ [+-][0-9]{4}"
)


def plain_identity(line: bytes) -> bytes | None:
    """`name <email>` of an identity line in git's own shape, whose other bytes are its
    date; None for any other line (scanned whole)."""
    found = _PLAIN_IDENTITY.fullmatch(line)
    return found.group(1) if found is not None else None


def _header_pieces(head: bytes, roles: tuple[bytes, ...]) -> tuple[bytes, list[tuple[str, bytes]]]:
    """A header's lines to scan as text, and its identities in git's shape (role, `name
    <email>`), from the header lines `roles` name."""
    text: list[bytes] = []
    people: list[tuple[str, bytes]] = []
    for line in head.split(b"\n"):
        if ID_LINE.fullmatch(line) or _TYPE_LINE.fullmatch(line):
            continue
        role = line.partition(b" ")[0]
        ident = plain_identity(line) if role in roles else None
        if ident is None:
            text.append(line)
        else:
            people.append((role.decode(), ident))
    return b"\n".join(text), people


@dataclass(frozen=True)
class PushedRef:
    """A ref a push or range publishes: its full name and the object it points at."""

    name: str
    oid: str


def commit_path_names(sha: str) -> str:
    return f"path name in {sha[:12]}"


def _unreadable(what: str, oid: str, hint: str) -> Skipped:
    return Skipped(f"{what} {oid}", f"object could not be read{hint}", unreadable=True)


def commit_metadata(cwd: Path, shas: Sequence[str], hint: str = "") -> Iterator[Content | Skipped]:
    """Each commit's message, other header lines, and (once per distinct identity) its
    author and committer."""
    seen: set[bytes] = set()
    read = 0
    for oid, kind, data, size in git.cat_file_bounded(cwd, shas, WINDOW):
        read += 1
        if kind != "commit":
            yield _unreadable("commit", oid, hint)
            continue
        if data is not None:
            head, _, text = data.partition(b"\n\n")
            yield from _commit_pieces(oid, head, text, seen)
            continue
        # A commit larger than a window (a push may carry a message of any size): its
        # message is read in chunks as it is scanned, never held.
        big = _BigObject.read(cwd, "commit", oid, size)
        yield from _commit_pieces(oid, big.head, b"", seen, whole_head=big.message is not None)
        commit = _commit_of(oid, big.head)
        if big.message is None:
            shown = f"commit header of {oid[:12]}"
            chunks = partial(git.object_chunks, cwd, "commit", oid)
            yield Content(shown, b"", commit=commit, metadata=True, chunks=chunks, size=size)
            # The whole object, decoded (its header too: _commit_pieces read only its start).
            yield from _decoded(shown, big.head, b"", commit, chunks, size, head_too=False)
        else:
            shown = f"commit message of {oid[:12]}"
            yield Content(
                shown, b"", commit=commit, metadata=True, chunks=big.message, size=big.size
            )
            # Its header decoded (and an encoding not known said) by _commit_pieces.
            yield from _decoded(
                shown, big.head, b"", commit, big.message, big.size, head_too=False, say=False
            )
    if read != len(shas):
        yield _unreadable("commit", shas[read], hint)


def _commit_of(oid: str, head: bytes) -> Commit:
    author = person(head, b"author")
    return Commit(
        oid,
        author.author if author else "",
        author.email if author else "",
        author.date if author else "",
    )


def _decoded(
    shown: str,
    head: bytes,
    text: bytes,
    who: Commit,
    chunks: Callable[[], Iterator[bytes]] | None = None,
    size: int = 0,
    head_too: bool = True,
    say: bool = True,
) -> Iterator[Content | Skipped]:
    """A commit's or tag's header and message (`text`, or `chunks` for one larger than a
    window) decoded from its `encoding` header, as git log shows them (sources/reencode.py);
    the raw bytes are scanned by the caller. An encoding that cannot be decoded is said."""
    for name in reencode.encodings_of(head):
        codec = reencode.codec_for(name)
        if codec is None:
            if not say:
                continue
            yield Skipped(
                shown,
                reencode.undecodable(name),
                unreadable=True,
            )
            continue
        if not codec:
            continue  # UTF-8: the raw bytes are the text
        # The whole header: git log re-encodes the author and committer with the message.
        where = f"{shown} (decoded from {codec})"
        # Text that decodes to its own bytes (ASCII in Latin-1) was scanned raw: not twice.
        decoded = reencode.decoded(head, codec)
        if head_too and decoded != head:
            header = f"{shown.replace(' message of ', ' header of ', 1)} (decoded from {codec})"
            yield Content(header, decoded, commit=who, metadata=True)
        if chunks is not None:
            read = reencode.decoded_chunks(chunks, codec)
            yield Content(where, b"", commit=who, metadata=True, chunks=read, size=size)
        elif text.strip() and (decoded := reencode.decoded(text, codec)) != text:
            yield Content(where, decoded, commit=who, metadata=True)


def _commit_pieces(
    oid: str, head: bytes, text: bytes, seen: set[bytes], whole_head: bool = True
) -> Iterator[Content | Skipped]:
    """A commit's message, its header lines other than ids and people, and its people (each
    identity once in `seen`). `whole_head` False: `head` is only the start of a header too
    large to hold, scanned whole by the caller; its people are still read from it."""
    commit = _commit_of(oid, head)
    short = oid[:12]
    if text.strip():
        yield Content(f"commit message of {short}", text, commit=commit, metadata=True)
    extra, people = _header_pieces(head, (b"author", b"committer"))
    if whole_head and extra.strip():
        yield Content(f"commit header of {short}", extra, commit=commit, metadata=True)
    for role, ident in people:
        if ident not in seen:
            seen.add(ident)
            yield Content(f"{role} of {short}", ident, commit=commit, metadata=True)
    if whole_head:
        yield from _decoded(f"commit message of {short}", head, text, commit)


@dataclass(frozen=True)
class _BigObject:
    """A commit or tag object larger than a window: its header (at most a window of it)
    and its message as chunks read anew on each call (None when the header alone is
    larger than a window: the caller then scans the whole object as its header)."""

    head: bytes
    message: Callable[[], Iterator[bytes]] | None
    size: int

    @classmethod
    def read(cls, cwd: Path, kind: str, oid: str, size: int) -> _BigObject:
        held = bytearray()
        with contextlib.closing(git.object_chunks(cwd, kind, oid)) as chunks:
            for chunk in chunks:
                start = max(0, len(held) - 1)
                held += chunk
                end = held.find(b"\n\n", start)
                if end >= 0:
                    at = end + 2
                    message = partial(git.object_chunks, cwd, kind, oid, offset=at)
                    return cls(bytes(held[:end]), message, size - at)
                if len(held) > WINDOW:
                    break
        return cls(bytes(held[:WINDOW]), None, 0)


def annotated_tags(cwd: Path, refs: Sequence[PushedRef]) -> list[PushedRef]:
    """The refs among `refs` that name a tag object, chosen by the object's type, not the
    ref's name: `git push R <tag id>:refs/custom/x` publishes the tag's message under a name
    outside refs/tags/. One ref per tag object (a refs/tags/ name first, then any refs/
    name: pre-push names the local and the remote ref); a ref whose object is missing is
    kept, for tag_metadata to say so."""

    def rank(ref: PushedRef) -> int:
        # pre-push names a pushed id's local side by the id itself: the remote ref says more.
        return 2 if ref.name.startswith("refs/tags/") else 1 if ref.name.startswith("refs/") else 0

    if not refs:
        return []
    out = git.run_git(
        ["cat-file", "--batch-check=%(objecttype)"],
        cwd,
        input="".join(f"{ref.oid}\n" for ref in refs).encode("utf-8", "surrogateescape"),
    )
    chosen: dict[str, PushedRef] = {}
    for ref, line in zip(refs, out.decode("utf-8", "surrogateescape").splitlines(), strict=False):
        if line.rsplit(" ", 1)[-1] in ("commit", "tree", "blob"):
            continue
        held = chosen.get(ref.oid)
        if held is None or rank(ref) > rank(held):
            chosen[ref.oid] = ref
    return list(chosen.values())


def tag_metadata(
    cwd: Path, tags: Sequence[PushedRef], hint: str = ""
) -> Iterator[Content | Skipped]:
    """Each annotated tag's message and tagger (the tags among `tags`; lightweight ones are
    passed over: their names are scanned as ref names). A tag of a tag is followed to the
    end of the chain, however long (a key in the innermost of nine tags once went unread),
    through one `git cat-file --batch` asked one level at a time."""
    asked: queue.SimpleQueue[str | None] = queue.SimpleQueue()
    waiting: deque[tuple[PushedRef, int]] = deque()  # asked, not read yet; with its depth
    seen: set[str] = set()

    def ask(ref: PushedRef, depth: int) -> None:
        waiting.append((ref, depth))
        asked.put(ref.oid)

    def ids() -> Iterator[str]:
        while (oid := asked.get()) is not None:
            yield oid

    for ref in tags:
        seen.add(ref.oid)
        ask(ref, 0)
    if not waiting:
        return
    try:
        for oid, kind, data, size in git.cat_file_bounded(cwd, ids(), WINDOW, flush=True):
            ref, depth = waiting.popleft()
            inner: list[str] = []
            yield from _tag_contents(cwd, ref, oid, kind, data, size, hint, inner)
            for target in inner:
                if target not in seen:  # git cannot make a cycle; a hash collision could
                    seen.add(target)
                    # The name says a tag of a tag; past a few levels it stops growing (a
                    # chain of thousands would otherwise name each level by thousands).
                    name = f"{ref.name}^{{}}" if depth < _NAMED_LEVELS else ref.name
                    ask(PushedRef(name, target), depth + 1)
            if not waiting:
                asked.put(None)  # every level read: cat-file ends on its closed input
    finally:
        asked.put(None)
    if waiting:
        yield _unreadable("tag", waiting[0][0].oid, hint)


# How many `^{}` a tag of a tag's name shows (each level deeper is read all the same).
_NAMED_LEVELS = 8


def _tag_contents(
    cwd: Path,
    ref: PushedRef,
    oid: str,
    kind: str,
    data: bytes | None,
    size: int,
    hint: str,
    inner: list[str],
) -> Iterator[Content | Skipped]:
    """One tag object's message, header and tagger (nothing for another kind of object);
    the object a tag of a tag names is added to `inner`."""
    if kind == "missing":
        yield _unreadable("tag", oid, hint)
        return
    if kind != "tag":
        return
    big = None
    if data is None:  # larger than a window: its message is read in chunks
        big = _BigObject.read(cwd, "tag", oid, size)
        head, text = big.head, b""
    else:
        head, _, text = data.partition(b"\n\n")
    name = ref.name.removeprefix("refs/tags/")
    tagger = person(head, b"tagger")
    who = Commit(
        oid,
        tagger.author if tagger else "",
        tagger.email if tagger else "",
        tagger.date if tagger else "",
    )
    if text.strip():
        yield Content(f"tag message of {name}", text, commit=who, metadata=True)
    extra, people = _header_pieces(head, (b"tagger",))
    if big is not None and big.message is None:
        chunks = partial(git.object_chunks, cwd, "tag", oid)
        shown = f"tag header of {name}"
        yield Content(shown, b"", commit=who, metadata=True, chunks=chunks, size=size)
    elif extra.strip():
        yield Content(f"tag header of {name}", extra, commit=who, metadata=True)
    if big is not None and big.message is not None:
        shown = f"tag message of {name}"
        yield Content(shown, b"", commit=who, metadata=True, chunks=big.message, size=big.size)
    if big is None:
        yield from _decoded(f"tag message of {name}", head, text, who)
    elif big.message is None:
        shown = f"tag header of {name}"
        yield from _decoded(shown, head, b"", who, chunks, size, head_too=False)
    else:
        shown = f"tag message of {name}"
        yield from _decoded(shown, head, b"", who, big.message, big.size)
    for ident in sorted({ident for _, ident in people}):
        yield Content(f"tagger of {name}", ident, commit=who, metadata=True)
    if b"\ntype tag" in head:
        target = head.split(b"\n", 1)[0].removeprefix(b"object ").decode()
        inner.append(target)


def ref_names(refs: Iterable[PushedRef]) -> Iterator[Content]:
    for name in sorted({ref.name for ref in refs}):
        yield Content("ref name", name.encode("utf-8", "surrogateescape"), metadata=True)


def refs_at(cwd: Path, shas: Iterable[str]) -> list[PushedRef]:
    """The refs (branches, tags, remote-tracking branches) whose tip is one of `shas`:
    what names the commits of a range. An annotated tag's id is the tag object's."""
    wanted = set(shas)
    if not wanted:
        return []
    out = git.run_git(
        ["for-each-ref", "--format=%(objectname)%00%(*objectname)%00%(*objecttype)%00%(refname)"],
        cwd,
    )
    found: list[PushedRef] = []
    nested: list[PushedRef] = []  # tags of tags: %(*objectname) peels one level only
    for line in out.decode("utf-8", "surrogateescape").splitlines():
        parts = line.split("\0")
        if len(parts) != 4:
            continue
        if parts[0] in wanted or parts[1] in wanted:
            found.append(PushedRef(parts[3], parts[0]))
        elif parts[2] == "tag":
            nested.append(PushedRef(parts[3], parts[0]))
    if nested:
        peeled = git.run_git(
            ["cat-file", "--batch-check=%(objectname)"],
            cwd,
            input="".join(f"{ref.oid}^{{commit}}\n" for ref in nested).encode(),
        )
        for ref, line in zip(nested, peeled.decode("ascii", "replace").splitlines(), strict=False):
            if line.strip() in wanted:
                found.append(ref)
    return found


def notes_on(cwd: Path, shas: Iterable[str], hint: str = "") -> Iterator[Content | Skipped]:
    """The notes (every refs/notes/* ref) attached to the commits `shas`."""
    wanted = set(shas)
    out = git.run_git(["for-each-ref", "--format=%(refname)", "refs/notes/"], cwd)
    notes: list[tuple[str, str, str]] = []  # (note blob, annotated commit, notes ref)
    for ref in out.decode("utf-8", "surrogateescape").splitlines():
        listed = git.try_git(["notes", f"--ref={ref}", "list"], cwd) or b""
        for line in listed.decode("ascii", "replace").splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[1] in wanted:
                notes.append((parts[0], parts[1], ref))
    if not notes:
        return
    for (oid, kind, data, size), (_, target, ref) in zip(
        git.cat_file_bounded(cwd, [n[0] for n in notes], WINDOW), notes, strict=False
    ):
        if kind != "blob":
            yield _unreadable("note", oid, hint)
            continue
        shown = f"note on {target[:12]} ({ref})"
        if data is None:  # larger than a window: read in chunks as it is scanned
            chunks = partial(git.blob_chunks, cwd, oid)
            yield Content(shown, b"", metadata=True, chunks=chunks, size=size)
        else:
            yield Content(shown, data, metadata=True)


def non_commit_tips(
    cwd: Path, refs: Sequence[PushedRef], exclude: Sequence[str], max_size: int
) -> Iterator[Content | Skipped]:
    """The blobs a pushed ref publishes without a commit: a tag (lightweight or annotated,
    a tag of a tag) of a blob or a tree. `git log` lists no commit for such a tip, so
    without this a key in `git tag t $(git hash-object -w key.txt)` would be pushed unread.
    Objects reachable from `exclude` (what the other side already has) are not new.
    A tagged tree's new trees also publish their entries' names (of files and directories,
    at any depth), as a commit publishes the paths it creates: yielded as `path name in
    <ref>`."""
    if not refs:
        return
    out = git.run_git(
        ["cat-file", "--batch-check=%(objectname) %(objecttype)"],
        cwd,
        input="".join(f"{ref.oid}^{{}}\n" for ref in refs).encode(),
    )
    tips: dict[str, str] = {}  # peeled blob or tree id -> the ref that names it
    for ref, line in zip(refs, out.decode("ascii", "replace").splitlines(), strict=False):
        parts = line.split()
        if len(parts) == 2 and parts[1] in ("blob", "tree"):
            tips.setdefault(parts[0], ref.name)
    if not tips:
        return
    wanted: list[tuple[str, str]] = []  # (object id, where in words)
    seen: set[str] = set()
    for tip, ref_name in tips.items():
        listed = git.run_git(["rev-list", "--objects", tip, "--not", *exclude, "--"], cwd)
        for raw in listed.decode("utf-8", "surrogateescape").splitlines():
            oid, _, name = raw.partition(" ")
            if oid not in seen:
                seen.add(oid)
                wanted.append((oid, f"{ref_name}:{name}" if name else ref_name))
    sizes = git.object_sizes(cwd, [oid for oid, _ in wanted])
    readable: list[tuple[str, str]] = []
    for oid, where in wanted:
        if sizes.get(oid, 0) > max_size:
            yield Skipped(
                where,
                f"blob {oid[:12]} is larger than the size limit ({max_size} bytes); "
                "not scanned, so the scan is incomplete",
                unreadable=True,
            )
        else:
            readable.append((oid, where))
    trees: dict[str, bytes] = {}  # the new trees read, by id: their entries' names
    for (oid, kind, data), (_, where) in zip(
        git.cat_file(cwd, [oid for oid, _ in readable]), readable, strict=False
    ):
        if kind == "missing":
            yield _unreadable("object", oid, "")
        elif kind == "blob":
            yield Content(where, data)
        elif kind == "tree":
            trees[oid] = data
    for tip, ref_name in tips.items():
        yield from _tree_path_names(tip, ref_name, trees)


def _tree_path_names(tip: str, ref_name: str, trees: dict[str, bytes]) -> Iterator[Content]:
    """The path names of the new trees under a tagged tree. Paths are joined from the
    tree entries themselves (rev-list's listing cuts a name at a newline and lists only new
    objects: an old subtree's new name would be lost). Each new tree is walked once, at the
    first path met (a tree naming one subtree twice, many levels deep, stays linear); an
    old tree's names were published already."""
    paths: list[bytes] = []
    stack = [(tip, b"")]
    while stack:
        oid, prefix = stack.pop()
        data = trees.pop(oid, None)
        find = _ENTRIES.get(len(oid) // 2)
        if data is None or find is None:
            continue
        for mode, name, raw in find(data):
            path = prefix + name
            paths.append(path)
            if mode.startswith(b"4"):  # 40000: a directory
                stack.append((raw.hex(), path + b"/"))
    if paths:
        yield Content(f"path name in {ref_name}", b"\n".join(paths), metadata=True)


class Identities:
    """Each distinct author and committer of the commits a history read, with the oldest
    commit that carries it: collected from the commit headers the readers already parse
    (sources/history.py), instead of a `git log` of every commit after them.

    It reports what `git log --reverse --format=%an <%ae>` did: an identity is the
    author or committer line's name (up to its first `<`, trailing blanks dropped) and
    email (up to the first `>` after it), decoded from the commit's `encoding` to UTF-8
    as git log re-encodes it, and named by the first commit, oldest first, that carries
    it (its author before its committer); a line git cannot split is no identity.
    """

    def __init__(self) -> None:
        # The line up to its last ">" -> (order, commit id, line, the commit's author
        # line). order = 2 x the commit's place in the listing (newest first), + 1 for
        # the author: the largest order is the oldest occurrence.
        self.seen: dict[bytes, tuple[int, str, bytes, bytes]] = {}

    def add(self, position: int, oid: str, head: bytes) -> None:
        """One commit's header, `position` its place in the listing (children first)."""
        author = _header_line(head, b"author ")
        committer = _header_line(head, b"committer ")
        if b"\nencoding " in head:
            author, committer = _reencoded(head, author), _reencoded(head, committer)
        order = 2 * position
        seen = self.seen
        # Committer first: for a commit whose author is its committer, the author wins.
        seen[committer[: committer.rfind(b">") + 1]] = (order, oid, committer, author)
        seen[author[: author.rfind(b">") + 1]] = (order + 1, oid, author, author)

    def merge(self, other: Identities, offset: int) -> None:
        """Another reader's identities; its positions start at `offset` in the listing."""
        seen = self.seen
        shift = 2 * offset
        for key, (order, oid, line, author) in other.seen.items():
            order += shift
            mine = seen.get(key)
            if mine is None or mine[0] < order:
                seen[key] = (order, oid, line, author)

    def contents(self, seen: set[bytes]) -> Iterator[Content]:
        """The identities as content, oldest first; each is also added to `seen`."""
        best: dict[bytes, tuple[int, str, bytes]] = {}
        for order, oid, line, author in self.seen.values():
            ident = _ident(line)
            if ident is None:
                continue
            mine = best.get(ident)
            if mine is None or mine[0] < order:
                best[ident] = (order, oid, author)
        for ident, (order, sha, author) in sorted(best.items(), key=lambda i: -i[1][0]):
            seen.add(ident)
            role = "author" if order & 1 else "committer"
            who = ident.decode("utf-8", "replace")
            name, _, email = who.rpartition(" <")
            commit = Commit(sha, name, email.removesuffix(">"), _iso_date(author))
            yield Content(f"{role} of {sha[:12]}", ident, commit=commit, metadata=True)


def _header_line(head: bytes, field: bytes) -> bytes:
    """The value of a commit header's LAST `field` line, as git log reads it."""
    at = head.rfind(b"\n" + field)
    if at >= 0:
        start = at + 1 + len(field)
    elif head.startswith(field):
        start = len(field)
    else:
        return b""
    end = head.find(b"\n", start)
    return head[start:] if end < 0 else head[start:end]


def _reencoded(head: bytes, line: bytes) -> bytes:
    """`line` in UTF-8, from the commit's `encoding` (as git log shows it); unchanged when
    that encoding is UTF-8, unknown, or does not decode it (git keeps the bytes too)."""
    codec = reencode.codec_for(_header_line(head, b"encoding "))
    if not codec:  # UTF-8, or unknown (said by the history's read: sources/history.py)
        return line
    try:
        return line.decode(codec).encode("utf-8")
    except (LookupError, UnicodeError, ValueError):
        return line


_BLANKS = b" \t\r\n"  # git's isspace()


def _ident(line: bytes) -> bytes | None:
    """`%an <%ae>` of an identity line (git's split_ident_line); None when git shows it as
    " <>": no `<`, no `>` after it, or an empty name and email."""
    lt = line.find(b"<")
    if lt < 0:
        return None
    gt = line.find(b">", lt + 1)
    if gt < 0:
        return None
    name = line[:lt].rstrip(_BLANKS)
    mail = line[lt + 1 : gt]
    if not name and not mail:
        return None
    return name + b" <" + mail + b">"


# After an identity's last ">": its timestamp and time zone (git's split_ident_line).
_DATE = re.compile(rb"[ \t\r\n]*([0-9]+)[ \t\r\n]*([+-][0-9]+)")


def _iso_date(line: bytes) -> str:
    """`%aI` of an identity line: git's strict ISO 8601 date, "" when it has none."""
    lt = line.find(b"<")
    if lt < 0 or line.find(b">", lt + 1) < 0:
        return ""
    found = _DATE.match(line, line.rfind(b">") + 1)
    if found is None:
        return ""  # no timestamp, or no time zone after it: git shows no date
    when = int(found.group(1))
    tz = 0
    if when >= 1 << 63:
        when = 0  # git: a date past time_t shows as the epoch
    else:
        tz = int(found.group(2))
        if not -(1 << 31) < tz < (1 << 31) - 1:
            tz = 0
    minutes = abs(tz) // 100 * 60 + abs(tz) % 100
    try:
        tm = time.gmtime(when + (minutes if tz >= 0 else -minutes) * 60)
    except (OverflowError, OSError, ValueError):
        tm, tz = time.gmtime(0), 0
    sign = "+" if tz >= 0 else "-"
    return "%04d-%02d-%02dT%02d:%02d:%02d%s%02d:%02d" % (  # noqa: UP031
        tm.tm_year,
        tm.tm_mon,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec,
        sign,
        abs(tz) // 100,
        abs(tz) % 100,
    )


@dataclass
class HistoryNames:
    """What a history read gathered for history_names: the path names the listing held
    (None: ask git again), the commits' identities, and how many objects it listed; and
    every name its trees hold (`entries`: the listing names each object once)."""

    paths: set[bytes] | None = None
    entries: TreeNames = _field(default_factory=TreeNames)
    identities: Identities = _field(default_factory=Identities)
    listed: int = 0
    # The refs' names and taggers, asked of git while the history is read (start()).
    refs: git.Pending | None = None
    taggers: git.Pending | None = None

    def start(self, cwd: Path) -> None:
        self.refs = git.Pending(_REF_NAMES, cwd)
        self.taggers = git.Pending(_TAGGERS, cwd)


_REF_NAMES = ["for-each-ref", "--format=%(refname)"]
_TAGGERS = ["for-each-ref", "--format=%(refname:short)%00%(taggername) %(taggeremail)", "refs/tags"]


def listing_paths(listing: bytes, start: int = 0) -> set[bytes]:
    """The path names of a `git rev-list --objects` listing from `start`: every tree and
    blob name."""
    lines = (listing[start:] if start else listing).split(b"\n")
    paths = {
        line.partition(b" ")[2]
        for line in lines
        if b" " in line  # "<id> <path>": trees and blobs under a name
    }
    paths.discard(b"")
    return paths


def history_names(cwd: Path, rev_args: Sequence[str], read: HistoryNames) -> Iterator[Content]:
    """What a history audit reads besides files and messages, as the gates do for a push:
    the names of every ref, every path any commit holds, and each distinct author, committer
    and tagger. Names are many and short, so each kind is one piece of content, a name a
    line (the finding's excerpt shows which); an identity names the first commit that
    carries it. The paths and identities come from the history's read (`read`, filled
    when this runs: after the objects), so only the refs are asked of git here."""
    refs = read.refs.result() if read.refs is not None else git.run_git(_REF_NAMES, cwd)
    if refs.strip():
        yield Content("ref names", refs, metadata=True)
    paths = read.paths
    if paths is None:
        listing = git.run_git(
            ["rev-list", "--objects", "--missing=allow-any", *rev_args, "--"], cwd
        )
        paths = listing_paths(listing)
    if paths:
        yield Content("path names", b"\n".join(sorted(paths)) + b"\n", metadata=True)
    seen: set[bytes] = set()
    yield from read.identities.contents(seen)
    taggers = read.taggers.result() if read.taggers is not None else git.run_git(_TAGGERS, cwd)
    for line in taggers.split(b"\n"):
        tag, _, ident = line.partition(b"\0")
        if ident.strip() and ident != b" " and ident not in seen:
            seen.add(ident)
            name = tag.decode("utf-8", "replace")
            yield Content(f"tagger of {name}", ident, metadata=True)
