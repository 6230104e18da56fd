"""Files the scanner writes: --output reports, baselines, --write-replacements.

The path may come from a checkout nobody vetted (a CI job writing `report.txt` into a
stranger's pull request, where `report.txt` is a committed symbolic link to
`.git/hooks/pre-commit`). So a file is never written through a symbolic link, never inside
a git directory (hooks, config), never through a second hard link, and is created 0600 when
it can hold a whole key.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from pathlib import Path

from kimi_secret_scan import git
from kimi_secret_scan.errors import ScanError


def _umask_mode() -> int:
    mask = os.umask(0o077)
    os.umask(mask)
    return 0o666 & ~mask


def inside_git_dir(directory: Path) -> bool:
    """`directory` (resolved) is a git directory or inside one: its hooks and config run."""
    if ".git" in directory.parts:
        return True
    # What git itself takes for a git directory (HEAD, objects/, refs/), looked at directly:
    # `rev-parse --is-inside-git-dir` answers for $GIT_DIR when it is set, and a hook runs
    # with GIT_DIR set (pre-receive: GIT_DIR=. in the bare repository).
    for place in (directory, *directory.parents):
        if (
            (place / "HEAD").is_file()
            and (place / "objects").is_dir()
            and (place / "refs").is_dir()
        ):
            return True
    return git.try_git(["rev-parse", "--is-inside-git-dir"], directory) == b"true\n"


def _in_work_tree(directory: str) -> bool:
    """`directory` (resolved) lies in a git work tree, whose links a checkout can commit."""
    real = Path(os.path.realpath(directory))
    # A `.git` above it says so without asking git, whose answer a hook's GIT_DIR (relative
    # to the hook's directory, not this one) would change.
    if any(os.path.lexists(place / ".git") for place in (real, *real.parents)):
        return True
    return git.toplevel(real) is not None


def work_tree_around(directory: str | Path) -> Path | None:
    """The top level of the git work tree `directory` lies in (resolved; the nearest one,
    a submodule's or a nested clone's), or None outside every work tree."""
    real = Path(os.path.realpath(directory))
    for place in (real, *real.parents):
        if os.path.lexists(place / ".git"):
            return place
    top = git.toplevel(real)
    return top.resolve() if top is not None else None


def outside_work_trees(directory: str | Path) -> Path:
    """`directory`, or the nearest directory above it that lies in no git work tree: a
    repository inside another (a submodule, a clone inside a clone) has its superproject's
    work tree around it, where a file is one `git add -A` from being committed."""
    here = Path(os.path.realpath(directory))
    while True:
        top = work_tree_around(here)
        if top is None or top.parent == top or top not in (here, *here.parents):
            return here
        here = top.parent


def _linked_directory(path: Path) -> str | None:
    """The first directory of `path`, as typed, that is a symbolic link in a work tree (a
    committed `reports -> /elsewhere` would have `reports/ks.json` written outside the
    checkout). Links above any work tree (`/tmp` on macOS, your own `~/link/repo`) are not
    the repository's, and are followed."""
    here = Path(os.getcwd()) if not path.is_absolute() else Path(path.anchor)
    for part in path.parent.parts[1 if path.is_absolute() else 0 :]:
        containing, here = here, here / part
        try:
            info = os.lstat(here)
        except OSError:
            return None  # missing: the write fails and says so
        if stat.S_ISLNK(info.st_mode) and _in_work_tree(str(containing)):
            return str(here)
    return None


def check_directory(directory: str | Path) -> None:
    """A directory the scanner writes several files into (`audit --output-dir`), checked as
    `write` checks a file's directory: not reached through a symbolic link inside a work
    tree (a committed `kimi-secret-scan-audit -> /elsewhere`), the path itself included,
    and not inside a git directory. Raises ScanError saying why not."""
    shown = str(directory)
    linked = _linked_directory(Path(directory) / "x")
    if linked is not None:
        raise ScanError(
            f"refusing to write into {shown}: {linked} is a symbolic link inside a repository "
            f"(to {os.readlink(linked)}); name the directory itself"
        )
    # The directory, or before it is made the nearest one that exists (so that nothing is
    # made inside a git directory first).
    resolved = Path(directory).absolute()
    while not resolved.exists() and resolved.parent != resolved:
        resolved = resolved.parent
    resolved = resolved.resolve()
    if inside_git_dir(resolved):
        raise ScanError(
            f"refusing to write into {shown}: it is inside a git directory ({resolved}), where "
            "a file can be run as a hook or read as config; write it elsewhere"
        )


