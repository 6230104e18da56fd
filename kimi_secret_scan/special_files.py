"""FIFOs and devices where git opens a file, found before git is started.

git opens the files of a repository's git directory as it needs them (packed-refs, a loose
ref, the index, a pack's .idx, objects/info/alternates, a file the config includes) and
waits forever on a FIFO nobody writes, or reads a device that never ends. A repository
delivered as a directory (an unpacked tarball, a downloaded `.git`) is the attacker's to
shape, so every git the scanner starts on it would hang, saying nothing. Before the first
git call on a repository, its git directory, the object directories its alternates name
(and theirs) and the files its config includes are walked, without opening anything but
the small text files that name the others; any FIFO or device is refused, by name (exit 2).

Not checked: a receiving server's own repository (pre-receive, under git's quarantine: a
push cannot create one); `modules/` (submodules' git directories, never read) and `lfs/`
(the LFS store, whose objects the LFS reader opens only when regular); the caller's own
global and system config.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from kimi_secret_scan.errors import ScanError

# Each git directory's answer, once per process: the refusal again on a second call (the
# configuration's look-up asks first and falls back; the command then asks again).
_checked: dict[str, ScanError | None] = {}
_SKIP_TOP = frozenset({"modules", "lfs"})
# What the scanner reads itself, never waiting (sources/hidden_refs.py, which reads them
# from this list, says a FIFO there as not read): no git command it runs opens them. The
# list lives here, not in hidden_refs, as this module is on the pre-commit hook's import
# path and hidden_refs is not.
PSEUDOREFS = (
    "FETCH_HEAD",
    "MERGE_HEAD",
    "ORIG_HEAD",
    "CHERRY_PICK_HEAD",
    "REVERT_HEAD",
    "REBASE_HEAD",
    "AUTO_MERGE",
    "BISECT_HEAD",
    "MERGE_AUTOSTASH",
)
_SECTION = re.compile(r"\s*\[\s*(include|includeif)\b[^\]]*\]", re.IGNORECASE)
_OTHER_SECTION = re.compile(r"\s*\[")
_PATH = re.compile(r"\s*path\s*=\s*(.*?)\s*$", re.IGNORECASE)
_SMALL = 1 << 20  # a text file that names others (alternates, a config) is read up to this


def _odd(mode: int) -> str | None:
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return None  # a socket cannot be opened as a file: git fails at once, it never waits


def _refuse(path: str, what: str) -> ScanError:
    return ScanError(
        f"{path} is {what}, not a regular file: git would wait on it (or read it) forever; "
        "the repository is not read"
    )


def _walk(top: str, seen: set[tuple[int, int]], skip_top: bool) -> None:
    """Every entry under `top` (links followed, each linked directory once): a FIFO or a
    device raises ScanError.

    Run before every git the hook starts, so kept to the kernel's directory reads: an
    entry's type comes from the listing (d_type: no stat for a regular file or a plain
    directory, the loose objects being most of a git directory's entries); only a link or
    an odd type is stat'ed. Only `top` and a linked directory are stat'ed for `seen`: a
    loop needs a link, so a plain subdirectory (each of 256 loose-object directories) is
    walked without one."""
    try:
        info = os.stat(top)
    except OSError:
        return
    if (info.st_dev, info.st_ino) in seen:
        return
    seen.add((info.st_dev, info.st_ino))
    stack = [(top, 0)]  # (directory, depth: 1 under worktrees/ holds a worktree's files)
    while stack:
        directory, depth = stack.pop()
        # Where git's own names are passed over: the top (modules/, lfs/, and the
        # pseudorefs the scanner reads itself) and a worktree's directory (its pseudorefs).
        top_level = skip_top and depth == 0
        pseudo = top_level or (
            skip_top and depth == 2 and os.path.basename(os.path.dirname(directory)) == "worktrees"
        )
        try:
            scan = os.scandir(directory)
        except OSError:
            continue  # git cannot read it either: it says so itself
        with scan:
            for entry in scan:
                try:
                    if entry.is_file(follow_symlinks=False):
                        continue  # the common case, from d_type alone
                    if pseudo and (
                        entry.name in PSEUDOREFS or (top_level and entry.name in _SKIP_TOP)
                    ):
                        continue
                    if entry.is_dir(follow_symlinks=False):
                        stack.append((entry.path, depth + 1))
                        continue
                    linked = os.stat(entry.path)  # a link (followed), or an odd type
                except OSError:
                    continue  # a dangling link: git finds nothing there either
                if stat.S_ISDIR(linked.st_mode):
                    if (linked.st_dev, linked.st_ino) not in seen:
                        seen.add((linked.st_dev, linked.st_ino))
                        stack.append((entry.path, depth + 1))
                    continue
                what = _odd(linked.st_mode)
                if what is not None:
                    raise _refuse(entry.path, f"a link to {what}" if entry.is_symlink() else what)


def _regular_text(path: Path) -> str | None:
    """The text of a regular file (links followed), None when there is none; a FIFO or a
    device raises ScanError (it is never opened)."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    what = _odd(info.st_mode)
    if what is not None:
        raise _refuse(str(path), what)
    if not stat.S_ISREG(info.st_mode):
        return None
    try:
        with open(path, "rb") as handle:
            return handle.read(_SMALL).decode("utf-8", "surrogateescape")
    except OSError:
        return None


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    return value.replace('\\"', '"').replace("\\\\", "\\")


