"""Which commits introduced a blob at a path: asked only for the few blobs that held a key.

`git log -m --raw --find-object=…` diffs every commit against each of its parents and keeps
only the file pairs that touch the wanted blobs. A commit introduced (blob, path) when the
blob is the new side of a pair; for a merge, only when that holds against every parent:
otherwise the content came from a parent, whose own commit introduced it. This is what
finds a key typed while resolving a merge (an "evil merge"), which `git log -p` never shows.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from kimi_secret_scan import git, threads
from kimi_secret_scan.finding import Commit

# One record per commit (per parent, for merges): the header fields, then raw diff pairs.
_FORMAT = "%x01%H %P%x00%an%x00%ae%x00%aI%x00%ct"
_ZERO_PREFIX = "0000000"
_INTRODUCING = frozenset("AMTC")


@dataclass(frozen=True)
class Introduction:
    commit: Commit
    path: str
    timestamp: int  # committer time: when the content entered history
    # Position in a topological walk, children before parents: larger is older. Dates
    # can lie (rebases, cherry-picks, clocks); the commit graph cannot.
    age: int = 0


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


# The diff options of the walk, shared by `git log` and `git diff-tree --stdin`.
_DIFF = [
    "-m",
    "--raw",
    "--no-abbrev",
    "--no-renames",
    "--no-textconv",
    "--no-ext-diff",
    "-z",
    f"--format={_FORMAT}",
]


def commit_order(cwd: Path, rev_args: list[str]) -> git.Pending:
    """The commits the walk visits, in its order (`git rev-list --topo-order`), asked
    before the blobs to attribute are known (the history audit starts it at its first
    key), so that introductions() can split the walk among processes."""
    return git.Pending(["rev-list", "--topo-order", *rev_args, "--"], cwd)


class WalkOrder:
    """commit_order's answer taken from a RefWalk of the same revisions."""

    def __init__(self, walk: RefWalk) -> None:
        self.walk = walk

    def result(self) -> bytes:
        if not self.walk.done():
            # The walk failed (or was killed): ask git for the order itself, as before.
            return commit_order(self.walk.cwd, self.walk.args).result()
        return b"".join(ids[0] + b"\n" for ids in reversed(self.walk.walk) if ids)


def _merge_diffs() -> list[str]:
    """How the walk diffs a merge: against its first parent only (git 2.31+), the other
    parents asked afterwards of the few merges that showed a wanted blob (_parse); with an
    older git, against each parent (-m)."""
    found = git._git_version()
    return ["--diff-merges=first-parent"] if found and found >= (2, 31) else ["-m"]


