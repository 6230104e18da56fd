"""The history audit split among worker processes (--jobs) reports exactly what one
process reports: the same findings, attribution, groups, skips and counts, in the same
order. Run on the repository of tests/test_history.py, which hides keys in every place
history can (deleted files, renames, a large file, messages, tags, notes, stashes…)."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest

from kimi_secret_scan import git
from kimi_secret_scan.content import Content
from kimi_secret_scan.sources import attribution, history, metadata
from tests.gitrepo import run_cli
from tests.test_history import Built, built  # noqa: F401  (the module's fixture)
from tests.test_odd_repos import Layout, partial_clone, with_submodule  # noqa: F401


def _audit(b: Built, *args: str) -> tuple[int, dict[str, Any]]:
    run = run_cli("history", "--format", "json", *args, cwd=b.repo.path)
    return run.code, json.loads(run.out)


@pytest.mark.parametrize("jobs", ["2", "3"])
def test_workers_report_what_one_process_reports(built: Built, jobs: str) -> None:  # noqa: F811
    code, one = _audit(built, "--jobs", "1")
    assert code == 1
    assert one["findings"] and one["groups"]
    code_n, many = _audit(built, "--jobs", jobs)
    assert code_n == 1
    assert many == one
    # Every planted key is found (the placeholder is not).
    found = {f["secret_sha256"] for f in one["findings"]}
    assert len(found) == len(built.keys)


def test_workers_report_the_same_skips(built: Built) -> None:  # noqa: F811
    """Blobs over the size limit are skipped, each said once, in the same order."""
    code, one = _audit(built, "--jobs", "1", "--max-file-size", "40")
    _, many = _audit(built, "--jobs", "2", "--max-file-size", "40")
    assert code == 1  # the keys in small blobs are still found
    assert len(one["stats"]["skipped"]) > 3
    assert many == one


def test_workers_say_missing_objects_and_submodules_as_one_process_does(
    partial_clone: Layout,  # noqa: F811
    with_submodule: Layout,  # noqa: F811
) -> None:
    """A partial clone's absent blobs and a submodule are reported the same with workers."""
    for layout, code in ((partial_clone, 2), (with_submodule, 0)):
        one = run_cli("history", "--format", "json", "--jobs", "1", cwd=layout.cwd)
        many = run_cli("history", "--format", "json", "--jobs", "2", cwd=layout.cwd)
        assert one.code == many.code == code, (one.all, many.all)
        assert json.loads(many.out) == json.loads(one.out)
        assert json.loads(one.out)["stats"]["skipped"]


@pytest.mark.parametrize("batch_command", [True, False])
def test_many_small_runs_read_what_one_process_reads(
    built: Built,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    batch_command: bool,
) -> None:
    """Runs of a few objects each, so every worker reads many through its one long-lived
    cat-file (git 2.36+), or through a cat-file per run (older gits): the same objects,
    occurrences, skips, names and counts as one process, in the same order."""
    monkeypatch.setattr(history, "_RUN_BYTES", 300)
    if not batch_command:
        monkeypatch.setattr(git, "has_batch_command", lambda: False)
    selection = history.Selection()

    def read(jobs: int) -> tuple[object, ...]:
        source = history.HistorySource(built.repo.path, selection, jobs=jobs)
        items = [
            (item.path, item.data, item.commit) if isinstance(item, Content) else item
            for item in source.items()
        ]
        names = [
            (c.path, c.data, c.commit)
            for c in metadata.history_names(built.repo.path, selection.rev_args(), source.names)
        ]
        return items, names, source.stats, source.count, source.names.listed

    one = read(1)
    assert one[0] and one[3] > 20
    assert read(3) == one


def test_attribution_split_among_processes_is_the_single_walk(built: Built) -> None:  # noqa: F811
    """The attribution walk's diffs shared among `git diff-tree --stdin` processes find
    the same (commit, path, age) for every blob as one `git log -m --topo-order` (the
    repository holds merges, an evil merge, renames, stashes and reflog-only commits)."""
    rev_args = history.Selection().rev_args()
    listing = built.repo.git("rev-list", "--objects", *rev_args, "--")
    blobs = [line.split(" ", 1)[0] for line in listing.splitlines() if " " in line]
    one = attribution.introductions(built.repo.path, blobs, rev_args)
    assert sum(len(places) for places in one.values()) >= 20
    for ways in (2, 3, 64):
        order = attribution.commit_order(built.repo.path, rev_args)
        assert attribution.introductions(built.repo.path, blobs, rev_args, order, ways) == one


@pytest.mark.parametrize("stores_many", [True, False])
def test_without_jobs_the_store_decides_when_workers_start(
    built: Built,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    stores_many: bool,
) -> None:
    """Without --jobs, a repository that stores at least _SHARD_MIN_OBJECTS objects is read
    by workers from the start (git count-objects); a smaller one by this process once its
    listing is short enough, as before. Either way the same report."""
    stored = int(
        sum(
            int(line.split(": ")[1])
            for line in built.repo.git("count-objects", "-v").splitlines()
            if line.startswith(("count:", "in-pack:"))
        )
    )
    monkeypatch.setattr(history, "_SHARD_MIN_OBJECTS", stored if stores_many else stored + 1)
    monkeypatch.setattr(git, "usable_cpus", lambda: 2)
    read: list[str] = []
    real_listing = history.HistorySource._read_listing
    real_shards = history.HistorySource._run_shards

    def one(self: history.HistorySource, listing: bytes) -> None:
        read.append("one process")
        real_listing(self, listing)

    def shards(self: history.HistorySource, *args: Any) -> Any:
        read.append("workers")
        return real_shards(self, *args)

    monkeypatch.setattr(history.HistorySource, "_read_listing", one)
    monkeypatch.setattr(history.HistorySource, "_run_shards", shards)
    source = history.HistorySource(built.repo.path, history.Selection())
    found = [item.path for item in source.items() if isinstance(item, Content)]
    # The listing names fewer objects than the store holds (tests/test_history.py keeps
    # unreachable ones): one process unless the store decided.
    assert read == (["workers"] if stores_many else ["one process"])
    assert found == [
        item.path
        for item in history.HistorySource(built.repo.path, history.Selection(), jobs=1).items()
        if isinstance(item, Content)
    ]


