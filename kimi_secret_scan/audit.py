"""After a leak: findings grouped by distinct key, and the clean-up plan, in order.

The order matters. A key that reached a remote must be assumed copied, so it is revoked
and rotated first; purging history afterwards stops it from spreading further but never
un-leaks it. Rewriting history without revoking is therefore useless, and the plan says so.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kimi_secret_scan import git, remediation
from kimi_secret_scan.errors import ScanError
from kimi_secret_scan.finding import Finding, KeyKind, Rule, redact
from kimi_secret_scan.scan import ScanResult
from kimi_secret_scan.sources.attribution import RefWalk

# When occurrences disagree on the kind (context differs by file), the most specific wins.
_KIND_RANK = {
    KeyKind.KIMI_CODE: 4,
    KeyKind.PLATFORM_CN: 3,
    KeyKind.PLATFORM_INTL: 3,
    KeyKind.PLATFORM: 2,
    KeyKind.UNKNOWN: 1,
}
REPLACEMENT = "***REMOVED-KIMI-KEY***"
_LOCAL_REFS = {"refs/stash"}


@dataclass
class KeyGroup:
    number: int
    secret: str  # whole: rendered only with --show-secrets or into --write-replacements
    sha256: str
    kind: str
    rule: Rule
    occurrences: list[Finding]
    refs: list[str] = field(default_factory=list)
    head_paths: list[str] = field(default_factory=list)

    @property
    def redacted(self) -> str:
        return redact(self.secret)

    @property
    def first(self) -> Finding:
        return self.occurrences[0]

    @property
    def reflog_only(self) -> bool:
        return not self.refs and any(f.commit for f in self.occurrences)

    @property
    def local_only(self) -> bool:
        """Only in this clone's stash or reflogs: never on a ref that is pushed."""
        return self.reflog_only or (bool(self.refs) and set(self.refs) <= _LOCAL_REFS)

    def shown(self, show_secrets: bool) -> str:
        return self.secret if show_secrets else self.redacted

    def to_dict(self, show_secrets: bool) -> dict[str, Any]:
        first = self.first.to_dict(show_secrets)
        return {
            "key": self.shown(show_secrets),
            "secret_sha256": self.sha256,
            "key_kind": self.kind,
            "rule": self.rule.id,
            "first_appearance": {
                k: first[k] for k in ("commit", "author", "date", "path", "line", "column")
            },
            "occurrences": len(self.occurrences),
            "refs": self.refs,
            "reflog_only": self.reflog_only,
            "in_head": bool(self.head_paths),
            "head_paths": self.head_paths,
        }


def _when(
    finding: Finding, age: Mapping[str, int] | None = None
) -> tuple[int, int, dt.datetime, str, int]:
    """Oldest first: by the commit graph where the commit's place in it is known, else by
    date (commit and tag messages)."""
    if finding.commit is None or not finding.commit.date:
        return (1, 0, dt.datetime.max.replace(tzinfo=dt.timezone.utc), finding.path, finding.line)
    graph = -age[finding.commit.sha] if age and finding.commit.sha in age else 0
    try:
        when = dt.datetime.fromisoformat(finding.commit.date)
    except ValueError:
        when = dt.datetime.max.replace(tzinfo=dt.timezone.utc)
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return (0, graph, when, finding.path, finding.line)


def group(findings: list[Finding], age: Mapping[str, int] | None = None) -> list[KeyGroup]:
    """One group per distinct key, oldest first appearance first."""
    by_key: dict[str, list[Finding]] = {}
    for f in findings:
        by_key.setdefault(f.secret_sha256, []).append(f)
    groups: list[KeyGroup] = []
    for sha, occurrences in by_key.items():
        occurrences.sort(key=lambda f: _when(f, age))
        kind = max((f.key_kind for f in occurrences), key=lambda k: _KIND_RANK.get(k, 0))
        first = occurrences[0]
        groups.append(KeyGroup(0, first.secret, sha, kind, first.rule, occurrences))
    groups.sort(key=lambda g: _when(g.first, age))
    for number, g in enumerate(groups, 1):
        g.number = number
    return groups


def attach_refs(groups: list[KeyGroup], repo: Path, walk: RefWalk | None = None) -> None:
    """The refs each key is reachable from: refs containing any commit that holds it."""
    tags = {f.commit.sha for g in groups for f in g.occurrences if f.commit and _is_tag(f)}
    commits = {
        f.commit.sha
        for g in groups
        for f in g.occurrences
        if f.commit and f.commit.sha and not _is_tag(f)
    }
    containing = (walk or RefWalk(repo)).containing(commits)
    for g in groups:
        refs: set[str] = set()
        for f in g.occurrences:
            if not f.commit or not f.commit.sha:
                continue
            if f.commit.sha in tags:
                out = git.run_git(
                    ["for-each-ref", "--format=%(refname)", f"--points-at={f.commit.sha}"], repo
                )
                refs.update(_lines(out))
            else:
                refs.update(containing.get(f.commit.sha, ()))
        g.refs = sorted(refs)


