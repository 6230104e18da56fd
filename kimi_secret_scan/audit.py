"""After a leak: findings grouped by distinct key, and the clean-up plan, in order.

The order matters. A key that reached a remote must be assumed copied, so it is revoked
and rotated first; purging history afterwards stops it from spreading further but never
un-leaks it. Rewriting history without revoking is therefore useless, and the plan says so.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from kimi_secret_scan import gate_limits, git, inert, purge_reach, remediation
from kimi_secret_scan.content import Content, Skipped
from kimi_secret_scan.errors import ScanError
from kimi_secret_scan.finding import Commit, Finding, KeyKind, Rule, redact
from kimi_secret_scan.progress import Progress
from kimi_secret_scan.redaction import redact_text
from kimi_secret_scan.result import ScanResult
from kimi_secret_scan.settings import DetectorSettings
from kimi_secret_scan.sources import hidden_refs, lfs, metadata
from kimi_secret_scan.sources.attribution import RefWalk
from kimi_secret_scan.sources.hidden_refs import Hidden
from kimi_secret_scan.sources.history import (
    SHALLOW,
    SHALLOW_ACCEPTED,
    HistorySource,
    Selection,
)
from kimi_secret_scan.verdict import Verdict

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
    # The ids of the container blobs (a zip, a tar.gz, ...) that hold the key inside: the
    # purge strips them, since no text replacement reaches a key in compressed bytes.
    container_blobs: list[str] = field(default_factory=list)
    # What --replace-text cannot reach (purge_reach.py): blob versions to strip by id
    # (id -> path), the LFS objects holding the key, refs naming a blob or tree holding it.
    unreached: dict[str, str] = field(default_factory=dict)
    lfs_objects: list[str] = field(default_factory=list)
    object_refs: dict[str, str] = field(default_factory=dict)  # ref -> the blob or tree
    # Spellings of the key other than the plain one, as the bytes hold them (escaped,
    # base64): written to the replacements file too.
    spellings: list[bytes] = field(default_factory=list)
    # The names (redacted) HEAD's tree still holds, of a key found in a file or folder name.
    head_names: list[str] = field(default_factory=list)

    @property
    def archives(self) -> list[str]:
        """The files of the repository (archives) whose members hold the key."""
        return list(dict.fromkeys(f.file for f in self.occurrences if f.member is not None))

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
        local = all(ref in _LOCAL_REFS or hidden_refs.is_hidden(ref) for ref in self.refs)
        return self.reflog_only or (bool(self.refs) and local)

    def shown(self, show_secrets: bool) -> str:
        return self.secret if show_secrets else self.redacted

    @property
    def verification(self) -> Verdict | None:
        """--verify's verdict: one per distinct key, so every occurrence carries the same."""
        return next((f.verification for f in self.occurrences if f.verification), None)

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
            "in_head": bool(self.head_paths or self.head_names),
            "head_paths": self.head_paths + self.head_names,
            "verification": self.verification.to_dict() if self.verification else None,
        }


def _date(date: str) -> dt.datetime:
    try:
        when = dt.datetime.fromisoformat(date)
    except ValueError:
        when = dt.datetime.max.replace(tzinfo=dt.UTC)
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when


def _when(
    finding: Finding, age: Mapping[str, int] | None = None
) -> tuple[int, int, dt.datetime, str, int]:
    """Oldest first: by the commit graph where the commit's place in it is known, else by
    date (commit and tag messages)."""
    if finding.commit is None or not finding.commit.date:
        return (1, 0, dt.datetime.max.replace(tzinfo=dt.UTC), finding.path, finding.line)
    graph = -age[finding.commit.sha] if age and finding.commit.sha in age else 0
    return (0, graph, _date(finding.commit.date), finding.path, finding.line)


def _ages(source: HistorySource, findings: list[Finding]) -> Mapping[str, int]:
    """Each finding commit's place in time (RefWalk.oldest_first: its ancestors first, then
    the earlier date), so that a key's first appearance is the commit that added it first
    (the commits that add a key and the commits whose messages hold one, ranked together);
    the attribution's topological order where the walk cannot say."""
    walk = source.ref_walk
    if walk is None:
        return source.commit_age
    dates = {
        f.commit.sha: _date(f.commit.date)
        for f in findings
        if f.commit is not None and f.commit.sha and f.commit.date
    }
    return walk.oldest_first(dates) or source.commit_age


_PLATFORM_KINDS = {KeyKind.PLATFORM_CN, KeyKind.PLATFORM_INTL, KeyKind.PLATFORM}