@pytest.mark.parametrize("ways", [1, 2])
def test_merges_against_their_first_parent_find_what_every_parent_finds(
    built: Built,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    ways: int,
) -> None:
    """The walk diffs a merge against its first parent, then the merges that showed a
    wanted blob against every parent: the same introductions, in the same order, as
    diffing every merge against every parent (-m, what an older git gets). The repository
    holds an evil merge (a key typed while resolving it) and merges of branches with keys."""
    rev_args = history.Selection().rev_args()
    listing = built.repo.git("rev-list", "--objects", *rev_args, "--")
    blobs = [line.split(" ", 1)[0] for line in listing.splitlines() if " " in line]

    def walk() -> list[tuple[int, str, str, str]]:
        order = attribution.commit_order(built.repo.path, rev_args)
        found = attribution.introductions(built.repo.path, blobs, rev_args, order, ways)
        places = [(i.age, blob, i.commit.sha, i.path) for blob, ps in found.items() for i in ps]
        # Ages are places among the commits the walk printed: compare their order only.
        return [(n, *rest) for n, (_, *rest) in enumerate(sorted(places, key=lambda p: -p[0]))]

    assert attribution._merge_diffs() == ["--diff-merges=first-parent"]
    first_parent = walk()
    monkeypatch.setattr(attribution, "_merge_diffs", lambda: ["-m"])
    assert walk() == first_parent
    merges = built.repo.git("rev-list", "--merges", *rev_args, "--").split()
    assert built.commits["merge"] in merges  # the evil merge
    assert any(sha == built.commits["merge"] for _, _, sha, _ in first_parent)


@pytest.mark.parametrize("ways", [1, 2])
def test_the_walk_diffs_a_merge_against_its_first_parent_only(
    built: Built,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    ways: int,
) -> None:
    """The walk's options, replayed by git on the evil merge, give one diff (against its
    first parent), not one per parent: _DIFF's `-m`, placed after
    --diff-merges=first-parent, overrode it, and every merge was diffed against every parent
    (the same introductions, ~30 % more of the walk's CPU)."""
    walks: list[list[str]] = []
    real_pending, real_run = git.Pending, git.run_git

    def pending(args: list[str], *rest: Any, **kw: Any) -> git.Pending:
        walks.append(list(args))
        return real_pending(args, *rest, **kw)

    def run(args: list[str], *rest: Any, **kw: Any) -> bytes:
        walks.append(list(args))
        return real_run(args, *rest, **kw)

    monkeypatch.setattr(git, "Pending", pending)
    monkeypatch.setattr(git, "run_git", run)
    rev_args = history.Selection().rev_args()
    listing = built.repo.git("rev-list", "--objects", *rev_args, "--")
    blobs = [line.split(" ", 1)[0] for line in listing.splitlines() if " " in line]
    order = attribution.commit_order(built.repo.path, rev_args) if ways > 1 else None
    attribution.introductions(built.repo.path, blobs, rev_args, order, ways)
    # The walk, or its first share (the merges' second diff, `-m` on purpose, comes after).
    walk = next(args for args in walks if args[0] in ("log", "diff-tree"))
    assert attribution._merge_diffs()[0] in walk
    merge = built.commits["merge"]
    assert len(built.repo.git("rev-list", "--parents", "-1", merge).split()) == 3
    options = [a for a in walk if not a.startswith("--find-object=")]
    if options[0] == "log":
        options = [*options[: options.index(rev_args[0])], "-1", merge]
        out = real_run(options, built.repo.path)
    else:
        out = real_run(options, built.repo.path, input=f"{merge}\n".encode())
    assert out.count(b"\x01") == 1, out  # one diff: against the first parent


def test_the_walk_is_cut_into_shares_of_about_equal_cost() -> None:
    """The walk is newest first and a newer commit costs more to diff: the newest share
    holds fewer commits (two shares: 40 % and 60 %); every commit is in one share, in
    order, and an empty share is possible only when there are fewer commits than ways."""
    assert attribution._cuts(11_059, 2) == [0, 4395, 11_059]
    for commits in (0, 1, 2, 5, 97, 6147):
        for ways in (1, 2, 3, 4, 8):
            cuts = attribution._cuts(commits, ways)
            assert cuts[0] == 0 and cuts[-1] == commits and len(cuts) == ways + 1
            assert cuts == sorted(cuts)
            sizes = [b - a for a, b in itertools.pairwise(cuts)]
            if commits >= 4 * ways:
                assert all(sizes), (commits, ways, cuts)
                assert sizes[0] <= sizes[-1]
