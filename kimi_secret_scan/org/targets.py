"""Targets of an organisation audit: local repository paths and clone URLs, normalised,
named, and assigned to shards.

A target's shard is a hash of its normalised form, not its position in the list: adding or
removing targets never moves the others, and every machine of a CI fan-out computes the same
slice from the same list without talking to the others.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from kimi_secret_scan.errors import ScanError

# Transports git may use for a target URL. Anything else is refused before git sees it:
# `ext::` runs a command, and `transport::address` forms reach remote helpers.
URL_SCHEMES = ("https", "http", "ssh", "git", "file")
_SCP_LIKE = re.compile(
    r"^(?P<user>[A-Za-z0-9._~-]+@)?(?P<host>[A-Za-z0-9.-]+):(?P<path>[^/].*|/.*)$"
)


@dataclass(frozen=True)
class Target:
    spec: str  # as given
    url: str | None  # a clone URL, or None for a local repository
    path: Path | None  # a local repository, or None for a URL
    key: str  # the normalised form: what is hashed for the shard and the file name

    @property
    def name(self) -> str:
        """How reports name the repository: host/path for a URL, the path for a directory."""
        if self.url is None:
            return str(self.path)
        parts = urlsplit(self.key)
        if parts.scheme == "file":
            return parts.path
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.hostname or ''}{port}{parts.path}"

    @property
    def slug(self) -> str:
        """A file name for this target: readable, and unique through a hash of the key."""
        readable = re.sub(r"[^A-Za-z0-9._-]+", "_", self.name).strip("._-")[-60:] or "repo"
        return f"{readable}-{self.digest[:12]}"

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.key.encode("utf-8", "surrogateescape")).hexdigest()

    def shard(self, total: int) -> int:
        """This target's shard, 1..total."""
        return int(self.digest[:16], 16) % total + 1

    @property
    def shown(self) -> str:
        """The target as given, for saying it was named twice: with no password, no http(s)
        user (often a token) and no query or fragment (which may hold one)."""
        if self.url is None:
            return self.spec
        return without_credentials(self.spec)


def without_credentials(url: str) -> str:
    """A clone URL as it may be shown: with no password, no http(s) user (often a token)
    and no query or fragment (which may hold one). A path, or `user@host:path` (no password
    in that form), is returned as it is."""
    if "://" not in url:
        return url
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return url.split("://", 1)[0] + "://…"  # not a URL git could use: nothing of it
    netloc = parts.hostname or ""
    if parts.username and parts.scheme.lower() not in ("http", "https"):
        netloc = f"{parts.username}@{netloc}"
    if port:
        netloc += f":{port}"
    hidden = ("…" if parts.query else "", "…" if parts.fragment else "")
    return urlunsplit((parts.scheme, netloc, parts.path, *hidden))


def is_url(spec: str) -> bool:
    return "://" in spec or "::" in spec or _scp_like(spec) is not None


def _scp_like(spec: str) -> re.Match[str] | None:
    # `host:path` is git's scp-like syntax, unless the part before the colon has a slash
    # (then it is a local path, as git decides too).
    if "/" in spec.split(":", 1)[0] or os.path.exists(spec):
        return None
    return _SCP_LIKE.match(spec)


