"""The refs' walk taken from the history audit's own objects listing (attribution.listed_walk)
is the walk `git rev-list --reverse --topo-order --parents` prints, on histories whose
dates lie, tie and cross, with merges of up to three parents, many tips and ids walked
besides the refs (hidden refs); the refs that contain a commit include a tag of a tag; and
a key's first appearance is its earliest commit (RefWalk.oldest_first).
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kimi_secret_scan import git as kgit
from kimi_secret_scan.sources.attribution import RefWalk, listed_walk
from tests import keygen
from tests.gitrepo import GitRepo, git, run_cli

# A history: each commit's parents (earlier commits), its date (few values: ties), which
# commits a branch points at, and which are walked besides the refs.
_history = st.integers(min_value=1, max_value=30).flatmap(
    lambda n: st.tuples(
        st.tuples(
            *[
                st.tuples(
                    st.lists(st.integers(0, max(i - 1, 0)), max_size=3 if i else 0),
                    st.integers(0, 5),
                )
                for i in range(n)
            ]
        ),
        st.sets(st.integers(0, n - 1), min_size=1),
        st.sets(st.integers(0, n - 1), max_size=3),
    )
)


def _build(path: Path, commits: tuple[tuple[list[int], int], ...], tips: set[int]) -> list[str]:
    repo = GitRepo(path, bare=True)
    stream = []
    for i, (parents, date) in enumerate(commits):
        unique = list(dict.fromkeys(parents))
        stream.append(f"commit refs/heads/b{i}\nmark :{i + 1}\n")
        stream.append(f"committer A <a@example.com> {1_700_000_000 + date * 60} +0000\n")
        stream.append(f"data 2\nc{i % 10}\n")
        for n, parent in enumerate(unique):
            stream.append(f"{'from' if n == 0 else 'merge'} :{parent + 1}\n")
        stream.append(f"M 644 inline f{i}\ndata 1\n{i % 10}\n\n")
    for i in range(len(commits)):
        stream.append(f"get-mark :{i + 1}\n")
    out = repo.git("fast-import", "--quiet", input="".join(stream).encode())
    ids = out.split()
    for i in range(len(commits)):
        if i not in tips:
            repo.git("update-ref", "-d", f"refs/heads/b{i}")
    return ids


@settings(max_examples=40, deadline=None)
@given(history=_history)
def test_the_listings_walk_is_gits_topological_walk(
    history: tuple[tuple[tuple[list[int], int], ...], set[int], set[int]],
) -> None:
    commits, tips, besides = history
    with tempfile.TemporaryDirectory() as temp:
        repo = Path(temp) / "r.git"
        ids = _build(repo, commits, tips)
        extra = [ids[i] for i in sorted(besides)]
        revs = ["--all", "--reflog", *extra]
        listing = git(repo, "rev-list", "--objects", "--parents", *revs, "--").encode()
        count = len(git(repo, "rev-list", *revs, "--").split())
        expected = git(repo, "rev-list", "--reverse", "--topo-order", "--parents", *revs)
        walk = listed_walk(listing, count)
        assert walk is not None
        assert b"".join(b" ".join(row) + b"\n" for row in walk).decode() == expected


def test_a_listing_that_is_not_one_gives_no_walk() -> None:
    one, two = "a" * 40, "b" * 40
    assert listed_walk(f"{one} {two}\n{two}\n".encode(), 2) is not None
    assert listed_walk(f"{one} {two}\n{two}\n".encode(), 3) is None  # fewer commit lines
    assert listed_walk(f"{one}\n{one}\n".encode(), 2) is None  # a commit twice
    assert listed_walk(f"{one} {two}\n{two} {one}\n".encode(), 2) is None  # a cycle


def test_a_tag_of_a_tag_contains_what_its_commit_holds(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "r")
    repo.commit_file("a.txt", "one\n")
    repo.git("checkout", "-q", "-b", "side")
    held = repo.commit_file("b.txt", "two\n")
    repo.git("tag", "-a", "-m", "inner", "inner", held)
    repo.git("tag", "-a", "-m", "outer", "outer", "inner")
    repo.git("checkout", "-q", "main")
    repo.git("branch", "-D", "side")
    assert repo.git("cat-file", "-t", "outer^{tag}^{tag}").strip() == "tag"
    walk = RefWalk(Path(kgit.find_repo(repo.path).git_dir))
    assert walk.containing([held]) == {held: {"refs/tags/inner", "refs/tags/outer"}}


def _commit(repo: GitRepo, date: str, message: str) -> str:
    repo.git("add", "-A")
    env = {"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}
    proc = subprocess.run(
        ["git", "commit", "-q", "--no-verify", "-m", message],
        cwd=repo.path,
        env={**os.environ, **env},
        capture_output=True,
        check=True,
    )
    assert not proc.stderr
    return repo.head()


def _first(repo: GitRepo, *args: str) -> dict[str, object]:
    run = run_cli("history", "--format", "json", *args, cwd=repo.path)
    assert run.code == 1, run.all
    groups = json.loads(run.out)["groups"]
    assert len(groups) == 1
    first: dict[str, object] = groups[0]["first_appearance"]
    return first


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_first_appearance_is_the_earliest_of_two_branches(tmp_path: Path, jobs: str) -> None:
    """The same key added on a side branch in 2020 (merged later) and on the main line in
    2021: it first appeared in 2020, whatever place git's topological order gives the two."""
    key = keygen.kimi_code_key()
    repo = GitRepo(tmp_path / "r")
    repo.write("a", "a\n")
    _commit(repo, "2020-01-01T00:00:00Z", "base")
    repo.git("checkout", "-q", "-b", "side")
    repo.write("side.txt", f"t={key}\n")
    side = _commit(repo, "2020-06-01T00:00:00Z", "side")
    repo.git("checkout", "-q", "main")
    repo.write("main.txt", f"t={key}\n")
    _commit(repo, "2021-01-01T00:00:00Z", "main")
    repo.git("merge", "-q", "--no-edit", "side")
    first = _first(repo, "--jobs", jobs)
    assert (first["commit"], first["path"]) == (side, "side.txt")


def test_first_appearance_follows_the_graph_when_dates_lie(tmp_path: Path) -> None:
    """A commit dated before its parent (a rebase, a wrong clock): the parent added the key
    first, since the child descends from it."""
    key = keygen.kimi_code_key()
    repo = GitRepo(tmp_path / "r")
    repo.write("one.txt", f"t={key}\n")
    parent = _commit(repo, "2022-01-01T00:00:00Z", "adds the key")
    repo.write("two.txt", f"t={key}\n")
    _commit(repo, "2019-01-01T00:00:00Z", "adds it again, dated earlier")
    first = _first(repo)
    assert (first["commit"], first["path"]) == (parent, "one.txt")


def test_first_appearance_counts_a_commit_message(tmp_path: Path) -> None:
    """A key pasted in a commit message in 2019 and committed in a file in 2021 (on another
    branch): it first appeared in the message."""
    key = keygen.kimi_code_key()
    repo = GitRepo(tmp_path / "r")
    repo.write("a", "a\n")
    _commit(repo, "2018-01-01T00:00:00Z", "base")
    repo.git("checkout", "-q", "-b", "side")
    repo.write("b", "b\n")
    told = _commit(repo, "2019-01-01T00:00:00Z", f"use KIMI_API_KEY={key}")
    repo.git("checkout", "-q", "main")
    repo.write("c.txt", f"t={key}\n")
    _commit(repo, "2021-01-01T00:00:00Z", "file")
    first = _first(repo)
    assert first["commit"] == told