def _kind_of(kinds: set[str]) -> str:
    """The most specific kind the occurrences give; but one key seen both beside a Kimi Code
    endpoint and beside an Open Platform one is said as of unknown region (whose revoke
    step names both platform consoles and the Kimi Code one), not as a Kimi Code key whose
    step says it is not on the platform the other context sends it to."""
    if KeyKind.KIMI_CODE in kinds and kinds & _PLATFORM_KINDS:
        return KeyKind.PLATFORM
    if {KeyKind.PLATFORM_CN, KeyKind.PLATFORM_INTL} <= kinds:
        return KeyKind.PLATFORM  # both regions named: unknown, as --verify takes it
    return max(kinds, key=lambda k: _KIND_RANK.get(k, 0))


def group(findings: list[Finding], age: Mapping[str, int] | None = None) -> list[KeyGroup]:
    """One group per distinct key, oldest first appearance first."""
    by_key: dict[str, list[Finding]] = {}
    for f in findings:
        by_key.setdefault(f.secret_sha256, []).append(f)
    groups: list[KeyGroup] = []
    for sha, occurrences in by_key.items():
        occurrences.sort(key=lambda f: _when(f, age))
        kind = _kind_of({f.key_kind for f in occurrences})
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
    trees: dict[str, set[bytes]] | None = None
    for g in groups:
        refs: set[str] = set()
        for f in g.occurrences:
            if not f.commit and f.path.startswith("refs/"):
                refs.add(f.path)  # a blob no commit adds, located by the ref that tags it
            elif not f.commit and remediation.file_kind(f.file) not in _NOT_FILES:
                # In a tree a tag names, with no commit: located by that ref.
                trees = _tree_listings(repo) if trees is None else trees
                name = os.fsencode(f.file)
                refs.update(ref for ref, held in trees.items() if name in held)
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


_NOT_FILES = (remediation.MESSAGE, remediation.NAME)  # a message, identity or name


def _tree_listings(repo: Path) -> dict[str, set[bytes]]:
    """The refs naming a tree (directly or through an annotated tag; no commit), each with
    the paths it holds: where a file no commit adds is reachable from (`git tag t <tree>`)."""
    out = git.try_git(["for-each-ref", "--format=%(objecttype) %(*objecttype) %(refname)"], repo)
    listings: dict[str, set[bytes]] = {}
    for line in _lines(out or b""):
        kind, peeled, name = line.split(" ", 2)
        if "tree" in (kind, peeled):
            listing = git.try_git(["ls-tree", "-r", "-z", "--name-only", f"{name}^{{tree}}"], repo)
            listings[name] = set((listing or b"").split(b"\0"))
    return listings


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
            if ref in _LOCAL_REFS or ref.startswith("refs/remotes/") or hidden_refs.is_hidden(ref):
                continue  # this clone's own: not in a mirror of the remote
            parts = ref.split("/")
            spaces.add("/".join(parts[:2]) if len(parts) > 2 else ref)
    return spaces


GITHUB_SDR_DOCS = (
    "https://docs.github.com/en/authentication/keeping-your-account-and-data-secure/"
    "removing-sensitive-data-from-a-repository"
)
GITHUB_SUPPORT = "https://support.github.com/contact"
GITLAB_REMOVE_BLOBS = (
    "https://docs.gitlab.com/user/project/repository/repository_size/#remove-blobs"
)
GITLAB_CLEANUP = (
    "https://docs.gitlab.com/user/project/repository/repository_size/#clean-up-repository"
)
AFTER_A_LEAK_DOCS = (
    "docs/after-a-leak.md (https://github.com/kimi-secret-scan/kimi-secret-scan/blob/main/"
    "docs/after-a-leak.md)"
)


