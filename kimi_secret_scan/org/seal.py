"""What this tool made, told from what a checkout planted: a mirror cache entry, a report.

`--cache DIR` and `--output-dir DIR` may lie in a checkout nobody vetted, which can commit
`DIR/<slug>.git` (a bare repository whose config runs a program on fetch, whose refspec
fetches nothing, whose objects are forged under the right ids: git does not re-hash what it
reads) or `DIR/<slug>.json` (a clean report with the right fingerprint, which anyone can
compute by auditing the same public target). So each is sealed with an HMAC under a key
that only this user's cache holds, never the cache or output directory named on the command
line: `$XDG_CACHE_HOME/kimi-secret-scan/audit-key` (else ~/.cache/...), created 0600 on the
first audit. Nothing is trusted without a seal that matches.

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


def ensure_key() -> str | None:
    """Create the key once (the parent process, before any worker reads it). Why it cannot
    be had, or None. Without it nothing is sealed nor trusted: every report is written anew
    and every mirror cloned again (a home that cannot be written must not stop an audit)."""
    path = key_path()
    if not os.path.lexists(path):
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            tmp = path.with_name(f".audit-key.{os.getpid()}")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "wb") as handle:
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
        return f"{path} cannot be read or is damaged (delete it)"
    return None


def load_key() -> bytes | None:
    try:
        fd = os.open(key_path(), os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(fd, "rb") as handle:
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
