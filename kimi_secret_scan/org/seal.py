"""What this tool made, told from what a checkout planted: a mirror cache entry, a report.

`--cache DIR` and `--output-dir DIR` may lie in a checkout nobody vetted, which can commit
`DIR/<slug>.git` (a bare repository whose config runs a program on fetch, whose refspec
fetches nothing, whose objects are forged under the right ids: git does not re-hash what it
reads) or `DIR/<slug>.json` (a clean report with the right fingerprint, which anyone can
compute by auditing the same public target). So each is sealed with an HMAC under a key
that only this user's cache holds, never the cache or output directory named on the command
line: `$XDG_CACHE_HOME/kimi-secret-scan/audit-key` (else ~/.cache/...), created 0600 on the
first audit. Nothing is trusted without a seal that matches, and no key someone else could
know is used (unsafe_key: one inside a repository, a link, not a 0600 file of this user's):
the audit stops instead. A seal says who wrote an entry, not that its config is safe to run:
mirror.py writes the config afresh before any git reads it.

A cache entry's seal covers its URL and the content of every file in it (config, refs,
packs, loose objects), so a change by anyone but this tool, a file added or edited, a link,
is noticed before any git runs there; the entry is then cloned again. Hashing the files
costs one read of the mirror before the fetch and one after (a 41 MB mirror: about 0.1 s
each), less than the history scan that follows reads.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import stat
from pathlib import Path
from typing import Any

from kimi_secret_scan.errors import ScanError
from kimi_secret_scan.org.mirror_paths import default_cache

# The seal file inside a mirror (git ignores files it does not know in a git directory).
ENTRY_SEAL = "kimi-secret-scan-seal"
_KEY_BYTES = 32


def key_path() -> Path:
    """Beside the default cache, never in a directory named on the command line."""
    return default_cache().parent / "audit-key"


def _in_a_repository(path: Path) -> Path | None:
    """The first directory at or above `path` (as named, then resolved) that is a git work
    tree (holds `.git`) or a git directory (HEAD, objects/ and refs/): a key there may be
    one a checkout commits, known to its author, so nothing it sealed can be trusted."""
    for start in (Path(os.path.abspath(path)), Path(os.path.realpath(path))):
        for place in (start, *start.parents):
            if os.path.lexists(place / ".git"):
                return place
            if (
                os.path.isfile(place / "HEAD")
                and os.path.isdir(place / "objects")
                and os.path.isdir(place / "refs")
            ):
                return place
    return None


def _unsafe_directory(directory: Path) -> str | None:
    """Why the key's directory cannot hold a key only this user knows, or None."""
    repo = _in_a_repository(directory)
    if repo is not None:
        return f"{directory} lies inside the git repository {repo}"
    try:
        info = os.lstat(directory)
    except (FileNotFoundError, NotADirectoryError):
        return None  # not made yet, or cannot be: ensure_key says why
    except OSError as exc:
        return f"cannot read {directory}: {exc.strerror}"
    if stat.S_ISLNK(info.st_mode):
        return f"{directory} is a symbolic link"
    if not stat.S_ISDIR(info.st_mode):
        return f"{directory} is not a directory"
    if info.st_uid != os.getuid():
        return f"{directory} is not owned by this user"
    if info.st_mode & 0o022:
        return f"{directory} can be written by other users (mode {info.st_mode & 0o777:o})"
    return None


def _unsafe_key_file(info: os.stat_result, path: Path) -> str | None:
    if stat.S_ISLNK(info.st_mode):
        return f"{path} is a symbolic link"
    if not stat.S_ISREG(info.st_mode):
        return f"{path} is not a regular file"
    if info.st_uid != os.getuid():
        return f"{path} is not owned by this user"
    if info.st_mode & 0o777 != 0o600:
        return f"{path} has mode {info.st_mode & 0o777:o}, not 600"
    return None


def unsafe_key() -> str | None:
    """Why the sealing key (file or directory) could be known to someone else, or None.

    A CI job that sets XDG_CACHE_HOME inside its checkout (`$PWD/.cache`) would otherwise
    read a key the checkout commits, and trust a mirror sealed with it (whose config runs a
    program on fetch) or a clean report of a leaking target. Refused, never worked around:
    the audit stops (exit 2) rather than trust nothing and say so in a line CI ignores."""
    path = key_path()
    reason = _unsafe_directory(path.parent)
    if reason is None and os.path.lexists(path):
        try:
            reason = _unsafe_key_file(os.lstat(path), path)
        except OSError as exc:
            reason = f"cannot read {path}: {exc.strerror}"
    if reason is None:
        return None
    return (
        f"the audit's sealing key cannot be trusted: {reason}; keep it outside any repository, "
        f"a 0600 file of yours in a directory only you can write (set XDG_CACHE_HOME elsewhere)"
    )


def ensure_key() -> str | None:
    """Create the key once (the parent process, before any worker reads it). Why it cannot
    be had, or None. Without it nothing is sealed nor trusted: every report is written anew
    and every mirror cloned again (a home that cannot be written must not stop an audit).
    A key someone else could know (unsafe_key) is ScanError: the caller checks it first."""
    path = key_path()
    unsafe = unsafe_key()
    if unsafe is not None:
        raise ScanError(unsafe)
    if not os.path.lexists(path):
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            unsafe = unsafe_key()  # made by us, or by someone else just now
            if unsafe is not None:
                raise ScanError(unsafe)
            tmp = path.with_name(f".audit-key.{os.getpid()}")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "wb") as handle:
                os.fchmod(handle.fileno(), 0o600)  # 0600 whatever the umask
                handle.write(os.urandom(_KEY_BYTES))
            try:
                os.link(tmp, path)  # never replaces a key another audit made meanwhile
            except FileExistsError:
                pass
            finally:
                os.unlink(tmp)
        except OSError as exc:
            return f"cannot create {path}: {exc.strerror}"
    if load_key() is None:
        unsafe = unsafe_key()
        if unsafe is not None:
            raise ScanError(unsafe)
        return f"{path} cannot be read or is damaged (delete it)"
    return None