@dataclass
class PurgeTarget:
    """Where the purge happens: the repository audited, its remote, and the paths the plan
    prints, all absolute, so each command works pasted from any directory."""

    root: Path  # the work tree's top level, or a bare repository's directory
    bare: bool
    remote: str | None = None  # the remote's name (origin when there is one)
    url: str | None = None  # as configured
    local_remote: Path | None = None  # the remote's directory when it is on this machine
    local_work_tree: bool = False  # that directory is a repository with a work tree
    # Where the mirror and the replacements file go when the repository's own directory is
    # inside another work tree (a submodule, a clone inside a clone): above every one.
    outside: Path | None = None
    # The audit's own options that change what it reads (--max-file-size, --config, …): the
    # plan's `kimi-secret-scan history` commands carry them, so they read what it read.
    options: list[str] = field(default_factory=list)
    # The remote's other URLs, each another repository holding the same history: a second
    # push URL (`git push` writes every one) or a fetch URL pushes never reach (a read
    # mirror). (push?, its position in `git remote get-url [--push] --all`, the URL.)
    more_urls: list[tuple[bool, int, str]] = field(default_factory=list)

    @property
    def history(self) -> str:
        """`kimi-secret-scan history` with the audit's options, for the plan to print."""
        return " ".join(["kimi-secret-scan history", *(_q(o) for o in self.options)])

    @property
    def name(self) -> str:
        return self.root.name.removesuffix(".git") or "repository"

    @property
    def beside(self) -> Path:
        """The directory the plan's files and clones go in: next to the repository, unless
        that is in a work tree (the superproject's), where one `git add -A` commits them."""
        return self.outside or self.root.parent

    @property
    def mirror(self) -> Path:
        return self.beside / f"{self.name}-purge.git"

    @property
    def replacements(self) -> Path:
        return self.beside / f"{self.name}-kimi-replacements.txt"

    @property
    def blob_ids(self) -> Path:
        """The ids of the archive versions to strip (no key in it: ids only)."""
        return self.beside / f"{self.name}-kimi-blobs.txt"

    @property
    def host(self) -> str | None:
        """The host of a remote URL (`https://host/…`, `ssh://user@host/…`, `user@host:…`)."""
        url = self.url or ""
        if "://" in url:
            rest = url.split("://", 1)[1]
            return rest.split("/", 1)[0].rsplit("@", 1)[-1].split(":", 1)[0].lower() or None
        if ":" in url.split("/", 1)[0]:
            return url.split(":", 1)[0].rsplit("@", 1)[-1].lower()
        return None

    @property
    def server_path(self) -> str | None:
        url = self.url or ""
        if url.startswith("ssh://"):
            rest = url.split("://", 1)[1]
            return "/" + rest.split("/", 1)[1] if "/" in rest else None
        if self.host and "://" not in url:
            return url.split(":", 1)[1]
        return None


def purge_target(root: Path) -> PurgeTarget:
    """The audited repository and its remote (origin, else the first one), read with git."""
    target = _purge_target(root.absolute())
    from kimi_secret_scan import outfile

    parent = target.root.parent
    outside = outfile.outside_work_trees(parent)
    if outside != Path(os.path.realpath(parent)):
        target.outside = outside
    return target


def remote_urls(root: Path, remote: str, push: bool) -> list[str]:
    """`git remote get-url [--push] --all`: the URLs git fetches from or pushes to, in
    order, with url.*.insteadOf applied (what git really uses)."""
    args = ["remote", "get-url", *(["--push"] if push else []), "--all", remote]
    out = git.try_git(args, root) or b""
    return [u for u in out.decode("utf-8", "surrogateescape").splitlines() if u]


def _nowhere(root: Path, url: str) -> bool:
    """A local path (no scheme, not user@host:path) where nothing exists."""
    if "://" in url or ":" in url.split("/", 1)[0]:
        return False
    return not (root / url).exists()


def _purge_target(root: Path) -> PurgeTarget:
    bare = git.try_git(["rev-parse", "--is-bare-repository"], root) == b"true\n"
    names = _lines(git.try_git(["remote"], root) or b"")
    remote = "origin" if "origin" in names else (names[0] if names else None)
    if remote is None:
        return PurgeTarget(root, bare)
    # Where pushes go (a pushurl, every url when there are several), which is the
    # repository the force-push must rewrite; not the fetch URL alone.
    # A push URL naming no repository (`pushurl = no_push`, the idiom that disables
    # pushing) is left out: the fetch URL is then the one to rewrite.
    pushes = [u for u in remote_urls(root, remote, push=True) if not _nowhere(root, u)]
    fetches = remote_urls(root, remote, push=False)
    url = (pushes or fetches or [""])[0] or None
    target = PurgeTarget(root, bare, remote, url)
    target.more_urls = [(True, i, u) for i, u in enumerate(pushes) if i > 0]
    target.more_urls += [
        (False, i, u) for i, u in enumerate(fetches) if u not in pushes and u != url
    ]
    if url and target.host is None:
        # A path, or file://: the remote lives on this machine, and the plan can name it.
        local = Path(url.removeprefix("file://"))
        target.local_remote = local if local.is_absolute() else (root / local).resolve()
        target.url = str(target.local_remote)
        # A clone of another checkout: git refuses a push to its checked-out branch.
        answer = git.try_git(["rev-parse", "--is-bare-repository"], target.local_remote)
        target.local_work_tree = answer == b"false\n"
    return target


def _q(path: Path | str) -> str:
    return inert.shell_word(str(path))  # a path that is not UTF-8 names its bytes


