"""Files the scanner writes: --output reports, baselines, --write-replacements.

The path may come from a checkout nobody vetted (a CI job writing `report.txt` into a
stranger's pull request, where `report.txt` is a committed symbolic link to
`.git/hooks/pre-commit`). So a file is never written through a symbolic link, never inside
a git directory (hooks, config), never through a second hard link, and is created 0600 when
it can hold a whole key.
"""

from __future__ import annotations

import contextlib
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
        if pointed is None or stat.S_ISREG(pointed.st_mode) or stat.S_ISDIR(pointed.st_mode):
            raise ScanError(
                f"refusing to write {shown}: it is a symbolic link (to "
                f"{os.readlink(path)}); name the file itself"
            )
        _write_in_place(path, shown, data, follow=True)
        return
    if info is not None and not stat.S_ISREG(info.st_mode):
        if stat.S_ISDIR(info.st_mode):
            raise ScanError(f"cannot write {shown}: it is a directory")
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
    flags = os.O_WRONLY | (0 if follow else getattr(os, "O_NOFOLLOW", 0))
    try:
        fd = os.open(path, flags)
        try:
            view = memoryview(data)
            while view:  # a pipe takes a large report in parts
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
    except OSError as exc:
        raise ScanError(f"cannot write {shown}: {exc.strerror}") from None
