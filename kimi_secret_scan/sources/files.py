"""Files and directories on disk, inside a git repository or not.

Directories are walked with dotfiles included. Inside a repository, the files git ignores
are left out (unless asked) by asking git itself, so `.gitignore`, `.git/info/exclude` and
global excludes all apply exactly as git applies them. Symbolic links met while walking are
not followed: a link can point out of the tree. A file named explicitly is always read.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Iterable, Iterator
from functools import partial
from pathlib import Path

from kimi_secret_scan import git, special_files
from kimi_secret_scan.content import Content, Skipped
from kimi_secret_scan.errors import ScanError
from kimi_secret_scan.windows import WINDOW

DEFAULT_MAX_SIZE = 100 * 1024 * 1024
_CHUNK = 1 << 20


def _display(path: Path, relative_to: Path | None) -> str:
    base = relative_to or Path.cwd()
    try:
        return path.relative_to(base).as_posix()
    except ValueError:
        return path.as_posix()


def _read(path: Path, shown: str, max_size: int, named: bool = False) -> Content | Skipped:
    """Read one file. A file the user named that cannot be read stops the scan (exit 2);
    one met while walking a directory is reported as skipped."""
    try:
        size = path.stat().st_size
        if size > max_size:
            return Skipped(shown, f"larger than the size limit ({size} > {max_size} bytes)")
        with path.open("rb") as handle:
            # A file larger than a window is read again, in chunks, as it is scanned.
            data = handle.read() if size <= WINDOW else b""
    except OSError as exc:
        reason = (
            "permission denied"
            if isinstance(exc, PermissionError)
            else (f"could not be read ({exc.strerror or exc.__class__.__name__})")
        )
        if named:
            raise ScanError(f"{shown}: {reason}") from None
        return Skipped(shown, reason, unreadable=True)
    if size > WINDOW:
        return Content(path=shown, data=b"", chunks=partial(_chunks, path, shown), size=size)
    return Content(path=shown, data=data)


def _read_stream(path: Path, shown: str, max_size: int) -> Content:
    """A named pipe, FIFO or character device: it can be read only once and has no size, so
    it is read whole (up to `max_size`) before the scan; more than that, or what cannot be
    opened (a socket), stops the scan (exit 2): it was not all read."""
    try:
        with path.open("rb") as handle:
            data = handle.read(max_size + 1)
    except OSError as exc:
        raise ScanError(
            f"{shown}: not a regular file, and could not be read as a stream "
            f"({exc.strerror or exc.__class__.__name__})"
        ) from None
    if len(data) > max_size:
        raise ScanError(
            f"{shown}: a pipe or device giving more than the size limit ({max_size} bytes): "
            "not scanned whole; save it to a file or raise --max-file-size"
        )
    if len(data) > WINDOW:
        # scan() reads large content one window at a time, from chunks given anew.
        return Content(path=shown, data=b"", chunks=lambda: iter((data,)), size=len(data))
    return Content(path=shown, data=data)


def _chunks(path: Path, shown: str) -> Iterator[bytes]:
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                yield chunk
    except OSError as exc:
        raise ScanError(f"{shown}: could not be read ({exc.strerror or exc})") from None


_UNREADABLE_DIR = re.compile(r"could not open directory '(.*)/?': (.*)$")


def _unreadable_dir(path: Path, why: str) -> Skipped:
    return Skipped(str(path), f"directory could not be read ({why})", unreadable=True)


def _walk_all(directory: Path) -> Iterator[Path | Skipped]:
    failed: list[OSError] = []
    for root, dirs, files in os.walk(directory, onerror=failed.append, followlinks=False):
        yield from (_unreadable_dir(Path(e.filename), e.strerror or "error") for e in failed)
        failed.clear()
        dirs[:] = sorted(d for d in dirs if d != ".git")
        for name in sorted(files):
            yield Path(root) / name
    yield from (_unreadable_dir(Path(e.filename), e.strerror or "error") for e in failed)


def _enclosing_repo(directory: Path) -> tuple[Path, Path] | None:
    """(git dir, work tree) of the repository `directory` is in, found from a `.git`
    directory or file in it or a parent, and then named to git explicitly.

    git's own discovery also takes a directory that merely *looks* like a git directory
    (HEAD, objects/, refs/) for a bare repository, and obeys its config: its `core.worktree`,
    its excludes (which could hide files from this scan) and, before the git layer's
    overrides, its `core.fsmonitor`. Such a directory can be scanned content (committed, or
    unpacked from an archive): here it is content, and its files are scanned.
    """
    for candidate in (directory, *directory.parents):
        dot_git = candidate / ".git"
        if dot_git.is_dir() or dot_git.is_file():
            return dot_git, candidate
    return None


def _walk_git(directory: Path) -> Iterator[Path | Skipped] | None:
    """Files under `directory` that git does not ignore; None when it is not in a repository.

    git skips a directory it cannot open with only a warning: each becomes a Skipped.
    """
    named: list[str] = []  # the repository, named to git
    if "GIT_DIR" not in os.environ:  # else git reads the repository the caller named
        found = _enclosing_repo(directory)
        if found is None:
            return None
        git_dir, work_tree = found
        named = [f"--git-dir={git_dir}", f"--work-tree={work_tree}"]
    # A FIFO where git opens a file (an include, core.excludesFile): ls-files would hang.
    special_files.refuse_special_files(directory)
    listing = [*named, "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", "."]
    out, warnings = git.try_git_warnings(listing, directory)
    if out is None:
        return None
    names = sorted({n for n in out.decode("utf-8", "surrogateescape").split("\0") if n})
    unreadable = [m for m in map(_UNREADABLE_DIR.search, warnings) if m]
    return itertools.chain(
        (_unreadable_dir(directory / m.group(1).rstrip("/"), m.group(2)) for m in unreadable),
        (directory / name for name in names),
        _ignored(named, directory),
    )


def _ignored(named: list[str], directory: Path) -> Iterator[Skipped]:
    """One line saying how much git's ignore rules left out, and how to scan it: the rules
    come from the directory itself (.gitignore, and .git/info/exclude of a downloaded
    repository), so "nothing to scan" alone could hide a whole tree. Ignored directories
    are counted as one each (`--directory`: their files are not listed one by one)."""
    ignored = ["ls-files", "-z", "--others", "--ignored", "--exclude-standard", "--directory"]
    out = git.try_git([*named, *ignored, "--", "."], directory)
    entries = [n for n in (out or b"").decode("utf-8", "surrogateescape").split("\0") if n]
    if not entries:
        return
    folders = sum(n.endswith("/") for n in entries)
    files = len(entries) - folders
    counted = [f"{files} file{'' if files == 1 else 's'}"] if files else []
    if folders:
        counted.append(f"{folders} director{'y' if folders == 1 else 'ies'}")
    yield Skipped(
        str(directory),
        f"{' and '.join(counted)} that git ignores (.gitignore, .git/info/exclude, "
        "core.excludesFile), not scanned: --include-ignored scans them",
    )


def iter_files(
    paths: Iterable[str],
    max_size: int = DEFAULT_MAX_SIZE,
    include_ignored: bool = False,
    relative_to: Path | None = None,
    explicit: bool = False,
) -> Iterator[Content | Skipped]:
    seen: set[Path] = set()  # `files . a.py` reads a.py once

    def first_time(path: Path) -> bool:
        key = path.absolute()
        if key in seen:
            return False
        seen.add(key)
        return True

    for given in paths:
        path = Path(given)
        if path.is_symlink() and not explicit:
            yield Skipped(_display(path, relative_to), "symbolic link, not followed")
            continue
        if path.is_file():
            if first_time(path):
                yield _read(path, _display(path.absolute(), relative_to), max_size, named=True)
            continue
        if not path.exists():
            raise ScanError(f"{given}: no such file or directory")
        if not path.is_dir():
            # A pipe or device the user named (`files <(cmd)`, a FIFO) holds the content
            # they mean: it is read, once, up to the size limit; never a pass unread.
            if first_time(path):
                yield _read_stream(path, _display(path, relative_to), max_size)
            continue
        if not os.access(path, os.R_OK | os.X_OK):
            raise ScanError(f"{_display(path.absolute(), relative_to)}: permission denied")
        walked = None if include_ignored else _walk_git(path.absolute())
        for child in walked if walked is not None else _walk_all(path.absolute()):
            if isinstance(child, Skipped):
                yield Skipped(
                    _display(Path(child.path), relative_to), child.reason, child.unreadable
                )
                continue
            if not first_time(child):
                continue
            shown = _display(child, relative_to)
            if child.is_symlink():
                yield Skipped(shown, "symbolic link, not followed")
            elif child.is_dir():
                yield Skipped(shown, "submodule or nested repository, not scanned")
            elif child.is_file():
                yield _read(child, shown, max_size)
            elif child.exists():
                # Reading a FIFO would block, a device never ends: neither holds a file.
                yield Skipped(shown, "not a regular file (FIFO, socket or device), not read")
            # a tracked file deleted from the working tree has nothing on disk to scan
