"""Commits of a range, and the blobs each of them adds.

Which commits: `git log <include> --not <exclude>`, oldest first, so a range is named the
way git names it (`HEAD --not BASE`, or `TIP --not --remotes=origin` for a new branch).

What a commit adds: every blob whose path changed against *each* of its parents
(`git diff-tree` once per parent, rename-aware). A merge's own changes are therefore
scanned, conflict resolutions and evil merges included, while content that merely arrives
from one side of the merge is not (that side's commits carry it).

What counts: each new blob is scanned whole, and a key is reported only when no parent's
version of that path (the rename source for a renamed file) already held it. Keys are
compared, not lines: a key moved within a file, or a file renamed, adds nothing; a key
copied into another file does. Deleting a key adds nothing. A parent's version counts
only when it is outside the range, or where the scan reported the key in it (scan.py
follows Content.inherits): a key first committed where an exclude hid it, or in a file
over the size limit, is reported where the range moves it. The names of the paths a
commit adds are yielded too (sources/metadata.py yields the rest of what a push publishes).

Reading is two streams of `git cat-file --batch`: the new blobs, then only for the few
blobs that hold a candidate key, the parents' versions to compare against. An object that
cannot be read is skipped as unread: the rest is scanned, and the run is incomplete (exit 2,
or 1 with findings, saying so): a blob left out could hide a key.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from kimi_secret_scan import git
from kimi_secret_scan.content import Content, Skipped
from kimi_secret_scan.errors import ScanError
from kimi_secret_scan.finding import Commit
from kimi_secret_scan.settings import DEFAULT_SETTINGS, DetectorSettings
from kimi_secret_scan.sources import metadata
from kimi_secret_scan.windows import WINDOW, detect_all

_SUBMODULE = "160000"
_SEP = "\x1f"
_LOG_FORMAT = "%H %P%x1f%an%x1f%ae%x1f%aI%x1e"


def is_zero(sha: str) -> bool:
    """The all-zero id git uses for 'no commit' (a new or deleted ref)."""
    return bool(sha) and set(sha) == {"0"}


class ShallowHistory(ScanError):
    """The range reaches past the history this clone has: scanning it would be wrong."""


@dataclass(frozen=True)
class RevRange:
    """The commits reachable from `include` and from none of `exclude`.

    `exclude` holds revisions or git's ref-set options (`--remotes=origin`, `--all`).
    """

    include: tuple[str, ...]
    exclude: tuple[str, ...] = ()


@dataclass(frozen=True)
class RangeCommit:
    commit: Commit
    parents: tuple[str, ...]


@dataclass(frozen=True)
class _Change:
    status: str
    new_mode: str
    old_id: str
    new_id: str
    path: str
    # Where old_id was: the rename or copy source, else `path`.
    old_path: str


@dataclass(frozen=True)
class _Added:
    """A blob a commit adds at a path, and the parents' blobs it is compared with."""

    commit: Commit
    path: str
    blob: str
    # The parents' versions it is compared with: (blob id, path), the path being the
    # rename or copy source for a renamed or copied file.
    baseline: tuple[tuple[str, str], ...]
    # The path is a name no parent had (added, or the target of a rename or copy).
    new_name: bool = True


@dataclass(frozen=True)
class _NewName:
    """A path name a commit creates that holds no blob (a submodule's), or a directory's
    (`directory`: named only when no other name of the commit starts with it)."""

    commit: Commit
    path: str
    directory: bool = False


_AMBIGUOUS = re.compile(r"refname '(.*)' is ambiguous")
_FULL_ID = re.compile(r"[0-9a-fA-F]{40}|[0-9a-fA-F]{64}")
# A full ref name at the start of a revision (`refs/remotes/origin/main~2`): a ref name
# holds none of ~ ^ : and no `@{`.
_FULL_REF = re.compile(r"refs/(?:[^~^:@]|@(?!\{))+")