def _server_steps(target: PurgeTarget) -> list[list[str]]:
    """Unreachable objects stay on the server until it prunes them: what each host needs."""
    host = target.host
    if target.local_remote is not None:
        remote = _q(target.local_remote)
        return [
            [
                "On the server: the old commits are unreachable now but still stored (a "
                "force-push deletes nothing); prune them where the remote lives, then check it"
                + (
                    " (it is a checkout: its stash entries are kept; one made on the old "
                    "commits keeps them, and the check then finds the key: drop that entry "
                    "there)"
                    if target.local_work_tree
                    else ""
                )
                + ":",
                f"$ {prune_for(target.local_remote)}",
                f"$ {target.history} --repo {remote}",
            ]
        ]
    if host in ("github.com", "www.github.com"):
        return [
            [
                "On GitHub: the old commits stay readable through pull-request refs "
                "(refs/pull/*, which no push can change), in forks, and in cached views, "
                "until GitHub removes them. Ask GitHub Support "
                f'({GITHUB_SUPPORT}, "removing sensitive data") with the repository, the '
                "pull requests that hold the keys and the first changed commits filter-repo "
                f"printed; see {GITHUB_SDR_DOCS}. Forks are not rewritten: ask their owners "
                f"to delete them. Details: {AFTER_A_LEAK_DOCS}."
            ]
        ]
    if host == "gitlab.com" or (host or "").startswith("gitlab."):
        return [
            [
                "On GitLab: merge-request refs (refs/merge-requests/*) and keep-around refs "
                "keep the old commits. Upload filter-repo's commit map, "
                f"{target.mirror / 'filter-repo' / 'commit-map'}, in Settings → Repository → "
                f"Repository cleanup ({GITLAB_CLEANUP}), which removes those refs and runs "
                f"housekeeping; blobs still listed can be removed by id ({GITLAB_REMOVE_BLOBS}). "
                f"Details: {AFTER_A_LEAK_DOCS}."
            ]
        ]
    where = target.server_path or "the repository's directory"
    return [
        [
            f"On the server ({host or 'the remote'}): the old commits are unreachable but "
            f"still stored until it prunes them. Where the repository lives ({where}), run "
            "`git reflog expire --expire=now --all && git gc --prune=now`, or ask the "
            f"server's administrators to. Details: {AFTER_A_LEAK_DOCS}."
        ]
    ]


def _push_to_a_work_tree(target: PurgeTarget, mirror: str) -> list[str]:
    """Step e when the remote is a repository with a work tree (cloned from another
    checkout): a plain push is refused for its checked-out branch ("branch is currently
    checked out"). receive.denyCurrentBranch=updateInstead, for this push only, updates
    that branch and its work tree together, and refuses while the work tree has changes."""
    where = _q(target.local_remote or "")
    return [
        f"Force-push every rewritten ref. The remote, {where}, is a repository with a work "
        "tree, whose checked-out branch git refuses to overwrite by a plain push: this push "
        "tells it to update that branch and its files too (commit or set aside any "
        "uncommitted change there first, or the push is refused; or rewrite it in place "
        "as this plan rewrites the mirror):",
        f"$ git -C {mirror} push --force --mirror --receive-pack='git -c "
        "receive.denyCurrentBranch=updateInstead receive-pack' origin",
    ]


def _clone_source(target: PurgeTarget) -> str:
    """What the plan's clone commands name: the remote's URL, unless it carries a
    credential (a CI job's `https://gitlab-ci-token:TOKEN@…`, a token kept in the URL),
    which a printed plan would put in a job log or a saved report. Then the command asks
    this clone for the URL when it runs, and the token works without being shown."""
    from kimi_secret_scan.org.targets import without_credentials

    if target.url and target.remote and without_credentials(target.url) != target.url:
        return f'"$(git -C {_q(target.root)} remote get-url --push {_q(target.remote)})"'
    return _q(target.url or target.root)