def introductions(
    cwd: Path,
    blob_ids: Iterable[str],
    rev_args: list[str],
    order: git.Pending | WalkOrder | None = None,
    ways: int = 1,
) -> dict[str, list[Introduction]]:
    """For each blob id, every (commit, path) that introduced it, oldest first.

    One `git log --topo-order` walk; or, given the walk's commits in its order
    (commit_order) and `ways` > 1, the same diffs cut into `ways` consecutive shares, each
    diffed by its own `git diff-tree --stdin --root` at the same time: their outputs,
    joined in order, are byte for byte the log's (the diffs are most of its cost, the
    topological sort the rest).

    A merge is diffed against its first parent only: a blob it does not add there came
    from that parent, so the merge did not introduce it. The merges that do show a wanted
    blob (psf/requests' history: none of 3,100 for a typical key) are diffed again against
    every parent (-m): an introduction there is one against all of them. The diffs of a
    merge's other parents were ~20 % of the walk's CPU."""
    wanted = set(blob_ids)
    found: dict[str, list[Introduction]] = {oid: [] for oid in wanted}
    if not wanted:
        return found
    objects = [f"--find-object={oid}" for oid in sorted(wanted)]
    # After _DIFF: its `-m` (kept for the merges' second diff below) given after
    # --diff-merges=first-parent overrides it in git (2.39: every parent diffed again, ~30 %
    # more of the walk's CPU), so the way merges are diffed is the walk's last word.
    merges = _merge_diffs()
    if order is None or ways <= 1:
        out = git.run_git(["log", "--topo-order", *_DIFF, *merges, *objects, *rev_args, "--"], cwd)
    else:
        visited = order.result().splitlines(keepends=True)
        cuts = _cuts(len(visited), ways)
        shares = [
            git.Pending(
                ["diff-tree", "--stdin", "--root", "-r", *_DIFF, *merges, *objects],
                cwd,
                stdin=b"".join(visited[cuts[w] : cuts[w + 1]]),
            )
            for w in range(ways)
            if cuts[w] < cuts[w + 1]
        ]
        out = b"".join(share.result() for share in shares)
    # (commit, blob, path) -> how many parent diffs showed it; a merge needs all of them.
    seen: dict[tuple[str, str, str], int] = {}
    commits: dict[str, tuple[Commit, int, int]] = {}
    age: dict[str, int] = {}
    first_parent = merges != ["-m"]
    candidates = _parse(out, wanted, seen, commits, age, first_parent)
    if candidates:
        again = git.run_git(
            ["diff-tree", "--stdin", "--root", "-r", "-m", *_DIFF, *objects],
            cwd,
            input="".join(sha + "\n" for sha in candidates).encode(),
        )
        _parse(again, wanted, seen, commits, age, False)
    for (sha, blob, path), count in seen.items():
        commit, parents, timestamp = commits[sha]
        if count >= parents:
            found[blob].append(Introduction(commit, path, timestamp, age[sha]))
    for intros in found.values():
        intros.sort(key=lambda i: (-i.age, i.path))
    return found


# The walk is newest first, and a newer commit's diff costs more (its trees are larger):
# on psf/requests and kimi-cli the newer half of the commits cost 1.4-1.5 times the older
# half's CPU. The shares are cut where a cost falling linearly to _OLDEST of the newest
# commit's would be shared evenly (newest 40 % / oldest 60 % for two): the slowest share
# is the tail's wall time. Any cut gives the same joined output.
_OLDEST = 0.4


def _cuts(commits: int, ways: int) -> list[int]:
    """Where the walk's `commits` are cut into `ways` shares of about equal cost."""
    slope = 1 - _OLDEST  # cost density 1 - slope * x over the walk's fraction x
    whole = 1 - slope / 2
    cuts = [0]
    for w in range(1, ways):
        fraction = (1 - (1 - 2 * slope * whole * w / ways) ** 0.5) / slope
        cuts.append(min(commits, max(cuts[-1], round(commits * fraction))))
    cuts.append(commits)
    return cuts


def _parse(
    out: bytes,
    wanted: set[str],
    seen: dict[tuple[str, str, str], int],
    commits: dict[str, tuple[Commit, int, int]],
    age: dict[str, int],
    first_parent: bool,
) -> list[str]:
    """Count the walk's pairs that add a wanted blob (`seen`), each commit met named and
    aged in the walk's order. With `first_parent` (merges diffed against their first
    parent only), a merge's pairs are not counted: the merges that showed one are returned,
    in the walk's order, to be diffed against every parent."""
    candidates: list[str] = []
    for record in out.split(b"\x01"):
        if not record:
            continue
        fields = record.split(b"\0")
        if len(fields) < 5:
            continue
        ids = _decode(fields[0]).split()
        sha, parents = ids[0], len(ids) - 1
        if sha not in commits:
            age[sha] = len(age)
            commit = Commit(
                sha=sha,
                author=_decode(fields[1]),
                email=_decode(fields[2]),
                date=_decode(fields[3]),
            )
            commits[sha] = (commit, max(parents, 1), int(fields[4] or b"0"))
        rest = fields[5:]
        i = 0
        while i + 1 < len(rest):
            meta = _decode(rest[i]).strip()
            if not meta.startswith(":"):
                i += 1
                continue
            path = _decode(rest[i + 1])
            i += 2
            parts = meta[1:].split()
            if len(parts) < 5:
                continue
            old_id, new_id, status = parts[2], parts[3], parts[4][:1]
            if status not in _INTRODUCING or new_id not in wanted or old_id == new_id:
                continue
            if new_id.startswith(_ZERO_PREFIX) and set(new_id) == {"0"}:
                continue
            if first_parent and parents > 1:
                if not candidates or candidates[-1] != sha:
                    candidates.append(sha)
                continue
            key = (sha, new_id, path)
            seen[key] = seen.get(key, 0) + 1
    return candidates