def resolve_commit(cwd: Path, rev: str) -> str | None:
    """The full id of the commit `rev` names, or None when this repository lacks it.

    A name git finds ambiguous is refused (ScanError), never resolved by git's order: a
    pusher who also pushes a tag `origin/main` at their own tip would otherwise turn
    `range origin/main..HEAD` into an empty range (refs/tags/ comes before refs/remotes/).
    Three names keep git's answer, which no push can change: HEAD (the repository's own HEAD
    file comes first), a full object id (the object comes before any ref so named) and a
    full ref name (`refs/remotes/origin/main`: the ref itself comes first). A full ref name
    must exist as such: when it does not, git would take a pushed tag of that name
    (refs/tags/refs/remotes/origin/main) without a word.
    """
    if not rev or rev.startswith("-"):
        return None  # never let a revision be read as an option
    full = _FULL_REF.match(rev)
    if full is not None and git.try_git(["show-ref", "--verify", "-q", full.group()], cwd) is None:
        return None
    # Not --quiet: it silences the warning. Set here, so no config turns the warning off.
    out, errors = git.try_git_warnings(
        ["-c", "core.warnAmbiguousRefs=true", "rev-parse", "--verify", f"{rev}^{{commit}}"],
        cwd,
    )
    if out is None:
        return None
    for line in errors:
        match = _AMBIGUOUS.search(line)
        if match is None:
            continue
        name = match.group(1)
        if name != "HEAD" and not _FULL_ID.fullmatch(name) and not name.startswith("refs/"):
            raise ambiguous_name_error(cwd, rev, name)
    return out.decode().strip()


def ambiguous_name_error(cwd: Path, rev: str, name: str) -> ScanError:
    """`rev` uses `name`, which more than one ref matches: which ones, and how to choose."""
    # git's own order of the places a short name is looked for (git help revisions).
    places = [f"refs/{name}", *(f"refs/{kind}/{name}" for kind in ("tags", "heads", "remotes"))]
    places.append(f"refs/remotes/{name}/HEAD")
    out = git.try_git(["for-each-ref", "--format=%(refname)", *places], cwd) or b""
    listed = set(out.decode("utf-8", "surrogateescape").splitlines())
    found = [place for place in places if place in listed]
    named = " and ".join(found) if len(found) > 1 else "more than one ref"
    example = next((place for place in found if place.startswith("refs/remotes/")), None)
    example = example or (found[0] if found else f"refs/remotes/{name}")
    where = name if rev == name else f"{name} (in {rev})"
    return ScanError(
        f"the name {where} is ambiguous: it names {named}, and git would take the first, "
        "which anyone who can push a tag or a branch can choose; name the ref in full "
        f"(for example {example}) and run again"
    )


def missing_commit_error(cwd: Path, rev: str, what: str) -> ScanError:
    """Why `rev` cannot be scanned from, and how to fix it (a shallow clone, usually)."""
    if rev == "HEAD" and not git.has_commit(cwd):
        branch = git.try_git(["symbolic-ref", "-q", "--short", "HEAD"], cwd)
        name = branch.decode("utf-8", "replace").strip() if branch else "HEAD"
        return ScanError(
            f"HEAD is on {name}, which has no commits yet: there are no commits to scan; "
            "commit first, or name the commits to scan"
        )
    if is_shallow(cwd):
        return ScanError(
            f"the {what} {rev} is not in this clone, which is shallow, so the commits to scan "
            "cannot be worked out; fetch the whole history (`fetch-depth: 0` for "
            "actions/checkout, `GIT_DEPTH: 0` on GitLab), or here: "
            f"`{fetch_hint(cwd, rev, shallow=True)}`; then run again"
        )
    return ScanError(
        f"the {what} {rev} is not a commit in this repository; fetch it "
        f"(`{fetch_hint(cwd, rev, shallow=False)}`) and run again"
    )