def purge_steps(groups: list[KeyGroup], target: PurgeTarget) -> list[list[str]]:
    """History purge, to run once every key above is revoked. Each step is a list of lines;
    `$ ` lines are commands, with absolute paths, runnable as printed from anywhere."""
    file = _q(target.replacements)
    mirror = _q(target.mirror)
    # In a submodule or a clone inside a clone, "next to it" is the outer work tree.
    beside = (
        "next to this repository"
        if target.outside is None
        else f"in {target.outside}, outside the work tree this repository sits in"
    )
    spaces = _affected_namespaces(groups)
    in_messages = any(f.path.startswith("<") for g in groups for f in g.occurrences)
    local = [g for g in groups if g.local_only]
    source = _clone_source(target)
    # A key inside an archive is in compressed (or length-bound) bytes that --replace-text
    # cannot reach (the mirror's audit would still find it): the archive versions that hold
    # one are stripped by blob id instead, wherever and under whatever name they are.
    strip = sorted({oid for g in groups for oid in g.container_blobs})
    archives = list(dict.fromkeys(a for g in groups if g.container_blobs for a in g.archives))
    rewrite = [
        "Rewrite every ref (git-filter-repo 2.47 or later; on PyPI as git-filter-repo). "
        f"Every key becomes {REPLACEMENT} in every file version"
        + (" and in the commit and tag messages that hold one" if in_messages else "")
        + (
            f". A key inside an archive ({', '.join(archives) or 'a container'}) is in "
            "compressed bytes no replacement reaches: the first command lists the "
            f"{len(strip)} archive version(s) that hold one, and filter-repo removes them "
            "from every commit (the archive built again without the key, committed since, is "
            "another version and stays)"
            if strip
            else ""
        )
        + purge_reach.rewrite_notes(groups)
        + "; filter-repo expires the mirror's reflogs and repacks it:",
    ]
    rewritten = purge_reach.rewrite_commands(groups, target, target.mirror, strip)
    rewrite += [f"$ {c}" for c in rewritten]
    steps = [
        [
            "Write the replacements file, outside the repository"
            + ("" if target.outside is None else " and every work tree around it")
            + " (it holds every key whole; mode 0600):",
            f"$ {target.history} --repo {_q(target.root)} --write-replacements {file}",
        ],
        [
            (
                f"Mirror-clone the remote ({target.remote}) {beside}, never inside a "
                "working copy. Refs that exist only here (branches never pushed) are not in "
                "it: push them first, or delete them:"
                if target.remote
                else f"This repository has no remote: rewrite a mirror clone of it, {beside}:"
            ),
            f"$ git clone --mirror {source} {mirror}",
            # A clone of a local checkout copies its refs/stash, and filter-repo refuses a
            # repository with one ("has stashed changes"): the mirror is a copy, drop it there.
            *([f"$ git -C {mirror} update-ref -d refs/stash"] if not target.host else []),
        ],
        rewrite,
        [
            "Check the rewritten mirror: it must find nothing (exit 0):",
            f"$ {target.history} --repo {mirror}",
        ],
    ]
    if target.remote:
        steps.append(
            [
                "Force-push every rewritten ref"
                + (f" (affected here: {', '.join(sorted(spaces))})" if spaces else "")
                + ". Lift branch protection for the push; a host rejects refs/pull/* "
                "(read-only), which is expected:",
                # The mirror's own name for the remote: `git clone` names it origin (and
                # filter-repo wants a fresh clone's origin), whatever this clone calls it.
                f"$ git -C {mirror} push --force --mirror origin",
            ]
            if not target.local_work_tree
            else _push_to_a_work_tree(target, mirror)
        )
        steps.extend(_server_steps(target))
        steps.extend(purge_reach.lfs_steps(groups, target))
        steps.append(
            [
                "Replace every clone, this one included: each still holds the old commits, "
                "and a pull or push from it brings the keys back. Clone again (move "
                "uncommitted work over by hand), and ask every collaborator to do the same; "
                "close or re-create open pull requests:",
                f"$ git clone {source} {_q(target.beside / (target.name + '-clean'))}",
            ]
        )
    else:
        steps.append(
            [
                f"Replace this repository with a clone of the mirror (clone {mirror} again "
                "where this one is, and move uncommitted work over by hand)."
            ]
        )
    steps.extend(purge_reach.submodule_steps(target))
    steps.extend(purge_reach.more_url_steps(groups, target, strip))
    steps.extend(purge_reach.other_remote_steps(groups, target, strip))
    stripping = purge_reach.strips(groups, strip)
    steps.append(
        [
            "CI caches, build artifacts and logs may hold copies too: delete them. Then "
            "delete the replacements file (it holds the keys) and the mirror:",
            f"$ rm -f {file}{' ' + _q(target.blob_ids) if stripping else ''} && rm -rf {mirror}",
        ]
    )
    if local:
        steps.append(_local_clear_step(local, target.root))
    return steps


def _stash_entries(root: Path) -> list[tuple[str, set[str]]]:
    """This clone's stash, stash@{0} first: each entry's commit, and the commits it is made
    of (itself, its index and its untracked files), which the scan names as a key's commit."""
    out = git.try_git(["log", "-g", "--format=%H %P", "refs/stash", "--"], root)
    entries: list[tuple[str, set[str]]] = []
    for line in _lines(out or b""):
        ids = line.split()
        # Its first parent is the commit it was made on: a branch's, not the entry's own.
        entries.append((ids[0], {ids[0], *ids[2:]}))
    return entries