# oldest_first ranks at most this many commits (a pass over them each): a key in more
# commits than that is rare, and its commits keep the walk's order.
_RANKED = 500

# The commits of a `git rev-list --objects --parents` listing: its first lines, each an id
# and its parents' ids (git lists every commit before any other object).
_ID = rb"[0-9a-f]{40}(?:[0-9a-f]{24})?"  # SHA-1 or SHA-256
_COMMIT_LINES = re.compile(rb"(?:%s(?: %s)*\n)*" % (_ID, _ID))


def listed_walk(listing: bytes, commits: int, block: bool = False) -> list[list[bytes]] | None:
    """The walk `git rev-list --reverse --topo-order --parents` would print, from the
    objects listing of the same revisions made with `--parents` (its `commits` first
    lines); None when those lines are not that many commits. `block`: `listing` is
    already only its commit lines (_COMMIT_LINES matched it whole): not matched again.

    git sorts the commits its walk met (the listing's order) as commit.c's
    sort_in_topological_order does for --topo-order: every commit counts its children
    among them; the tips (none) are stacked, the first on top; a commit is taken from
    the top and emitted, and a parent is stacked once its last child has been. The same
    steps here give the same order (tests/test_history_walk.py compares them on histories
    whose dates lie), without a second walk that parses every commit again (~0.1 s of
    CPU for psf/requests' 11,059 commits against ~0.03 s here)."""
    if not block:
        end = _COMMIT_LINES.match(listing)
        listing = listing[: end.end() if end else 0]
    lines = listing.split(b"\n", commits)
    if len(lines) <= commits:
        return None  # fewer commit lines than commits read
    del lines[commits:]
    rows = [line.split(b" ") for line in lines]
    # 1 + children met: 0 marks a commit outside the walk, or one already emitted.
    indegree = {row[0]: 1 for row in rows}
    if len(indegree) != len(rows):
        return None  # a commit twice: not a listing
    get = indegree.get
    for row in rows:
        for parent in row[1:]:
            count = get(parent)
            if count:
                indegree[parent] = count + 1
    parents = {row[0]: row for row in rows}
    stack = [row[0] for row in rows if indegree[row[0]] == 1]
    stack.reverse()
    walk: list[list[bytes]] = []
    push, pop, emit = stack.append, stack.pop, walk.append
    while stack:
        commit = pop()
        row = parents[commit]
        for parent in row[1:]:
            count = get(parent)
            if not count:
                continue
            count -= 1
            indegree[parent] = count
            if count == 1:
                push(parent)
        indegree[commit] = 0
        emit(row)
    if len(walk) != len(rows):
        return None  # a cycle (no listing has one)
    walk.reverse()
    return walk