def fetch_hint(cwd: Path, rev: str, shallow: bool) -> str:
    """A `git fetch` that brings `rev` into this clone, tested as printed (issue 12).

    A remote-tracking name (`origin/main`) is fetched into its own ref, which a single-branch
    clone would not update otherwise. In a shallow clone, fetching the base alone does not
    connect it to HEAD (the boundary commit stays parentless): `HEAD~N` needs N more
    commits (`--deepen=N`), anything else the whole history (`--unshallow`).
    """
    out = git.try_git(["remote"], cwd) or b""
    remotes = out.decode("utf-8", "surrogateescape").split()
    remote = "origin" if "origin" in remotes or not remotes else remotes[0]
    unshallow = "--unshallow " if shallow else ""
    for name in sorted(remotes, key=len, reverse=True):
        for prefix in (f"refs/remotes/{name}/", f"{name}/"):
            branch = rev[len(prefix) :] if rev.startswith(prefix) else ""
            if branch and not branch.startswith("-"):
                spec = shlex.quote(f"{branch}:refs/remotes/{name}/{branch}")
                return f"git fetch {unshallow}{shlex.quote(name)} {spec}"
    if shallow:
        back = re.fullmatch(r"HEAD(?:~(\d*)|(\^+))", rev)
        if back:
            depth = int(back.group(1) or 1) if back.group(2) is None else len(back.group(2))
            return f"git fetch --deepen={depth}"
        return "git fetch --unshallow"
    return f"git fetch {shlex.quote(remote)} {shlex.quote(rev)}"


def _hint(cwd: Path) -> str:
    """Why an object may be absent: a partial clone, else a damaged repository."""
    if git.is_partial_clone(cwd):
        return f" ({partial_clone_hint(cwd)})"
    return " (missing or corrupt; run `git fsck`)"


def partial_clone_hint(cwd: Path) -> str:
    """A partial clone's absent objects, named as such, with the command that fetches them
    (git 2.39: `--refetch` alone re-applies the clone's filter and fetches no blob)."""
    remote = git.promisor_remote(cwd) or "origin"
    return (
        "a promisor object of this partial clone, never downloaded; fetch every object "
        f"with `git fetch --refetch --no-filter {remote}` and run again"
    )


def is_shallow(cwd: Path) -> bool:
    out = git.try_git(["rev-parse", "--is-shallow-repository"], cwd)
    return out is not None and out.strip() == b"true"


def _shallow_boundary(cwd: Path) -> set[str]:
    if not is_shallow(cwd):
        return set()
    out = git.run_git(["rev-parse", "--git-path", "shallow"], cwd)
    path = out.decode("utf-8", "surrogateescape").removesuffix("\n")
    try:
        text = (cwd / path).read_text(encoding="ascii")
    except OSError:
        return set()
    return {line.strip() for line in text.splitlines() if line.strip()}


def list_commits(cwd: Path, rev_range: RevRange) -> list[RangeCommit]:
    """The range's commits, parents before children.

    Raises ShallowHistory when a commit of the range is a shallow clone's cut-off point:
    its real parents are missing, so everything in it would look newly added.
    """
    if not rev_range.include:
        return []
    out = git.run_git(
        [
            "-c",
            "log.showSignature=false",
            "log",
            "--no-color",
            "--topo-order",
            "--reverse",
            f"--format={_LOG_FORMAT}",
            *rev_range.include,
            "--not",
            *rev_range.exclude,
            "--",
        ],
        cwd,
    )
    commits: list[RangeCommit] = []
    for record in out.decode("utf-8", "surrogateescape").split("\x1e"):
        record = record.strip("\n")
        if not record:
            continue
        ids, author, email, date = record.split(_SEP)
        sha, *parents = ids.split()
        commits.append(
            RangeCommit(Commit(sha, author, email, date, tuple(parents)), tuple(parents))
        )
    boundary = _shallow_boundary(cwd)
    for item in commits:
        if item.commit.sha in boundary:
            raise ShallowHistory(
                f"this is a shallow clone and its history stops at {item.commit.sha[:12]}, "
                "inside the range to scan, so its parents are missing; fetch the whole "
                "history (`git fetch --unshallow`, or `fetch-depth: 0` for actions/checkout) "
                "and run again"
            )
    return commits


def _parse_diff_tree(raw: bytes) -> list[tuple[str, list[_Change]]]:
    """`diff-tree -z --always --stdin` output as (commit id, changes) blocks."""
    blocks: list[tuple[str, list[_Change]]] = []
    fields = raw.split(b"\0")
    i = 0
    while i < len(fields):
        field = fields[i]
        if not field.strip():
            i += 1
            continue
        if not field.startswith(b":"):
            blocks.append((field.decode().strip(), []))
            i += 1
            continue
        _old_mode, new_mode, old_id, new_id, status = field[1:].decode().split()[:5]
        if status[0] in "RC":
            old_path, path = fields[i + 1], fields[i + 2]
            i += 3
        else:
            old_path = path = fields[i + 1]
            i += 2
        if not blocks:
            raise ScanError("unexpected output from git diff-tree (no commit header)")
        blocks[-1][1].append(
            _Change(
                status[0],
                new_mode,
                old_id,
                new_id,
                path.decode("utf-8", "surrogateescape"),
                old_path.decode("utf-8", "surrogateescape"),
            )
        )
    return blocks


