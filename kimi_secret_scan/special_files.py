"""FIFOs and devices where git opens a file, found before git is started.

git opens the files of a repository's git directory as it needs them (packed-refs, a loose
ref, the index, a pack's .idx, objects/info/alternates, a file the config includes) and
waits forever on a FIFO nobody writes, or reads a device that never ends. A repository
delivered as a directory (an unpacked tarball, a downloaded `.git`) is the attacker's to
shape, so every git the scanner starts on it would hang, saying nothing. Before the first
git call on a repository, its git directory, the object directories its alternates name
(and theirs, read as git reads them) and the files its config includes or names as
core.attributesFile / core.excludesFile are walked, without opening anything but the text
files that name the others (each config file parsed by git itself, without its includes,
only when it holds one of those words); any FIFO or device is refused, by name (exit 2).

Not checked: a receiving server's own repository (pre-receive, under git's quarantine: a
push cannot create one); `modules/` (submodules' git directories, never read) and `lfs/`
(the LFS store, whose objects the LFS reader opens only when regular); the caller's own
global and system config.
"""

from __future__ import annotations

import os
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
# A `.git` file or `commondir` is read up to this (git refuses a larger `.git` file).
_SMALL = 1 << 20


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


_LINKED_TOP = frozenset({"objects", "refs", "logs", "info", "worktrees"})


def _opened_through(names: tuple[str, ...]) -> bool:
    """Whether git opens files through a linked directory at `names` under a git directory:
    the top's objects/, refs/, logs/, info/ and worktrees/ (as git-new-workdir links them),
    anything under refs/ and logs/ (refs and reflogs are read through linked directories),
    objects/pack, objects/info and a loose-object directory, and the same in a worktree's
    directory. A link elsewhere (`.git/x -> /usr`) is never walked: git never reads it."""
    while len(names) > 2 and names[0] == "worktrees":
        names = names[2:]  # a worktree's own files, laid out as the top's
    if len(names) == 1:
        return names[0] in _LINKED_TOP
    if names[0] in ("refs", "logs") or names[0] == "worktrees":
        return True
    if names[0] == "objects" and len(names) == 2:
        name = names[1]
        return name in ("pack", "info") or (
            len(name) == 2 and all(c in "0123456789abcdef" for c in name)
        )
    return False


