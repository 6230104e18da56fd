"""The objects `git rev-list --all --reflog` leaves out, yet the repository holds by name.

`--all` reads the refs (this worktree's per-worktree ones) and every worktree's HEAD;
`--reflog` every reflog whose ref exists and every worktree's HEAD log. `git log NAME`
shows each of the following all the same, so a key there is as much in the repository:

- each worktree's pseudorefs: FETCH_HEAD (every line: `git fetch URL branch` and `git fetch
  origin pull/N/head` write nothing else), MERGE_HEAD (a pull stopped by a conflict),
  ORIG_HEAD, CHERRY_PICK_HEAD, REVERT_HEAD, REBASE_HEAD, AUTO_MERGE, BISECT_HEAD,
  MERGE_AUTOSTASH;
- the state of a rebase, cherry-pick or revert in progress (`rebase-merge/onto`,
  `orig-head`, `stopped-sha`, `autostash`; the same in `rebase-apply/`; `sequencer/head`;
  the commits of the todo and done lists);
- the other worktrees' per-worktree refs (`refs/bisect/*`, `refs/worktree/*`,
  `refs/rewritten/*`), the main worktree's included when run from a linked one;
- loose ref files git passes over (`refs/heads/x.lock`, `refs/heads/x.lock/y`,
  `refs/heads/.hidden`);
- the reflog of a deleted ref (`logs/refs/heads/gone`, with no ref).

They are read from the files git keeps them in, as git's files backend reads them: ids in
either case (kept in lower case), and through a symbolic link whose target is no `refs/...`
name (git takes that for a symbolic ref and falls through to reading the file otherwise);
a link to what cannot be read here (a FIFO, a device, a directory of another worktree's
refs) is said, as unreadable. They are fed to the same walk as extra revisions (`find`).
An id no ref tip already names is kept; one that names no object here is said (not
scanned; in a partial clone the audit then exits 2).
"""

from __future__ import annotations

import errno
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from kimi_secret_scan import git
from kimi_secret_scan.content import Content, Skipped
from kimi_secret_scan.errors import ScanError
from kimi_secret_scan.special_files import PSEUDOREFS  # each worktree's: git's own names

# Files of an operation in progress that hold one commit id each.
STATE_FILES = (
    "rebase-merge/onto",
    "rebase-merge/orig-head",
    "rebase-merge/stopped-sha",
    "rebase-merge/amend",
    "rebase-merge/autostash",
    "rebase-apply/onto",
    "rebase-apply/orig-head",
    "rebase-apply/abort-safety",
    "rebase-apply/autostash",
    "sequencer/head",
    "sequencer/abort-safety",
)
# An interactive rebase's or a sequence of cherry-picks' lists: `pick <id> subject` lines
# (a commit picked from anywhere, not only from orig-head's history).
LIST_FILES = (
    "rebase-merge/done",
    "rebase-merge/git-rebase-todo",
    "rebase-merge/git-rebase-todo.backup",
    "sequencer/todo",
    "sequencer/done",
)
# The refs each worktree keeps apart (git's own list): under the common directory, these
# are the main worktree's.
PER_WORKTREE = ("refs/bisect", "refs/worktree", "refs/rewritten")
# git's hex parser takes either case; ids are kept in lower case, as git prints them.
_ID = re.compile(rb"(?:[0-9a-f]{40}|[0-9a-f]{64})", re.IGNORECASE)
_MAX_FILE = 64 << 20  # a FETCH_HEAD of 100,000 refs is ~10 MB
_MAX_ARGS = 1 << 20  # the ids go on git's command line (Linux allows 2 MB in all)