def _with_reflog(root: Path) -> list[str]:
    """HEAD and the branches, remote-tracking branches and notes refs that have a reflog:
    `git reflog expire` fails (and the clean-up's && chain stops) on a ref without one."""
    listed = git.try_git(
        ["for-each-ref", "--format=%(refname)", "refs/heads", "refs/remotes", "refs/notes"], root
    )
    refs = ["HEAD", *_lines(listed or b"")]
    asked = "".join(f"{ref}@{{0}}\n" for ref in refs).encode()
    answers = _lines(git.try_git(["cat-file", "--batch-check"], root, input=asked) or b"")
    if len(answers) != len(refs):
        return refs
    logged = zip(refs, answers, strict=True)
    return [ref for ref, answer in logged if not answer.endswith(" missing")]


def _local_clear_step(local: list[KeyGroup], root: Path) -> list[str]:
    """The clean-up of keys only in this clone: the stash entries that hold one dropped,
    each by its position checked against its id (a stash made or dropped since the scan moves
    the positions: the check then fails and drops nothing), never the whole stash; reflog
    entries of commits no branch holds expired for every ref but the stash (whose older
    entries git counts as unreachable too); then the objects pruned."""
    repo = _q(root)
    commits = {f.commit.sha for g in local for f in g.occurrences if f.commit and f.commit.sha}
    entries = _stash_entries(root)
    drop = [(n, entry) for n, (entry, made_of) in enumerate(entries) if made_of & commits]
    in_stash = set().union(*(entries[n][1] for n, _ in drop))
    elsewhere = commits - in_stash
    commands: list[str] = []
    # The highest position first: dropping one renumbers only the entries above it.
    for n, entry in reversed(drop):
        at = _q(f"stash@{{{n}}}")
        commands.append(
            f'test "$(git -C {repo} rev-parse -q --verify {at})" = {entry} && '
            f"git -C {repo} stash drop -q {at}"
        )
    said = []
    if drop:
        said.append(
            f"drops the stash {'entry that holds' if len(drop) == 1 else 'entries that hold'} "
            "a key ("
            + ", ".join(f"stash@{{{n}}}" for n, _ in drop)
            + "; the other entries stay; if you stashed or dropped since this scan, the check "
            "fails and nothing is dropped: run history again)"
        )
    if elsewhere or not drop:
        refs = _with_reflog(root)
        if refs:
            commands.append(
                f"git -C {repo} reflog expire --expire-unreachable=now "
                + " ".join(_q(r) for r in refs)
            )
        said.append(
            "expires the reflog entries of every commit no branch holds any more (amended or "
            "reset away: their undo history, this key's and any other's; the stash is kept)"
        )
    commands.append(f"git -C {repo} gc --prune=now")
    listed = ", ".join(str(g.number) for g in local)
    return [
        f"Key {listed}: only in this clone's stash or reflogs (a stash entry, or a commit "
        "amended or reset away), so the mirror does not hold it. If you keep this clone, clear "
        "it here (if it was ever pushed, it is leaked all the same). This "
        + " and ".join(said)
        + ", then deletes for good every object nothing refers to (whatever you dropped or "
        "reset away before and might still have recovered):",
        "$ " + " && ".join(commands),
    ]


USELESS_WITHOUT_REVOKE = (
    "Rewriting history without revoking is useless: anyone (and any bot) that fetched or "
    "mirrored the repository already has the keys. Revoke first, then purge."
)


def write_replacements(groups: list[KeyGroup], target: str, repo: Path) -> Path:
    """Write `KEY==>REPLACEMENT` lines for git filter-repo: the one file with keys whole.
    A text file: one line per key, each ending in a newline. Returns its absolute path."""
    path = Path(target)
    absolute = Path(os.path.abspath(path))  # printed: no `sub/../..` in it
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
    from kimi_secret_scan import outfile

    # Any other work tree too (the superproject around a submodule, the clone a clone sits
    # in, an unrelated checkout): there the file is one `git add -A` from being committed.
    around = outfile.work_tree_around(absolute.parent)
    if around is not None:
        beside = outfile.outside_work_trees(repo.resolve().parent)
        raise ScanError(
            f"refusing to write {target} inside the git work tree {around}: it holds the keys "
            "whole, and there it is one `git add -A` from being committed; write it outside "
            f"every work tree (for example {beside / 'kimi-replacements.txt'})"
        )
    text = "".join(f"literal:{g.secret}==>{REPLACEMENT}\n" for g in groups)
    text += purge_reach.spelling_lines(groups)

    # Created 0600, never through a link nor into a git directory.
    outfile.write(absolute, text, whole_keys=True)
    return absolute