def _walk(top: str, seen: set[tuple[int, int]], skip_top: bool) -> None:
    """Every entry under `top` (a linked directory followed, once, only where git opens
    files through it: _opened_through): a FIFO or a device raises ScanError.

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
    # (directory, its names under `top`: ("worktrees", NAME) holds a worktree's files)
    stack: list[tuple[str, tuple[str, ...]]] = [(top, ())]
    while stack:
        directory, names = stack.pop()
        depth = len(names)
        # Where git's own names are passed over: the top (modules/, lfs/, and the
        # pseudorefs the scanner reads itself) and a worktree's directory (its pseudorefs).
        top_level = skip_top and depth == 0
        pseudo = top_level or (skip_top and depth == 2 and names[0] == "worktrees")
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
                        stack.append((entry.path, (*names, entry.name)))
                        continue
                    linked = os.stat(entry.path)  # a link (followed), or an odd type
                except OSError:
                    continue  # a dangling link: git finds nothing there either
                if stat.S_ISDIR(linked.st_mode):
                    inner = (*names, entry.name)
                    if not _opened_through(inner if skip_top else ("objects", *inner)):
                        continue  # git never opens a file through it: not walked
                    if (linked.st_dev, linked.st_ino) not in seen:
                        seen.add((linked.st_dev, linked.st_ino))
                        stack.append((entry.path, inner))
                    continue
                what = _odd(linked.st_mode)
                if what is not None:
                    raise _refuse(entry.path, f"a link to {what}" if entry.is_symlink() else what)


def _regular_text(path: Path) -> str | None:
    """The text of a regular file (links followed; its first _SMALL bytes), None when there
    is none; a FIFO or a device raises ScanError (it is never opened)."""
    if not _is_regular(path):
        return None
    try:
        with open(path, "rb") as handle:
            return handle.read(_SMALL).decode("utf-8", "surrogateescape")
    except OSError:
        return None


def _is_regular(path: Path | str) -> bool:
    """Whether `path` is a regular file (links followed); a FIFO or a device raises
    ScanError, anything else (missing, a directory) is False."""
    try:
        info = os.stat(path)
    except (OSError, ValueError):
        return False
    what = _odd(info.st_mode)
    if what is not None:
        raise _refuse(str(path), what)
    return stat.S_ISREG(info.st_mode)


def _regular_bytes(path: Path) -> bytes | None:
    """The whole content of a regular file, as git reads it (links followed); None when
    there is none. git reads every byte of the files that name others, so a name after
    any amount of padding counts."""
    if not _is_regular(path):
        return None
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError:
        return None


# The config keys that make git open a file named in the repository's config: the files it
# includes, and (for `staged` and `files`) the attributes and exclude files. Names and
# sections are plain letters, never escaped or continued: a file without one of these words
# (any case) sets none of them, and costs no git process (the hook's plain config).
_CONFIG_WORDS = (b"include", b"attributesfile", b"excludesfile")
_CONFIG_FILES = frozenset({"include.path", "core.attributesfile", "core.excludesfile"})
_OPTIONAL = ":(optional)"  # git 2.50+: an include that may be missing


def _may_name_files(path: Path) -> bool:
    """Whether the regular file `path` holds one of _CONFIG_WORDS (any case): the whole file
    is read, in chunks."""
    longest = max(len(word) for word in _CONFIG_WORDS)
    tail = b""
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(1 << 20):
                text = tail + chunk.lower()
                if any(word in text for word in _CONFIG_WORDS):
                    return True
                tail = text[-(longest - 1) :]
    except OSError:
        return False  # git cannot read it either: it says so itself
    return False


def _config_entries(path: Path) -> list[tuple[str, str | None]]:
    """The include paths and the attributes/exclude file names that the config file `path`
    itself sets, parsed by git (its grammar: comments, quotes, escapes, continuations),
    without following its includes; nothing when the file names none."""
    if not _may_name_files(path):
        return []
    from kimi_secret_scan import git  # git imports this module: asked only when needed

    # --git-dir names no repository: git discovers none, so it reads no config of the
    # scanned repository (whose includes are what is being checked), only `path`.
    args = [f"--git-dir={os.devnull}", "config", "--file", str(path), "--no-includes", "-z"]
    # --list, not --get-regexp: it exits 0 on a file without the keys, so a failure is
    # always git's refusal of the file (a warning on stderr alone is not).
    out, errors = git.try_git_warnings([*args, "--list"], path.parent)
    if out is None:
        said = [line.strip() for line in errors if line.strip()] or ["no message"]
        raise ScanError(
            f"{path}: git cannot parse this config file ({said[-1]}); the repository is not read"
        )
    found: list[tuple[str, str | None]] = []
    for item in out.decode("utf-8", "surrogateescape").split("\0"):
        if not item:
            continue
        key, newline, value = item.partition("\n")
        # Keys come with the section and name in lower case (a subsection as written).
        if key in _CONFIG_FILES or (key.startswith("includeif.") and key.endswith(".path")):
            found.append((key, value if newline else None))
    return found


def _expand(value: str) -> str:
    """A path value as git interpolates it: `~/` and `~user/`, and `%(prefix)/`."""
    if value.startswith("%(prefix)/"):
        import shutil

        program = shutil.which("git") or "/usr/bin/git"
        prefix = os.path.dirname(os.path.dirname(os.path.realpath(program)))
        return os.path.join(prefix, value[len("%(prefix)/") :])
    return os.path.expanduser(value)


def _check_config(config: Path, work_tree: Path | None, visited: set[str], depth: int = 0) -> None:
    """Refuse a FIFO or a device that `config`, or a file it includes (and theirs), names
    as a file git opens: an include, core.attributesFile, core.excludesFile."""
    try:
        # The file, and the directory it was named in: git reads a relative include from
        # the path it included, so one file reached through a link elsewhere names other
        # files (review h12: a link to a config already read hid a FIFO its include named).
        key = os.path.realpath(config) + "\0" + os.path.abspath(config.parent)
    except (OSError, ValueError):
        return
    if key in visited or depth > 10 or not _is_regular(config):
        return
    visited.add(key)
    for name, value in _config_entries(config):
        if not value:
            continue  # git refuses an empty or missing value; it opens nothing
        if name.endswith(".path"):
            # Relative to the including file's directory; `:(optional)` is a prefix on a
            # new git and part of a relative name on an old one: both are looked at.
            values = [value]
            if value.startswith(_OPTIONAL):
                values.append(value[len(_OPTIONAL) :])
            for each in values:
                target = Path(_expand(each))
                if not target.is_absolute():
                    target = config.parent / target
                _check_config(target, work_tree, visited, depth + 1)
            continue
        # A file git opens from the work tree's top (where it runs our commands).
        target = Path(_expand(value))
        if target.is_absolute() or work_tree is None:
            _is_regular(target)
        else:
            _is_regular(work_tree / target)


def _unquote_c(data: bytes, at: int) -> tuple[bytes, int] | None:
    """git's unquote_c_style: the C-quoted string starting at data[at] ('"'), and the
    index just past its closing quote; None when it is not one (git then reads the line as
    it is)."""
    escapes = {
        ord("a"): 7,
        ord("b"): 8,
        ord("f"): 12,
        ord("n"): 10,
        ord("r"): 13,
        ord("t"): 9,
        ord("v"): 11,
        ord("\\"): ord("\\"),
        ord('"'): ord('"'),
    }
    out = bytearray()
    i = at + 1
    while True:
        if i >= len(data):
            return None
        byte = data[i]
        i += 1
        if byte == ord('"'):
            return bytes(out), i
        if byte != ord("\\"):
            out.append(byte)
            continue
        if i >= len(data):
            return None
        byte = data[i]
        i += 1
        if byte in escapes:
            out.append(escapes[byte])
        elif ord("0") <= byte <= ord("3"):
            digits = data[i - 1 : i + 2]
            if len(digits) < 3 or any(not ord("0") <= d <= ord("7") for d in digits):
                return None
            out.append(int(digits, 8))
            i += 2
        else:
            return None


def _alternate_entries(data: bytes) -> list[bytes]:
    """The object directories an alternates file names, as git's parse_alt_odb_entry reads
    it: one a line, as it is (no trimming), `#` lines skipped, a line starting with '"'
    C-unquoted (when it is a valid quoted string, which may span lines)."""
    data = data.split(b"\0", 1)[0]  # git reads it as a C string
    found: list[bytes] = []
    at = 0
    while at < len(data):
        end = data.find(b"\n", at)
        end = len(data) if end < 0 else end
        quoted = _unquote_c(data, at) if data[at] == ord('"') else None
        if data[at] == ord("#"):
            entry = b""
        elif quoted is not None:
            entry, end = quoted
        else:
            entry = data[at:end]
        if entry:
            found.append(entry)
            stripped = entry.strip()
            if stripped and stripped != entry:
                found.append(stripped)  # as earlier versions of this check read it
        at = end + 1 if end < len(data) else end
    return found


def _alternates(objects: Path, seen: set[tuple[int, int]], depth: int = 0) -> None:
    data = _regular_bytes(objects / "info" / "alternates")
    if data is None or depth > 5:  # git follows five levels
        return
    base = os.path.realpath(objects)
    for entry in _alternate_entries(data):
        name = os.fsdecode(entry)
        # Relative to the (real) objects directory, then normalised, as git does.
        other = Path(os.path.normpath(os.path.join(base, name)))
        _walk(str(other), seen, skip_top=False)
        _alternates(other, seen, depth + 1)


def _git_dir_of(start: Path) -> Path | None:
    """The git directory git would find from `start`, as far as a walk up the directories
    tells (GIT_DIR, a `.git` directory or `gitdir:` file, a bare repository); None when
    none is seen (git then says what it finds)."""
    found = _repository_of(start)
    return None if found is None else found[0]


def _repository_of(start: Path) -> tuple[Path, Path | None] | None:
    """(_git_dir_of, the work tree's top where it is known: the directory holding `.git`,
    a directory or a linked worktree's `gitdir:` file; GIT_WORK_TREE with GIT_DIR)."""
    named = os.environ.get("GIT_DIR")
    if named:
        tree = os.environ.get("GIT_WORK_TREE")
        return start / named, (start / tree if tree else None)
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
                return dot, directory
            text = _regular_text(dot)
            if text is not None and text.startswith("gitdir:"):
                target = Path(text[len("gitdir:") :].strip())
                return (target if target.is_absolute() else directory / target), directory
        # git takes a directory with `objects/` and a HEAD for a bare repository, opening
        # that HEAD to see: a HEAD of any type (a FIFO is refused by the walk).
        if os.path.lexists(directory / "HEAD") and (directory / "objects").is_dir():
            return directory, None
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
    repository = _repository_of(here)
    if repository is None:
        return
    git_dir, work_tree = repository
    key = f"{git_dir}\0{work_tree}"
    if key not in _checked:
        try:
            _check(git_dir, work_tree)
        except ScanError as exc:
            _checked[key] = exc
        else:
            _checked[key] = None
    found = _checked[key]
    if found is not None:
        raise ScanError(str(found))


def _check(git_dir: Path, work_tree: Path | None) -> None:
    seen: set[tuple[int, int]] = set()
    dirs = [git_dir]
    common = _regular_text(git_dir / "commondir")
    if common is not None and common.strip():
        other = Path(common.strip())
        dirs.append(other if other.is_absolute() else git_dir / other)
    for directory in dirs:
        _walk(str(directory), seen, skip_top=True)
    # (A linked worktree's git directory is .git/worktrees/NAME: its top is where the
    # `gitdir:` file was found, from which git opens a relative excludesFile; review h12.)
    visited: set[str] = set()
    for directory in dirs:
        _alternates(directory / "objects", seen)
        for name in ("config", "config.worktree"):
            _check_config(directory / name, work_tree, visited)