def load_key() -> bytes | None:
    """The key, or None when it is missing, damaged or could be known to someone else (the
    same checks as unsafe_key, made again on the file opened: workers read it too)."""
    path = key_path()
    if _unsafe_directory(path.parent) is not None:
        return None
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as handle:
            if _unsafe_key_file(os.fstat(handle.fileno()), path) is not None:
                return None
            key = handle.read(_KEY_BYTES + 1)
    except OSError:
        return None
    return key if len(key) == _KEY_BYTES else None


# -- cache entries ---------------------------------------------------------------------------


def _entry_digest(entry: Path, url: str, key: bytes) -> str | None:
    """HMAC of the URL and every file of `entry` (names and contents); None when the entry
    holds anything this tool's clone never makes (a link, a device, a FIFO) or is unreadable."""
    mac = hmac.new(key, b"kimi-secret-scan mirror v1\0", hashlib.sha256)
    mac.update(url.encode("utf-8", "surrogateescape") + b"\0")
    try:
        if not stat.S_ISDIR(os.lstat(entry).st_mode):
            return None
        for top, dirs, files in os.walk(entry, followlinks=False):
            dirs.sort()
            rel_top = os.path.relpath(top, entry)
            for name in dirs:
                if stat.S_ISLNK(os.lstat(os.path.join(top, name)).st_mode):
                    return None
            for name in sorted(files):
                if rel_top == "." and name == ENTRY_SEAL:
                    continue
                full = os.path.join(top, name)
                fd = os.open(full, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
                with os.fdopen(fd, "rb") as handle:
                    if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                        return None
                    content = hashlib.sha256()
                    for block in iter(lambda: handle.read(1 << 20), b""):
                        content.update(block)
                rel = os.path.join(rel_top, name).encode("utf-8", "surrogateescape")
                mac.update(len(rel).to_bytes(4, "big") + rel + content.digest())
    except OSError:
        return None
    return mac.hexdigest()


def seal_entry(entry: Path, url: str, key: bytes | None) -> None:
    if key is None:
        return
    digest = _entry_digest(entry, url, key)
    if digest is None:
        raise ScanError(f"cannot seal the cache entry {entry}: it holds a link or cannot be read")
    tmp = entry / f".{ENTRY_SEAL}.{os.getpid()}"
    tmp.write_text(digest + "\n", encoding="ascii")
    os.replace(tmp, entry / ENTRY_SEAL)


def entry_is_ours(entry: Path, url: str, key: bytes | None) -> bool:
    """The entry is exactly as this tool left it, for this URL."""
    if key is None:
        return False
    try:
        fd = os.open(entry / ENTRY_SEAL, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                return False
            recorded = handle.read(200).decode("ascii", "replace").strip()
    except OSError:
        return False
    digest = _entry_digest(entry, url, key)
    return digest is not None and hmac.compare_digest(recorded, digest)


def digest_now(entry: Path, url: str, key: bytes | None) -> str | None:
    """The entry's digest as it is now (before a fetch), for reseal_unchanged."""
    return _entry_digest(entry, url, key) if key is not None else None


def reseal_unchanged(entry: Path, url: str, key: bytes | None, before: str | None) -> None:
    """After a fetch that failed: seal the entry again when not one byte of it changed (the
    server could not be reached, the repository was not there), so that the next run does
    not take this tool's own failed fetch for a planted or changed entry. One the fetch
    changed stays unsealed (cloned again, and said)."""
    if key is None or before is None:
        return
    now = _entry_digest(entry, url, key)
    if now is not None and hmac.compare_digest(now, before):
        seal_entry(entry, url, key)


def unseal_entry(entry: Path) -> None:
    """Before git changes the entry: a fetch cut short leaves no seal that would match."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(entry / ENTRY_SEAL)


# -- reports ---------------------------------------------------------------------------------


def _report_mac(data: dict[str, Any], key: bytes) -> str:
    body = json.dumps(data, sort_keys=True, ensure_ascii=True, separators=(",", ":"))
    mac = hmac.new(key, b"kimi-secret-scan report v1\0", hashlib.sha256)
    mac.update(body.encode("ascii"))
    return mac.hexdigest()


def seal_report(data: dict[str, Any], key: bytes | None) -> dict[str, Any]:
    """`data` (as it will be read back) with `target.seal` set."""
    if key is None:
        return data
    target = dict(data.get("target") or {})
    target.pop("seal", None)
    unsealed = {**data, "target": target}
    return {**data, "target": {**target, "seal": _report_mac(unsealed, key)}}


def report_is_ours(data: dict[str, Any], key: bytes | None) -> bool:
    if key is None:
        return False
    target = data.get("target")
    if not isinstance(target, dict):
        return False
    recorded = target.get("seal")
    if not isinstance(recorded, str):
        return False
    unsealed = {**data, "target": {k: v for k, v in target.items() if k != "seal"}}
    return hmac.compare_digest(recorded, _report_mac(unsealed, key))