@dataclass
class HistoryReport:
    """What the history renderers receive: the scan, the groups, and what was read."""

    result: ScanResult
    groups: list[KeyGroup]
    blobs: int
    commits: int
    tags: int
    target: PurgeTarget | None = None  # None: only the repository is known (tests)


# scan(mode, scope, items): ScanOptions.scan, the pipeline with the configured filters.
Scanner = Callable[[str, str, Iterable[Content | Skipped]], ScanResult]


def run_history(
    root: Path,
    selection: Selection,
    scanner: Scanner,
    settings: DetectorSettings,
    max_file_size: int,
    meter: Progress | None = None,
    allow_shallow: bool = False,
    allow_missing_lfs: bool = False,
    before_grouping: Callable[[ScanResult], None] | None = None,
    jobs: int | None = None,
    size_limit_accepted: bool = False,
    head_ref: str = "HEAD",
) -> HistoryReport:
    """The history audit of one repository: scan every reachable object, then group by key
    and attach refs and HEAD paths. Shared by `history` and the organisation audit, so both
    write the same report. `before_grouping` sees the findings first (--verify: each group
    then shows its key's verdict). A blob over a size limit nobody chose (the default) is
    unread, as in the gates: the audit is then incomplete (exit 2 when nothing was found);
    `size_limit_accepted` (a --max-file-size or `max-file-size` the user set) accepts it.
    `head_ref`: the ref whose tree "still holds" a key (the org audit's inferred default branch
    when HEAD names a branch that does not exist)."""
    # What every ref and reflog leaves out (FETCH_HEAD, other worktrees' refs/bisect/*, …)
    # is walked with them, and located by its name.
    hidden = hidden_refs.find(root, selection.reflog) if not selection.revs else Hidden()
    selection = replace(selection, extra=hidden.ids)
    source = HistorySource(root, selection, settings, max_file_size, meter, jobs)
    source.hidden = hidden
    source.head = head_ref
    every = not (selection.revs or selection.since) and selection.reflog
    # The purge plan's target, and in a bare repository the count of stored objects,
    # asked while the history is read rather than after it.
    targets: list[PurgeTarget] = []
    stored: list[git.Pending] = []

    def beside() -> None:
        targets.append(purge_target(root))
        if targets[0].bare and every:
            stored.append(git.Pending(_COUNTED, root))

    aside = threading.Thread(target=beside, daemon=True)
    source.aside.append(aside.start)
    try:
        # Names and identities too, as the gates read them for a push: the paths and
        # identities gathered while the objects were read, the refs asked after them.
        names = metadata.history_names(root, selection.rev_args(), source.names)
        items = gate_limits.size_skips_unread(
            lfs.accepting(
                itertools.chain(hidden.skipped, source.items(), names, hidden.names()),
                allow_missing_lfs,
            ),
            size_limit_accepted,
        )
        result = scanner("history", selection.describe(), items)
    finally:
        if meter is not None:
            meter.done()
    if before_grouping is not None:
        before_grouping(result)
    stats = source.stats
    result.stats.files = stats.blobs
    result.stats.bytes = stats.bytes
    result.stats.commits = stats.commits
    groups = group(result.findings, _ages(source, result.findings))
    in_head_names = _locate_path_names(
        groups, root, selection.rev_args(), source.names.paths, head_ref
    )
    attach_refs(groups, root, source.ref_walk)
    head = source.head_paths()
    in_containers: dict[str, list[str]] = {}
    for oid in sorted(source.container_blobs):
        for sha in source.blob_keys.get(oid, ()):
            in_containers.setdefault(sha, []).append(oid)
    for g in groups:
        g.head_paths = sorted(head.get(g.sha256, []))
        g.container_blobs = in_containers.get(g.sha256, [])
        g.head_names = in_head_names.get(g.sha256, [])
    purge_reach.attach(
        groups,
        root,
        source.blob_keys,
        source.blob_path,
        source.container_blobs,
        settings,
        source.ref_walk.ends if source.ref_walk is not None else None,
        source.big_blobs,
    )
    skipped = result.stats.skipped
    for i, item in enumerate(skipped):
        if item.path != SHALLOW or item.unreadable:
            continue
        if allow_shallow:
            # Accepted: say so, rather than telling the user to pass what they passed.
            skipped[i] = replace(item, reason=SHALLOW_ACCEPTED)
        else:
            # History before the boundary was not read: a clean verdict would be a silent pass.
            skipped[i] = replace(item, unreadable=True)
    if aside.ident is not None:
        aside.join()
    target = targets[0] if targets else purge_target(root)
    if target.bare and every:
        note = unreachable_note(target.root, source.names.listed, stored[0] if stored else None)
        if note is not None:
            skipped.append(note)
    return HistoryReport(result, groups, stats.blobs, stats.commits, stats.tags, target)