# -t: a row for each tree too. An empty directory (a hand-made `040000 tree 4b825dc…` entry)
# holds no file, so without it its name, published with the commit, had no row at all.
_DIFF_TREE = ["diff-tree", "--stdin", "-r", "-t", "--raw", "-z", "--no-abbrev", "-M", "--root"]
_TREE = "040000"


def _changes_per_parent(
    cwd: Path, commits: Sequence[RangeCommit]
) -> dict[str, list[list[_Change]]]:
    # One `<commit> <parent>` line per parent (a root commit: `<commit>` alone) with
    # --always gives one block per parent, in order, even when a diff is empty; `-m` would
    # silently drop the empty ones.
    lines: list[str] = []
    for c in commits:
        if c.parents:
            lines.extend(f"{c.commit.sha} {parent}\n" for parent in c.parents)
        else:
            lines.append(f"{c.commit.sha}\n")
    raw = git.run_git([*_DIFF_TREE, "--always"], cwd, input="".join(lines).encode())
    per_commit: dict[str, list[list[_Change]]] = {}
    for sha, changes in _parse_diff_tree(raw):
        per_commit.setdefault(sha, []).append(changes)
    return per_commit


def _added(
    commits: Sequence[RangeCommit], per_commit: dict[str, list[list[_Change]]]
) -> Iterator[_Added | _NewName | Skipped]:
    for item in commits:
        blocks = per_commit.get(item.commit.sha)
        expected = max(1, len(item.parents))
        if blocks is None or len(blocks) != expected:
            raise ScanError(
                f"git diff-tree gave {0 if blocks is None else len(blocks)} diffs for commit "
                f"{item.commit.sha[:12]}, which has {len(item.parents)} parents"
            )
        # A path is the commit's own change only when it differs from every parent.
        by_path: list[dict[str, list[_Change]]] = []
        new_dirs: list[set[str]] = []  # per parent: the directories new against it
        for block in blocks:
            rows: dict[str, list[_Change]] = {}
            dirs: set[str] = set()
            for c in block:
                if c.new_mode == _TREE:
                    if c.status == "A":
                        dirs.add(c.path)
                elif c.status != "D":
                    rows.setdefault(c.path, []).append(c)
            by_path.append(rows)
            new_dirs.append(dirs)
        for path in sorted(set.intersection(*new_dirs)):
            yield _NewName(item.commit, path, directory=True)
        for path, firsts in by_path[0].items():
            if any(len(rows.get(path, ())) > 1 for rows in by_path):
                yield from _named_twice(item, path, [rows.get(path, []) for rows in by_path])
                continue
            first = firsts[0]
            versions = [rows[path][0] if path in rows else None for rows in by_path]
            if any(v is None or v.new_id != first.new_id for v in versions):
                continue
            new_name = all(v is not None and v.status in "ARC" for v in versions)
            if first.new_mode == _SUBMODULE:
                yield Skipped(
                    f"{item.commit.sha[:12]}:{path}",
                    "submodule (its commits are scanned in its own repository)",
                )
                if new_name:  # its name is published all the same
                    yield _NewName(item.commit, path)
                continue
            baseline = tuple(
                (v.old_id, v.old_path) for v in versions if v is not None and not is_zero(v.old_id)
            )
            yield _Added(item.commit, path, first.new_id, baseline, new_name)