@dataclass
class Hidden:
    """What find() found: (name, id) pairs to walk, and what could not be read."""

    named: list[tuple[str, str]] = field(default_factory=list)
    kinds: dict[str, str] = field(default_factory=dict)
    skipped: list[Skipped] = field(default_factory=list)
    # Every name found, those whose id a ref's tip names too.
    every_name: set[str] = field(default_factory=set)
    # An annotated tag's id -> the object it tags (through every tag), as for-each-ref's
    # %(*objectname) peels a tag ref.
    peeled: dict[str, str] = field(default_factory=dict)

    @property
    def tips(self) -> list[tuple[str, str]]:
        """(name, id) with each tag peeled: where the ref walk meets them."""
        return [(name, self.peeled.get(oid, oid)) for name, oid in self.named]

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(sorted({oid for _, oid in self.named}))

    def names(self) -> Iterator[Content]:
        """Their names, read as the ref names are (a key in another worktree's ref name)."""
        if self.every_name:
            text = "".join(name + "\n" for name in sorted(self.every_name))
            yield Content("ref names", text.encode("utf-8", "surrogateescape"), metadata=True)


class _Unreadable(Exception):
    """A file git would read, through a link, that cannot be read here."""


def _refname_ok(name: str) -> bool:
    """git's check_refname_format, strictly enough for a link's target: a name git takes
    for a symbolic ref when it starts with refs/ (anything else is read as a path)."""
    if ".." in name or "@{" in name or name.endswith((".", "/")) or name == "@":
        return False
    if any(ord(c) < 0x20 or ord(c) == 0x7F or c in " ~^:?*[\\" for c in name):
        return False
    parts = name.split("/")
    return all(part and not part.startswith(".") and not part.endswith(".lock") for part in parts)


def _read(path: Path) -> bytes | None:
    """A file's bytes as git's files backend reads a ref or pseudoref: a regular file, or
    through a symbolic link whose target does not name a ref (`refs/...`, a symbolic ref of
    old, whose ref is read on its own); a FIFO or device is never waited on. None when it is
    absent, a symbolic ref or not a regular file. Raises _Unreadable when a link leads to
    something git would read and this cannot (a FIFO, a device, no permission, too large)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if not os.path.islink(path):
            raise ScanError(f"cannot read {path}: {exc.strerror}") from None
        return _read_link(path)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return None
        if info.st_size > _MAX_FILE:
            raise ScanError(f"{path} is larger than {_MAX_FILE >> 20} MB: not read")
        with os.fdopen(fd, "rb", closefd=False) as file:
            return file.read(_MAX_FILE + 1)
    finally:
        os.close(fd)


def _read_link(path: Path) -> bytes | None:
    """What git reads through a link (refs/files-backend.c: a target that is not a ref
    name falls through to reading the file it points to): `.git/FETCH_HEAD ->
    info/note` names the commit in info/note, as `git log FETCH_HEAD` shows."""
    try:
        target = os.readlink(path)
    except OSError:
        return None  # gone since
    if target.startswith("refs/") and _refname_ok(target):
        return None  # a symbolic ref of old: the ref it names is read on its own
    try:
        # Looked at before it is opened: a device is never opened (opening some acts).
        mode = os.stat(path).st_mode
        if stat.S_ISDIR(mode):
            return None  # git reads no ref from a directory
        if not stat.S_ISREG(mode):
            raise _Unreadable("a link to a FIFO, device or socket, not a regular file: not read")
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except (FileNotFoundError, NotADirectoryError):
        return None  # dangling: git finds nothing there either
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return None  # a loop: git's open fails the same way
        # The target is not shown: the repository chose it, and it may hold a key.
        raise _Unreadable(f"a link to a file that cannot be read: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise _Unreadable("a link to a FIFO, device or socket, not a regular file: not read")
        if info.st_size > _MAX_FILE:
            raise _Unreadable(f"a link to a file larger than {_MAX_FILE >> 20} MB: not read")
        with os.fdopen(fd, "rb", closefd=False) as file:
            return file.read(_MAX_FILE + 1)
    finally:
        os.close(fd)


def _ids(data: bytes, reflog: bool = False, listed: bool = False) -> list[str]:
    """The object ids a file names: each line's first word (FETCH_HEAD, MERGE_HEAD, a
    ref), a reflog line's first two (the old and the new value), or a todo list line's
    second and third (`pick <id>`, `fixup -C <id>`)."""
    found: list[str] = []
    for line in data.splitlines():
        start, end = (1, 3) if listed else (0, 2 if reflog else 1)
        words = line.split(None, 3)[start:end]
        for word in words:
            if _ID.fullmatch(word) and word.strip(b"0"):
                found.append(word.decode().lower())
    return found


def _files(top: Path, linked: list[str] | None = None) -> list[str]:
    """The files under `top`, relative to it, in sorted order; links to directories not
    entered (listed in `linked`)."""
    found: list[str] = []
    for root, dirs, files in os.walk(top, followlinks=False):
        dirs.sort()
        rel = os.path.relpath(root, top)
        if linked is not None:
            for name in dirs:
                if os.path.islink(os.path.join(root, name)):
                    linked.append(name if rel == "." else f"{rel}/{name}")
        for name in sorted(files):
            found.append(name if rel == "." else f"{rel}/{name}")
    return found


def _passed_over(name: str) -> bool:
    """A loose ref file git's listing of refs passes over, without a word: a lock, or a
    name with a part that starts with a dot (`refs/heads/.hidden`, `refs/.x/y`) or, as
    x.lock, ends in .lock (`refs/heads/x.lock/y`)."""
    return name.endswith(".lock") or ".lock/" in name or "/." in name


def _dirs(cwd: Path) -> tuple[Path, Path]:
    """This worktree's git directory and the common one, absolute."""
    both = git.run_git(["rev-parse", "--absolute-git-dir", "--git-common-dir"], cwd)
    lines = both.split(b"\n")
    if len(lines) == 3:  # one git, unless a path holds a line break
        here, common = lines[0], lines[1]
    else:
        here = git.run_git(["rev-parse", "--absolute-git-dir"], cwd)[:-1]
        common = git.run_git(["rev-parse", "--git-common-dir"], cwd)[:-1]
    here_dir = Path(os.fsdecode(here))
    common_dir = Path(os.fsdecode(common))
    if not common_dir.is_absolute():
        common_dir = cwd / common_dir
    return here_dir.resolve(), common_dir.resolve()