def _locate_path_names(
    groups: list[KeyGroup],
    root: Path,
    rev_args: list[str],
    paths: set[bytes] | None,
    head: str = "HEAD",
) -> dict[str, list[str]]:
    """A key in a file or folder name is found in the list of every path name (one piece of
    content, `path names`, a name a line), which no commit carries: each such finding is
    given the oldest commit that added the name, so that its refs are found as for any
    commit; returns, per key, the names (redacted) that HEAD still holds."""
    if paths is None:
        return {}
    names = sorted(paths)  # the lines of `path names`, as metadata.history_names wrote them
    in_head: dict[str, list[str]] = {}
    for g in groups:
        for i, f in enumerate(g.occurrences):
            if f.path != "path names" or f.commit is not None:
                continue
            if not 0 < f.line <= len(names):
                continue
            name = os.fsdecode(names[f.line - 1])
            literal = f":(literal){name}"
            added = ["log", "--reverse", "--format=%H%x00%an%x00%ae%x00%aI", "--diff-filter=A"]
            out = git.try_git([*added, *rev_args, "--", literal], root)
            first = _lines(out or b"")[:1]
            if first and first[0].count("\0") == 3:
                sha, author, email, date = first[0].split("\0")
                g.occurrences[i] = replace(f, commit=Commit(sha, author, email, date))
            if git.try_git(["cat-file", "-e", f"{head}:{name}"], root) is not None:
                in_head.setdefault(g.sha256, []).append(redact_text(name))
    return in_head


UNREACHABLE = "unreachable objects"


def prune_keeping_stash(repo: Path) -> str:
    """prune_command for a repository with a work tree (someone's checkout): `--all` would
    expire its stash reflog, which is where every stash entry but the newest lives (their
    work, dropped). Every other ref's reflog is expired, each only if it has one (a ref
    without one fails `reflog expire`)."""
    r = _q(repo)
    return (
        f"for r in HEAD $(git -C {r} for-each-ref --format='%(refname)' refs/heads refs/remotes "
        f'refs/notes); do if git -C {r} reflog exists "$r"; then git -C {r} reflog expire '
        f'--expire=now "$r"; fi; done && git -C {r} gc --prune=now'
    )


def prune_for(repo: Path) -> str:
    """The prune a repository on this machine needs: its stash kept when it has a work tree."""
    if git.try_git(["rev-parse", "--is-bare-repository"], repo) == b"false\n":
        return prune_keeping_stash(repo)
    return prune_command(repo)


def prune_command(repo: Path) -> str:
    """What makes a bare repository forget what no ref or reflog reaches (a server after a
    force-push): the plan prints it, and so does the note below."""
    return f"git -C {_q(repo)} reflog expire --expire=now --all && git -C {_q(repo)} gc --prune=now"


_STORED = ["cat-file", "--batch-all-objects", "--batch-check=%(objectname)"]
# How many objects the repository's own packs and loose files hold at most (duplicates
# counted twice): read from the packs' headers, ~1 ms against ~40 ms of CPU for _STORED's
# list of every object (psf/requests' 46,000).
_COUNTED = ["count-objects", "-v"]


def _at_most(counted: bytes) -> int | None:
    """count-objects' loose and packed objects; None when objects are stored elsewhere too
    (alternates), which it does not count."""
    total = 0
    for line in counted.splitlines():
        name, _, value = line.partition(b": ")
        if name == b"alternate":
            return None
        if name in (b"count", b"in-pack"):
            if not value.strip().isdigit():
                return None
            total += int(value)
    return total


def unreachable_note(
    repo: Path, reachable: int, counted: git.Pending | None = None
) -> Skipped | None:
    """In a bare repository (a server), objects that no ref or reflog reaches are what a
    force-push leaves behind: not history, so not scanned, but still stored and served to
    anyone who asks for them by id. Said, with the prune, so that an audit of a server
    before the prune never reads as "the key is gone". Every object is listed (_STORED)
    only when count-objects cannot rule them out."""
    bound = counted.answer() if counted is not None else git.try_git(_COUNTED, repo)
    most = _at_most(bound) if bound is not None else None
    if most is not None and most <= reachable:
        return None
    out = git.try_git(_STORED, repo)
    if out is None:
        return None
    extra = out.count(b"\n") - reachable
    if extra <= 0:
        return None
    return Skipped(
        UNREACHABLE,
        f"{extra} objects are stored here that no ref or reflog reaches (left by a force-push "
        "or a rewrite), not scanned; a server still serves them to anyone who asks by id. "
        f"Prune them: {prune_command(repo)}",
    )