def _named_twice(
    item: RangeCommit, path: str, rows: list[list[_Change]]
) -> Iterator[_Added | _NewName | Skipped]:
    """A hand-made tree naming `path` more than once (the same name twice, a directory
    twice, or an entry whose own name holds a slash beside a real directory): git stores and
    serves every entry (`git show` prints the first, a checkout writes the last), and
    diff-tree prints a row for each. Every blob is published, so each one is scanned; a key
    any parent's version of the path held is not new."""
    changes = [c for block in rows for c in block]
    earlier = ((c.old_id, c.old_path) for c in changes if not is_zero(c.old_id))
    baseline = tuple(dict.fromkeys(earlier))
    seen: set[str] = set()
    for c in changes:
        if c.new_id in seen:
            continue
        seen.add(c.new_id)
        if c.new_mode == _SUBMODULE:
            yield Skipped(
                f"{item.commit.sha[:12]}:{path}",
                "submodule (its commits are scanned in its own repository)",
            )
            yield _NewName(item.commit, path)
            continue
        yield _Added(item.commit, path, c.new_id, baseline, True)


def iter_commit_contents(
    cwd: Path,
    commits: Sequence[RangeCommit],
    max_size: int = 100 * 1024 * 1024,
    settings: DetectorSettings = DEFAULT_SETTINGS,
) -> Iterator[Content | Skipped]:
    """Yield each blob the commits add, whole, with the keys its parents already held; and
    per commit, the names of the paths it creates (a file name is published too)."""
    if not commits:
        return
    per_commit = _changes_per_parent(cwd, commits)
    added: list[_Added] = []
    names: dict[str, list[str]] = {}
    # The commit each name came with: a finding in a name names its commit, so a plan can
    # say which commit to redo.
    name_commit: dict[str, Commit] = {}
    named: set[tuple[str, str]] = set()
    dirs: dict[str, list[str]] = {}
    for entry in _added(commits, per_commit):
        if isinstance(entry, Skipped):
            yield entry
        elif isinstance(entry, _NewName) and entry.directory:
            dirs.setdefault(entry.commit.sha, []).append(entry.path)
            name_commit[entry.commit.sha] = entry.commit
        elif isinstance(entry, _NewName):
            names.setdefault(entry.commit.sha, []).append(entry.path)
            name_commit[entry.commit.sha] = entry.commit
        else:
            added.append(entry)
            # A path named twice in a tree (_named_twice) is one name.
            if entry.new_name and (entry.commit.sha, entry.path) not in named:
                named.add((entry.commit.sha, entry.path))
                names.setdefault(entry.commit.sha, []).append(entry.path)
                name_commit[entry.commit.sha] = entry.commit
    for sha, found in dirs.items():
        # A new directory's name is published as the start of its files' names; one no
        # name starts with (empty, or holding only directories) is named itself.
        paths = names.setdefault(sha, [])
        starts = {p[:i] for p in (*paths, *found) for i, c in enumerate(p) if c == "/"}
        paths.extend(d for d in found if d not in starts)
    for sha, paths in names.items():
        if not paths:
            continue
        text = "\n".join(paths).encode("utf-8", "surrogateescape")
        yield Content(metadata.commit_path_names(sha), text, commit=name_commit[sha], metadata=True)
    # The versions this range adds. A key a parent's version held is known only when that
    # version is outside the range (published before it), or, when it is one of these, where
    # the key was reported there (scan.py follows Content.inherits): an earlier copy that an
    # exclude hid, or that was over the size limit, is not a reason to pass its move.
    in_range = {_version(a.blob, a.path) for a in added}

    # Blobs over the limit are skipped from their size alone, never read: a pushed 4 GiB
    # file costs the hook nothing. Blobs over a window are scanned one window at a time,
    # never held whole. (A partial clone may fail the size query: then each blob is
    # measured as it is read.)
    try:
        sizes = git.object_sizes(cwd, [a.blob for a in added]) if added else {}
    except ScanError:
        sizes = {}
    small: list[_Added] = []
    # Versions are scanned in commit order where one inherits another's keys (scan.py):
    # a large blob that does waits with the pending ones below.
    order = {id(entry): i for i, entry in enumerate(added)}
    big: list[_Added] = []
    for entry in added:
        size = sizes.get(entry.blob, 0)
        if size > max_size:
            yield Skipped(
                f"{entry.commit.sha[:12]}:{entry.path}",
                f"larger than the size limit ({size} > {max_size} bytes)",
            )
        elif size > WINDOW and _inherits(entry, in_range):
            big.append(entry)
        elif size > WINDOW:
            yield _windowed(cwd, entry, size, settings, in_range)
        else:
            small.append(entry)
    added = small

    # First pass: every new blob. Most hold no candidate key and are final as they are.
    pending: list[tuple[_Added, bytes]] = []
    read = 0
    stream = git.cat_file(cwd, [a.blob for a in added])
    for entry, (_, kind, data) in zip(added, stream, strict=False):
        read += 1
        shown = f"{entry.commit.sha[:12]}:{entry.path}"
        if kind != "blob":
            # Not read: said, and the run is incomplete; the rest is still scanned, so a
            # key found elsewhere is reported with it.
            yield Skipped(shown, f"object {entry.blob} is {kind}{_hint(cwd)}", unreadable=True)
            continue
        if len(data) > max_size:
            yield Skipped(shown, f"larger than the size limit ({len(data)} > {max_size} bytes)")
            continue
        # Containers are unpacked here too: a key a parent's version already held is not new.
        # (Pending ones keep their order: a version is scanned before those inheriting it.)
        if entry.baseline and detect_all(Content(entry.path, data), settings):
            pending.append((entry, data))
            continue
        yield Content(
            path=entry.path,
            data=data,
            commit=entry.commit,
            version=_version(entry.blob, entry.path),
        )
    for entry in added[read:]:
        yield Skipped(
            f"{entry.commit.sha[:12]}:{entry.path}",
            f"git cat-file stopped before object {entry.blob}{_hint(cwd)}",
            unreadable=True,
        )

    # Second pass: the parents' versions of the few blobs with candidates.
    wanted = sorted({oid for entry, _ in pending for oid in _outside(entry, in_range)})
    known_by_blob: dict[str, frozenset[str]] = {}
    for oid, kind, data in git.cat_file(cwd, wanted):
        if kind == "blob":
            secrets = {f.secret for f in detect_all(Content("", data), settings)}
            known_by_blob[oid] = frozenset(secrets)
    later: list[tuple[_Added, bytes | None]] = [*pending, *((entry, None) for entry in big)]
    for entry, held in sorted(later, key=lambda item: order[id(item[0])]):
        if held is None:
            yield _windowed(cwd, entry, sizes[entry.blob], settings, in_range)
            continue
        outside = _outside(entry, in_range)
        missing = [oid for oid in outside if oid not in known_by_blob]
        if missing:
            yield Skipped(
                f"{entry.commit.sha[:12]}:{entry.path}",
                f"the parent's version (object {missing[0]}) could not be read to compare "
                f"against{_hint(cwd)}",
                unreadable=True,
            )
            continue
        known = frozenset(s for oid in outside for s in known_by_blob[oid])
        yield Content(
            path=entry.path,
            data=held,
            commit=entry.commit,
            known_secrets=known,
            version=_version(entry.blob, entry.path),
            inherits=_inherits(entry, in_range),
        )