def _is_tag(f: Finding) -> bool:
    return f.path.startswith("<tag message ")


def _lines(out: bytes) -> list[str]:
    return [line for line in out.decode("utf-8", "replace").splitlines() if line]


# -- the plan ------------------------------------------------------------------------------


def revoke_section(g: KeyGroup, show_secrets: bool) -> list[str]:
    return remediation.revoke_steps(g.kind, [g.shown(show_secrets)])


def _affected_namespaces(groups: list[KeyGroup]) -> set[str]:
    spaces: set[str] = set()
    for g in groups:
        for ref in g.refs:
            if ref in _LOCAL_REFS:
                continue
            parts = ref.split("/")
            spaces.add("/".join(parts[:2]) if len(parts) > 2 else ref)
    return spaces


def purge_steps(groups: list[KeyGroup], replacements_file: str | None) -> list[str]:
    """History purge, to run once every key above is revoked."""
    file = replacements_file or "../kimi-replacements.txt"
    spaces = _affected_namespaces(groups)
    in_messages = any(f.path.startswith("<") for g in groups for f in g.occurrences)
    local = [g for g in groups if g.local_only]
    steps = [
        (
            f"Write the replacements file (it holds every key whole, so keep it outside "
            f"the repository): `kimi-secret-scan history --write-replacements {file}`. "
            "It is created with mode 0600; delete it when you are done."
            if replacements_file is None
            else f"The replacements file is {file} (mode 0600; it holds every key whole: "
            "keep it outside the repository and delete it when you are done)."
        ),
        "Work on a fresh mirror clone, never on your working copy: "
        "`git clone --mirror <remote-url> purge.git && cd purge.git`. Refs that exist only "
        "in your clone (branches never pushed) are not in it: push them first or delete them.",
        "Rewrite every ref (git-filter-repo 2.47 or later): "
        f"`git filter-repo --sensitive-data-removal --replace-text {file} "
        f"--replace-message {file}`. Every key becomes {REPLACEMENT} in every file "
        "version"
        + (" and in the commit and tag messages that hold one" if in_messages else " and message")
        + "; filter-repo expires the reflogs and repacks.",
        "Check the result: `kimi-secret-scan history --repo .` must find nothing.",
        "Force-push every rewritten ref: `git push --force --mirror origin`"
        + (f" (affected here: {', '.join(sorted(spaces))})" if spaces else "")
        + ". Lift branch protection for the push; the hosting service rejects "
        "refs/pull/* (read-only), which is expected.",
        "Ask every collaborator to delete their clone and clone again: a pull or merge "
        "from an old clone brings the keys back. Close or re-create open pull requests.",
        "On the hosting side: the old commits stay reachable through cached pull-request "
        "refs and commit pages until the host removes them; on GitHub, contact GitHub "
        "Support with the first changed commits that filter-repo printed. Forks are not "
        "rewritten: ask their owners to delete them. CI caches and artifacts may hold "
        "copies too.",
    ]
    if local:
        listed = ", ".join(str(g.number) for g in local)
        steps.append(
            f"Key {listed}: only in this clone's stash or reflogs (an older stash entry, or "
            "a commit amended or reset away), so the fresh clone above does not hold it. "
            "Clear it here: `git stash clear && git reflog expire --expire=now --all && "
            "git gc --prune=now`. If it was ever pushed, it is leaked all the same."
        )
    return steps


USELESS_WITHOUT_REVOKE = (
    "Rewriting history without revoking is useless: anyone (and any bot) that fetched or "
    "mirrored the repository already has the keys. Revoke first, then purge."
)


def write_replacements(groups: list[KeyGroup], target: str, repo: Path) -> None:
    """Write `KEY==>REPLACEMENT` lines for git filter-repo: the one file with keys whole."""
    path = Path(target)
    absolute = path.absolute()
    root = repo.resolve()
    try:
        absolute.resolve().relative_to(root)
        inside = True
    except ValueError:
        inside = False
    if inside:
        raise ScanError(
            f"refusing to write {target} inside the scanned repository: it holds the keys "
            "whole; write it outside (for example ../kimi-replacements.txt)"
        )
    text = "".join(f"literal:{g.secret}==>{REPLACEMENT}\n" for g in groups)
    from kimi_secret_scan import outfile

    # Created 0600, never through a link nor into a git directory.
    outfile.write(absolute, text, whole_keys=True)


@dataclass
class HistoryReport:
    """What the history renderers receive: the scan, the groups, and what was read."""

    result: ScanResult
    groups: list[KeyGroup]
    blobs: int
    commits: int
    tags: int
    replacements_file: str | None = None