def parse(spec: str, cwd: Path | None = None) -> Target:
    """One target from what the user wrote. Raises ScanError for what git must not see."""
    spec = spec.strip()
    if not spec:
        raise ScanError("an empty target")
    if spec.startswith("-"):
        raise ScanError(f"{spec}: a target cannot start with '-'")
    if any(ord(c) < 0x20 for c in spec):
        raise ScanError(f"{spec!r}: a target cannot hold control characters")
    if not is_url(spec):
        resolved = ((cwd or Path.cwd()) / os.path.expanduser(spec)).resolve()
        return Target(spec, None, resolved, str(resolved))
    if "::" in spec.split("://", 1)[0]:
        # `transport::address` runs a remote helper (`ext::` runs any command).
        raise ScanError(f"{spec}: the {spec.split('::', 1)[0]}:: transport is not allowed")
    if "://" not in spec:
        match = _scp_like(spec)
        if match is None:
            raise ScanError(f"{spec}: not a clone URL git may use ({', '.join(URL_SCHEMES)})")
        user = match["user"] or ""
        spec_url = f"ssh://{user}{match['host']}/{match['path'].lstrip('/')}"
    else:
        spec_url = spec
    try:
        parts = urlsplit(spec_url)
        parts.port  # noqa: B018 (raises ValueError for a port that is not a number)
    except ValueError:
        # `ssh://[-oProxyCommand=…]/x`, `ssh://h:-o…/y`: this target fails, not the audit.
        raise ScanError(f"{spec}: not a valid URL") from None
    scheme = parts.scheme.lower()
    if scheme not in URL_SCHEMES:
        raise ScanError(
            f"{spec}: the {scheme or '?'} transport is not allowed ({', '.join(URL_SCHEMES)})"
        )
    if scheme != "file" and not parts.hostname:
        raise ScanError(f"{spec}: a clone URL needs a host")
    if parts.hostname and parts.hostname.startswith("-"):
        raise ScanError(f"{spec}: a host cannot start with '-'")
    # The normalised form: scheme and host in lower case, no trailing slash or `.git`, no
    # password (never written into a report or a file name). Over http(s) no user name
    # either: there it is often the token itself (`https://<token>@github.com/…`), and the
    # key is written into every target's report. An ssh user (`git@`) is an account name.
    netloc = (parts.hostname or "").lower()
    if parts.username and scheme not in ("http", "https"):
        netloc = f"{parts.username}@{netloc}"
    if parts.port:
        netloc += f":{parts.port}"
    clean = parts.path.rstrip("/")
    if scheme != "file":
        # On a hosting service `r` and `r.git` are one repository. A file:// path is read as
        # written (`r` and `r.git` may be two repositories side by side), as a local path is.
        clean = clean.removesuffix(".git").rstrip("/")
    key = urlunsplit((scheme, netloc, clean, "", ""))
    return Target(spec, spec, None, key)


def read_list(lines: Iterable[str]) -> list[str]:
    """Targets from a file or stdin: one per line; blank lines and `#` comments ignored.
    A byte order mark before the first (what Notepad and PowerShell 5's `Set-Content
    -Encoding utf8` write) is not part of it: kept, it made the first target a URL of an
    unknown transport, not audited. CRLF line ends are stripped with the blanks."""
    out = []
    for number, line in enumerate(lines):
        text = (line.removeprefix("\ufeff") if number == 0 else line).strip()
        if text and not text.startswith("#"):
            out.append(text)
    return out


def unique(targets: Iterable[Target]) -> list[Target]:
    """The same repository named twice (a trailing slash, `.git`) is audited once."""
    return deduplicate(targets)[0]


def deduplicate(targets: Iterable[Target]) -> tuple[list[Target], dict[str, list[str]]]:
    """`unique`, and for each target kept (by key) the other spellings that named it
    (`shown`), so that a target left out as the same as another is said, never silent: two
    spellings may still be two repositories (`host:srv/r` and `host:/srv/r` on a server)."""
    seen: dict[str, Target] = {}
    also: dict[str, list[str]] = {}
    for t in targets:
        first = seen.setdefault(t.key, t)
        if first is not t and t.spec != first.spec and t.shown not in also.get(t.key, []):
            also.setdefault(t.key, []).append(t.shown)
    return list(seen.values()), also


def spec_shard(spec: str, total: int) -> int:
    """The shard of a target that could not be parsed (it has no key): by its text, so
    exactly one shard reports it."""
    digest = hashlib.sha256(spec.encode("utf-8", "surrogateescape")).hexdigest()
    return int(digest[:16], 16) % total + 1


def parse_shard(text: str) -> tuple[int, int]:
    """`K/N` with 1 <= K <= N."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not match:
        raise ScanError(f"--shard {text}: expected K/N, for example 2/5")
    k, n = int(match[1]), int(match[2])
    if n < 1 or not 1 <= k <= n:
        raise ScanError(f"--shard {text}: K must be between 1 and N")
    return k, n


def shard_from_ci(env: Mapping[str, str]) -> tuple[int, int] | None:
    """GitLab's `parallel: N` sets CI_NODE_INDEX (1..N) and CI_NODE_TOTAL in each job."""
    index, total = env.get("CI_NODE_INDEX"), env.get("CI_NODE_TOTAL")
    if not index or not total:
        return None
    return parse_shard(f"{index}/{total}")


def select(targets: list[Target], shard: tuple[int, int] | None) -> list[Target]:
    if shard is None:
        return targets
    k, n = shard
    return [t for t in targets if t.shard(n) == k]