def _version(blob: str, path: str) -> str:
    """A blob at a path, as Content.version names it (an object id holds no colon)."""
    return f"{blob}:{path}"


def _outside(entry: _Added, in_range: set[str]) -> list[str]:
    """The parents' versions published before the range: their keys are known as they are."""
    return [oid for oid, path in entry.baseline if _version(oid, path) not in in_range]


def _inherits(entry: _Added, in_range: set[str]) -> tuple[str, ...]:
    """The parents' versions the range itself adds: known only as far as they passed."""
    return tuple(v for v in (_version(*b) for b in entry.baseline) if v in in_range)


def _windowed(
    cwd: Path, entry: _Added, size: int, settings: DetectorSettings, in_range: set[str]
) -> Content:
    """A blob larger than a window, read in chunks each time it is scanned; the keys its
    parents' versions held (read in chunks too) are not new."""
    known: set[str] = set()
    for oid in _outside(entry, in_range):
        earlier = Content(entry.path, b"", chunks=partial(git.blob_chunks, cwd, oid))
        known.update(f.secret for f in detect_all(earlier, settings))
    return Content(
        path=entry.path,
        data=b"",
        commit=entry.commit,
        known_secrets=frozenset(known),
        chunks=partial(git.blob_chunks, cwd, entry.blob),
        size=size,
        version=_version(entry.blob, entry.path),
        inherits=_inherits(entry, in_range),
    )