def find(cwd: Path, reflog: bool = True) -> Hidden:
    """Every (name, id) the walk of `--all --reflog` leaves out, less the ids a ref's tip
    already names. Without `reflog` (--no-reflog), the walk of `--all`: no reflog of a
    deleted ref, and no ORIG_HEAD (the tip before a reset, as a reflog entry has it)."""
    here, common = _dirs(cwd)
    found: list[tuple[str, str]] = []
    hidden = Hidden()

    def read(path: Path, name: str) -> bytes | None:
        # What git would read and this cannot is said, never passed over (the audit exits 2).
        try:
            return _read(path)
        except _Unreadable as exc:
            hidden.skipped.append(Skipped(name, str(exc), True))
            return None

    admin = common / "worktrees"
    trees: list[tuple[str, Path]] = [("main-worktree/", common)]
    if admin.is_dir() and not admin.is_symlink():
        for entry in sorted(os.listdir(admin)):
            if (admin / entry).is_dir() and not (admin / entry).is_symlink():
                trees.append((f"worktrees/{entry}/", admin / entry))
    deleted_logs: list[tuple[str, Path]] = []
    for prefix, tree in trees:
        current = tree.resolve() == here
        shown = "" if current else prefix  # the names git takes: ORIG_HEAD, worktrees/w/ORIG_HEAD
        for name in (*PSEUDOREFS, *STATE_FILES):
            if name == "ORIG_HEAD" and not reflog:
                continue  # what a reset or rebase left behind, as its reflog entry is
            data = read(tree / name, shown + name)
            if data:
                found += [(shown + name, oid) for oid in _ids(data)]
        for name in LIST_FILES:
            data = read(tree / name, shown + name)
            if data:
                found += [(shown + name, oid) for oid in _ids(data, listed=True)]
        # Refs: another worktree's own; in the common directory, every ref file git
        # passes over (x.lock), and the main worktree's own when run from a linked one.
        shared = tree == common
        refs = tree / "refs"
        mine = tuple(p + "/" for p in PER_WORKTREE)
        if refs.is_symlink() and not shared and not current:
            # git reads `worktrees/w/refs/bisect/bad` through it; its listing does not.
            reason = "a link: the refs under it not read"
            hidden.skipped.append(Skipped(shown + "refs", reason, True))
        elif refs.is_dir() and not refs.is_symlink():
            linked: list[str] = []
            for rel in _files(refs, linked):
                name = f"refs/{rel}"
                own = not shared or name.startswith(mine)
                if (own and not current) or _passed_over(name):
                    data = read(refs / rel, shown + name)
                    if data:
                        found += [(shown + name, oid) for oid in _ids(data)]
            for rel in linked:
                if (not shared or f"refs/{rel}/".startswith(mine)) and not current:
                    hidden.skipped.append(
                        Skipped(shown + f"refs/{rel}", "a link to a directory: not read", True)
                    )
        logs = tree / "logs" / "refs"
        if reflog and logs.is_dir() and not logs.is_symlink():
            for rel in _files(logs):
                own = not shared or f"refs/{rel}".startswith(tuple(p + "/" for p in PER_WORKTREE))
                if own and not current:
                    # another worktree's: git reads none of them
                    data = read(logs / rel, f"{shown}refs/{rel}@{{reflog}}")
                    if data:
                        found += [
                            (f"{shown}refs/{rel}@{{reflog}}", oid) for oid in _ids(data, True)
                        ]
                else:
                    deleted_logs.append((f"refs/{rel}", logs / rel))
    tips: set[str] = set()
    if found or deleted_logs:
        out = git.run_git(["for-each-ref", "--format=%(objectname) %(refname)"], cwd)
        names: set[str] = set()
        for line in out.decode("utf-8", "surrogateescape").splitlines():
            oid, _, name = line.partition(" ")
            tips.add(oid)
            names.add(name)
        for name, path in deleted_logs:
            if name in names:
                continue  # its ref exists: git's --reflog reads it
            data = read(path, f"{name}@{{reflog}}")
            if data:
                found += [(f"{name}@{{reflog}}", oid) for oid in _ids(data, True)]
    # An id a ref's tip names adds nothing to the walk (after a fetch, FETCH_HEAD names
    # every remote-tracking branch's tip): left out, so the usual walk is shared as is.
    hidden.every_name = {name for name, _ in found}
    named = [(name, oid) for name, oid in found if oid not in tips]
    if not named:
        return hidden
    ids = sorted({oid for _, oid in named})
    if sum(len(oid) + 1 for oid in ids) > _MAX_ARGS:
        raise ScanError(
            f"{len(ids):,} commits are named outside refs (FETCH_HEAD, reflogs of deleted "
            "refs, …): too many to walk"
        )
    out = git.run_git(
        ["cat-file", "--batch-check=%(objectname) %(objecttype)"],
        cwd,
        input="".join(oid + "\n" for oid in ids).encode(),
    )
    for line in out.decode("ascii", "replace").splitlines():
        oid, _, kind = line.partition(" ")
        if kind and kind != "missing":
            hidden.kinds[oid] = kind
    tags = [oid for oid in ids if hidden.kinds.get(oid) == "tag"]
    if tags:
        out = git.run_git(
            ["cat-file", "--batch-check=%(objectname)"],
            cwd,
            input="".join(oid + "^{}\n" for oid in tags).encode(),
        )
        for tag, line in zip(tags, out.decode("ascii", "replace").splitlines(), strict=False):
            if _ID.fullmatch(line.encode()):
                hidden.peeled[tag] = line
    partial: bool | None = None
    for name, oid in named:
        if oid in hidden.kinds:
            hidden.named.append((name, oid))
            continue
        if partial is None:
            partial = git.is_partial_clone(cwd)
        if partial:
            # Its promisor remote has it, and this audit reads nothing from there.
            reason = f"names object {oid}, not in this clone (partial clone): not scanned"
        else:
            # git lets these go stale: gc prunes what only they name (ORIG_HEAD after the
            # plan's `reflog expire` and `gc --prune=now`). Nothing is stored, so nothing
            # can hold a key: said, and no cause to fail.
            reason = f"names object {oid}, which this repository does not hold (pruned)"
        hidden.skipped.append(Skipped(name, reason, partial))
    return hidden


def is_hidden(name: str) -> bool:
    """A name find() gives, never a ref a push sends: a pseudoref, another worktree's
    ref, a ref file git passes over, the reflog of a deleted ref."""
    return not name.startswith("refs/") or name.endswith("@{reflog}") or _passed_over(name)