def _included(config: Path, depth: int = 0) -> list[Path]:
    """The files `config` includes (include.path, includeIf.*.path), and theirs."""
    text = _regular_text(config)
    if text is None or depth > 10:
        return []
    found: list[Path] = []
    inside = False
    for line in text.splitlines():
        if _OTHER_SECTION.match(line):
            inside = _SECTION.match(line) is not None
            line = line[line.index("]") + 1 :] if "]" in line else ""
        match = _PATH.match(line) if inside else None
        if match is None:
            continue
        value = _unquote(match.group(1).split(" #")[0].split(" ;")[0].strip())
        if not value:
            continue
        target = Path(os.path.expanduser(value))
        if not target.is_absolute():
            target = config.parent / target
        found.append(target)
        found.extend(_included(target, depth + 1))
    return found


def _alternates(objects: Path, seen: set[tuple[int, int]], depth: int = 0) -> None:
    text = _regular_text(objects / "info" / "alternates")
    if text is None or depth > 5:  # git follows five levels
        return
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        other = Path(_unquote(line))
        if not other.is_absolute():
            other = objects / other
        _walk(str(other), seen, skip_top=False)
        _alternates(other, seen, depth + 1)


def _git_dir_of(start: Path) -> Path | None:
    """The git directory git would find from `start`, as far as a walk up the directories
    tells (GIT_DIR, a `.git` directory or `gitdir:` file, a bare repository); None when
    none is seen (git then says what it finds)."""
    named = os.environ.get("GIT_DIR")
    if named:
        return start / named
    for directory in (start, *start.parents):
        dot = directory / ".git"
        try:
            mode = os.stat(dot).st_mode
        except OSError:
            mode = None
        if mode is not None:
            what = _odd(mode)
            if what is not None:
                raise _refuse(str(dot), what)
            if stat.S_ISDIR(mode):
                return dot
            text = _regular_text(dot)
            if text is not None and text.startswith("gitdir:"):
                target = Path(text[len("gitdir:") :].strip())
                return target if target.is_absolute() else directory / target
        if (directory / "HEAD").is_file() and (directory / "objects").is_dir():
            return directory
    return None


def refuse_special_files(start: Path) -> None:
    """Refuse (ScanError) a repository, found from `start`, whose git directory, alternate
    object directories or included config files hold a FIFO or a device; once per git
    directory per process."""
    if os.environ.get("GIT_QUARANTINE_PATH"):
        return  # pre-receive: the server's own repository, which no push shapes
    try:
        here = start.resolve()
    except OSError:
        return
    if not here.is_dir():
        here = here.parent
    git_dir = _git_dir_of(here)
    if git_dir is None:
        return
    key = str(git_dir)
    if key not in _checked:
        try:
            _check(git_dir)
        except ScanError as exc:
            _checked[key] = exc
        else:
            _checked[key] = None
    found = _checked[key]
    if found is not None:
        raise ScanError(str(found))


def _check(git_dir: Path) -> None:
    seen: set[tuple[int, int]] = set()
    dirs = [git_dir]
    common = _regular_text(git_dir / "commondir")
    if common is not None and common.strip():
        other = Path(common.strip())
        dirs.append(other if other.is_absolute() else git_dir / other)
    for directory in dirs:
        _walk(str(directory), seen, skip_top=True)
    for directory in dirs:
        _alternates(directory / "objects", seen)
        for name in ("config", "config.worktree"):
            _included(directory / name)  # each included file is checked as it is read