class RefWalk:
    """Which refs contain which commits, from one history walk.

    `git for-each-ref --contains` walks history once per ref (half a second per call on a
    repository with 4,500 pull-request refs), so instead one `rev-list --reverse
    --topo-order --parents` pass propagates, parents before children, a bit per wanted
    commit; only commits descending from a wanted commit hold an entry. The walk starts
    when this object is made (the history audit makes it at its first finding, while the
    objects are still being read), and a thread reads it and the refs' tips, so that both
    are ready when the attributed commits are known. Given `listed` (the history audit's
    own objects listing made with --parents can give it: listed_walk), no walk is started
    unless that answers None.
    """

    def __init__(
        self,
        cwd: Path,
        reflog: bool = False,
        extra: Sequence[tuple[str, str]] = (),
        listed: Callable[[], list[list[bytes]] | None] | None = None,
    ) -> None:
        self.cwd = cwd
        # With the reflogs, the walk is the history audit's (`--all --reflog`): its
        # commits, reversed, are the attribution's order too (order()), one walk for both.
        # The reflogs' commits change no ref's containment: a ref's tip has the same
        # ancestors, still listed before their children. `extra`: (name, id) of what the
        # audit walks besides (sources/hidden_refs.py: FETCH_HEAD, …), walked too.
        self.extra = list(extra)
        self.args = ["--all"] + (["--reflog"] if reflog else []) + sorted({o for _, o in extra})
        self.walk: list[list[bytes]] = []
        self._reached: tuple[list[str], dict[bytes, int], dict[bytes, int]] | None = None
        self.proc: git.Process | None = None
        self.thread: threading.Thread | None = None
        self.listed = listed
        if listed is None:
            self._start()
        # The type, not `%(*objectname)`: peeling makes git parse (and hash) the object
        # of every ref, ~0.05 s of CPU for requests' 4,516 refs; only tags need it (tips()).
        self.refs = git.Pending(
            ["for-each-ref", "--format=%(objectname) %(objecttype) %(refname)"], cwd
        )
        self._ends: list[tuple[str, str, str]] | None = None

    def _start(self) -> None:
        self.proc = git.popen(
            ["rev-list", "--reverse", "--topo-order", "--parents", *self.args],
            self.cwd,
            stdout=git.PIPE,
            stderr=git.DEVNULL,
        )
        self.thread = threads.start(self._read)

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        try:
            self.walk = [line.split() for line in self.proc.stdout.read().splitlines()]
            # At the end of its output git is exiting: its status, not a kill, decides
            # whether order() may use the walk.
            self.proc.wait()
        finally:
            self.close()

    def done(self) -> bool:
        """Wait for the walk; whether it is whole."""
        if self.listed is not None:
            listed, self.listed = self.listed, None
            walk = listed()
            if walk is not None:
                self.walk = walk
                return True
            self._start()  # the listing could not give it: git walks
        if self.thread is None or self.proc is None:
            return bool(self.walk)  # given by the listing
        self.thread.join()
        return self.proc.returncode == 0

    def order(self) -> WalkOrder:
        """The walk's commits in `git rev-list --topo-order` order (--reverse reverses
        exactly that list), as commit_order gives them."""
        return WalkOrder(self)

    def close(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()

    def ends(self) -> list[tuple[str, str, str]]:
        """(type, id, name) of every ref, an annotated tag (of a tag, …) by what it names
        at its end (("", "") when that object is missing). Read once: the containment's
        tips and the purge plan's refs to blobs and trees (purge_reach) both ask."""
        if self._ends is None:
            rows: list[tuple[str, str, str]] = []
            tags: list[int] = []
            for line in self.refs.result().decode("utf-8", "surrogateescape").splitlines():
                oid, kind, name = line.split(" ", 2)
                if kind == "tag":
                    tags.append(len(rows))
                rows.append((kind, oid, name))
            if tags:
                # `<id>^{}` peels every level; one answer a line, in order ("… missing" for
                # a tag whose object is not here: no commit, so no containment).
                out = git.run_git(
                    ["cat-file", "--batch-check=%(objectname) %(objecttype)"],
                    self.cwd,
                    input=b"".join(rows[i][1].encode() + b"^{}\n" for i in tags),
                )
                answers = out.decode("ascii", "replace").splitlines()
                for i, answer in zip(tags, answers, strict=True):
                    peeled = answer.split()
                    if answer.endswith(" missing") or len(peeled) != 2:
                        rows[i] = ("", "", rows[i][2])
                    else:
                        rows[i] = (peeled[1], peeled[0], rows[i][2])
            self._ends = rows
        return self._ends

    def tips(self) -> dict[bytes, list[str]]:
        """Commit id -> the refs whose tip it is; an annotated tag's ref by the commit its
        tag (or a tag of its tag) names."""
        tips: dict[bytes, list[str]] = {}
        for _, oid, name in self.ends():
            if oid:
                if not name.isascii():  # said as before: an undecodable byte as U+FFFD
                    name = name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
                tips.setdefault(oid.encode(), []).append(name)
        return tips

    def _reach(self, wanted: list[str]) -> tuple[dict[bytes, int], dict[bytes, int]]:
        """A bit per wanted commit, and for each commit of the walk that descends from
        (or is) a wanted one, the bits of those it descends from; one pass, parents before
        children. Kept for the same wanted commits (containing, oldest_first)."""
        if self._reached is not None and self._reached[0] == wanted:
            return self._reached[1], self._reached[2]
        self.done()
        bit = {c.encode(): 1 << i for i, c in enumerate(wanted)}
        reach: dict[bytes, int] = {}
        get = reach.get
        for ids in self.walk:
            if not ids:
                continue
            bits = bit.get(ids[0], 0)
            for parent in ids[1:]:
                bits |= get(parent, 0)
            if bits:
                reach[ids[0]] = bits
        self._reached = (wanted, bit, reach)
        return bit, reach

    def oldest_first(self, dates: Mapping[str, dt.datetime]) -> dict[str, int]:
        """For the commits of `dates` (id -> a date, sortable) that the walk holds: their
        place in time, larger is older (as Introduction.age). A commit comes after every
        one of them it descends from, whatever the dates say (a rebase or a wrong clock
        can date a child before its parent); of commits neither of which descends from
        the other (two branches), the one dated earlier is older. The walk's own order
        (topological, --topo-order) ranks two branches' commits by where git's stack put
        them, not by time: a key added on a side branch in 2020 and merged later read as
        first added on the main line in 2021. Empty for more than _RANKED commits."""
        wanted = sorted(dates)
        if not wanted or len(wanted) > _RANKED:
            return {}
        bit, reach = self._reach(wanted)
        held = [c for c in wanted if c.encode() in reach]  # in the walk
        before = {c: reach[c.encode()] & ~bit[c.encode()] for c in held}
        waiting = sorted(held, key=lambda c: (dates[c], c))
        order: list[str] = []
        done = 0
        while waiting:
            # The earliest dated commit none of whose wanted ancestors is still waiting.
            at = next((i for i, c in enumerate(waiting) if not before[c] & ~done), None)
            if at is None:
                return {}  # a cycle: no walk git printed has one
            commit = waiting.pop(at)
            order.append(commit)
            done |= bit[commit.encode()]
        return {c: len(order) - rank for rank, c in enumerate(order)}

    def containing(self, commits: Iterable[str]) -> dict[str, set[str]]:
        """For each commit, the refs whose history contains it."""
        wanted = sorted(set(commits))
        result: dict[str, set[str]] = {c: set() for c in wanted}
        if not wanted:
            self.refs.answer()
            if self.listed is None:
                self.done()  # the walk's process, ended
            return result
        tips = self.tips()
        bit, reach = self._reach(wanted)
        for tip, names in tips.items():
            bits = reach.get(tip, 0)
            if not bits:
                continue
            for commit, mask in bit.items():
                if bits & mask:
                    result[commit.decode()].update(names)
        # What no ref holds is located by the names outside refs that reach it (FETCH_HEAD,
        # another worktree's refs/bisect/bad): named only then, since after a pull or a
        # reset FETCH_HEAD and ORIG_HEAD hold most of what the branches do.
        unheld = {commit for commit, refs in result.items() if not refs}
        for name, tip_id in self.extra:
            bits = reach.get(tip_id.encode(), 0)
            for commit, mask in bit.items():
                if bits & mask and commit.decode() in unheld:
                    result[commit.decode()].add(name)
        return result