def write(target: str | Path, text: str, *, whole_keys: bool) -> None:
    """Write `text` to `target` (replacing it), or raise ScanError saying why not.

    A regular file is written to a temporary file beside it and renamed over it: the
    rename replaces a link instead of writing through it, and never writes into another
    hard link of the old file. A final symbolic link to a file is refused outright (the
    user asked for a name that is not the file that would be written). A device or FIFO
    (`/dev/stdout`, `/dev/null`, a pipe) is written in place: it cannot be a hook.
    """
    shown = str(target)
    path = Path(target)
    if path.name.lower() == ".git":
        # A worktree's or submodule's `.git` is a file naming its git directory: writing it
        # would break the repository (and a directory of that name is one).
        raise ScanError(f"refusing to write {shown}: it is a repository's .git")
    data = text.encode("utf-8", "surrogateescape")
    linked = _linked_directory(path)
    if linked is not None:
        raise ScanError(
            f"refusing to write {shown}: {linked} is a symbolic link inside the repository "
            f"(to {os.readlink(linked)}); name the directory itself"
        )
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise ScanError(f"cannot write {shown}: {exc.strerror}") from None
    if info is not None and stat.S_ISLNK(info.st_mode):
        try:
            pointed = os.stat(path)
        except OSError:
            pointed = None
        # A link to a device or pipe is followed only outside a work tree (`/dev/stdout`):
        # a committed one (report.sarif -> /elsewhere/fifo) hands the report to whoever
        # reads there.
        if (
            pointed is None
            or stat.S_ISREG(pointed.st_mode)
            or stat.S_ISDIR(pointed.st_mode)
            or _in_work_tree(str(path.parent))
        ):
            raise ScanError(
                f"refusing to write {shown}: it is a symbolic link (to "
                f"{os.readlink(path)}); name the file itself"
            )
        _write_in_place(path, shown, data, follow=True)
        return
    if info is not None and not stat.S_ISREG(info.st_mode):
        if stat.S_ISDIR(info.st_mode):
            raise ScanError(f"cannot write {shown}: it is a directory")
        if _in_work_tree(str(path.parent)):
            raise ScanError(
                f"refusing to write {shown}: it is not a regular file (a pipe, socket or "
                "device) inside a repository; name a file"
            )
        _write_in_place(path, shown, data, follow=False)
        return
    directory = (path.parent if str(path.parent) else Path(".")).resolve()
    if not directory.is_dir():
        raise ScanError(f"cannot write {shown}: no such directory {directory}")
    if inside_git_dir(directory):
        raise ScanError(
            f"refusing to write {shown}: it is inside a git directory ({directory}), where a "
            "file can be run as a hook or read as config; write it elsewhere"
        )
    import tempfile  # only commands that write a file pay for the import

    try:
        fd, tmp = tempfile.mkstemp(prefix=".kimi-secret-scan-", dir=directory)  # mode 0600
    except OSError as exc:
        raise ScanError(f"cannot write {shown}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            if not whole_keys:
                os.fchmod(handle.fileno(), _umask_mode())
            handle.write(data)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise ScanError(f"cannot write {shown}: {exc.strerror or type(exc).__name__}") from None


def _write_in_place(path: Path, shown: str, data: bytes, follow: bool) -> None:
    # Non-blocking, so a pipe nobody reads fails at once instead of holding the command;
    # the opened object is what is checked (no truncation: a device or pipe has none).
    flags = os.O_WRONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0)
    flags |= 0 if follow else getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
        try:
            if stat.S_ISREG(os.fstat(fd).st_mode):
                # It changed since it was looked at: a regular file is replaced, never
                # written in place (it could be a second hard link).
                raise ScanError(f"cannot write {shown}: it changed while being written")
            os.set_blocking(fd, True)
            view = memoryview(data)
            while view:  # a pipe takes a large report in parts
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
    except OSError as exc:
        if exc.errno == errno.ENXIO:
            raise ScanError(f"cannot write {shown}: it is a pipe nobody reads") from None
        raise ScanError(f"cannot write {shown}: {exc.strerror}") from None
