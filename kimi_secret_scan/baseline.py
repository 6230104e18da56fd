"""The baseline file: keys already known, by SHA-256, never the key itself.

TOML, because people edit it (status and reason, comments) and because an array of tables
has no separators: two branches that each add an entry merge without a conflict unless the
entries are neighbours. Entries are sorted by (sha256, path) and the file has no timestamp
and no line number, so rewriting it after code moves changes nothing.

An entry matches a finding when the SHA-256 of the finding's key is the entry's and, for a
path-scoped entry, the finding is in that path. The rule is recorded for people but is not
part of the match: the same key found by another rule (after a detector update) is still
the key that was acknowledged.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from kimi_secret_scan.config import shown
from kimi_secret_scan.errors import ScanError
from kimi_secret_scan.finding import Finding
from kimi_secret_scan.redaction import redact_text

VERSION = 1
STATUSES = ("unreviewed", "revoked", "false-positive", "test-key", "accepted")
DEFAULT_STATUS = "unreviewed"
_SHA256 = re.compile(r"[0-9a-f]{64}")
_ENTRY_KEYS = ("sha256", "rule", "secret", "path", "status", "reason")

HEADER = """\
# kimi-secret-scan baseline: keys already known, by the SHA-256 of the key (never the key).
# Sorted, without timestamps or line numbers, so it diffs and merges cleanly.
# Edit `status` ({statuses}) and `reason` by hand;
# `kimi-secret-scan baseline update` adds new keys and drops entries nothing matches.
"""


@dataclass(frozen=True)
class Entry:
    sha256: str
    rule: str
    secret: str  # the redacted form, for people: `sk-AbCd…WxYz`
    path: str | None = None  # None: the key anywhere
    status: str = DEFAULT_STATUS
    reason: str = ""

    @property
    def sort_key(self) -> tuple[str, str]:
        return (self.sha256, self.path or "")

    def matches(self, finding: Finding, paths: tuple[str, ...]) -> bool:
        if finding.secret_sha256 != self.sha256:
            return False
        if self.path is None or self.path in paths:
            return True
        # A path named after a key is written redacted (the file never holds a key): it
        # matches the same path redacted.
        return "…" in self.path and self.path in {redact_text(p) for p in paths}


@dataclass(frozen=True)
class Baseline:
    entries: tuple[Entry, ...] = ()
    source: str | None = None  # the command the entries were found with, for `update`
    path: Path | None = None

    def normalized(self) -> Baseline:
        """Sorted, one entry per (sha256, path): what is written."""
        seen: dict[tuple[str, str], Entry] = {}
        for entry in self.entries:
            seen.setdefault(entry.sort_key, entry)
        return replace(self, entries=tuple(sorted(seen.values(), key=lambda e: e.sort_key)))


def is_sha256(text: str) -> bool:
    return _SHA256.fullmatch(text) is not None


def entry_for(finding: Finding, path: str | None, status: str, reason: str) -> Entry:
    return Entry(
        sha256=finding.secret_sha256,
        rule=finding.rule.id,
        secret=finding.redacted,
        path=path,
        status=status,
        reason=reason,
    )


def _quote(text: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped."""
    out = ['"']
    for ch in text:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F or 0xD800 <= ord(ch) <= 0xDFFF:
            out.append(f"\\u{ord(ch) if ord(ch) < 0xD800 else 0xFFFD:04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def dumps(baseline: Baseline) -> str:
    lines = [HEADER.format(statuses=", ".join(STATUSES)).rstrip("\n"), f"version = {VERSION}"]
    if baseline.source:
        lines.append(f"source = {_quote(baseline.source)}")
    for entry in baseline.normalized().entries:
        lines += ["", "[[known]]"]
        lines.append(f"sha256 = {_quote(entry.sha256)}")
        if entry.rule:  # empty when added by hash (`baseline add`)
            lines.append(f"rule = {_quote(entry.rule)}")
        if entry.secret:
            lines.append(f"secret = {_quote(entry.secret)}")
        if entry.path is not None:
            lines.append(f"path = {_quote(redact_text(entry.path))}")
        lines.append(f"status = {_quote(entry.status)}")
        if entry.reason:
            lines.append(f"reason = {_quote(entry.reason)}")
    return "\n".join(lines) + "\n"


def write(baseline: Baseline, path: Path) -> None:
    """Write atomically (a reader never sees half a baseline), never through a symbolic
    link nor into a git directory (outfile.write). It holds hashes and redacted keys, so
    it gets the user's umask, like any file they create."""
    from kimi_secret_scan import outfile

    outfile.write(path, dumps(baseline), whole_keys=False)


def _entry(path: Path, index: int, raw: Any) -> Entry:
    where = f"{shown(path)}: [[known]] entry {index + 1}"
    if not isinstance(raw, dict):
        raise ScanError(f"{where}: must be a table")
    unknown = sorted(set(raw) - set(_ENTRY_KEYS))
    if unknown:
        raise ScanError(f"{where}: {unknown[0]}: unknown key (known: {', '.join(_ENTRY_KEYS)})")
    for key in _ENTRY_KEYS:
        if key in raw and not isinstance(raw[key], str):
            raise ScanError(f"{where}: {key}: must be a string")
    sha = raw.get("sha256", "").lower()
    if not _SHA256.fullmatch(sha):
        raise ScanError(f"{where}: sha256: must be 64 hex digits (the SHA-256 of the key)")
    status = raw.get("status", DEFAULT_STATUS)
    if status not in STATUSES:
        raise ScanError(f"{where}: status: {status!r} is not one of {', '.join(STATUSES)}")
    entry_path = raw.get("path")
    if entry_path == "":
        raise ScanError(f"{where}: path: must not be empty (leave it out to match any path)")
    return Entry(
        sha256=sha,
        rule=raw.get("rule", ""),
        secret=raw.get("secret", ""),
        path=entry_path,
        status=status,
        reason=raw.get("reason", ""),
    )


def load(path: Path) -> Baseline:
    # Imported here: the module is loaded by every command (for `baseline`), read rarely.
    import tomllib

    name = shown(path)
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise ScanError(f"baseline {name}: no such file") from None
    except OSError as exc:
        raise ScanError(f"cannot read baseline {name}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScanError(f"baseline {name}: invalid TOML: {exc}") from None
    unknown = sorted(set(data) - {"version", "source", "known"})
    if unknown:
        raise ScanError(f"baseline {name}: {unknown[0]}: unknown key")
    if data.get("version", VERSION) != VERSION:
        raise ScanError(f"baseline {name}: version {data.get('version')!r} is not {VERSION}")
    known = data.get("known", [])
    if not isinstance(known, list):
        raise ScanError(f"baseline {name}: known: must be an array of tables ([[known]])")
    source = data.get("source")
    if source is not None and not isinstance(source, str):
        raise ScanError(f"baseline {name}: source: must be a string")
    entries = tuple(_entry(path, i, raw) for i, raw in enumerate(known))
    return Baseline(entries=entries, source=source, path=path)


def unmatched(baseline: Baseline, matched: Iterable[Entry]) -> list[Entry]:
    used = set(matched)
    return [e for e in baseline.normalized().entries if e not in used]
