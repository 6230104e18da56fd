"""Targets and shards of the organisation audit, and GitPython staying off the hook path."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kimi_secret_scan.errors import ScanError
from kimi_secret_scan.org import targets
from kimi_secret_scan.org.mirror import mirror_env
from tests.gitrepo import GitRepo


@pytest.mark.parametrize(
    ("spec", "key"),
    [
        ("https://GitHub.com/Org/Repo.git/", "https://github.com/Org/Repo"),
        ("git@github.com:Org/Repo.git", "ssh://git@github.com/Org/Repo"),
        ("ssh://git@host:2222/x.git", "ssh://git@host:2222/x"),
        ("https://user:token@host/r", "https://host/r"),
        # A token given as the user name (GitHub's `https://<token>@github.com/…`).
        ("https://ghp_token@github.com/o/r.git", "https://github.com/o/r"),
        ("http://token@host/r", "http://host/r"),
        ("file:///srv/a/", "file:///srv/a"),
    ],
)
def test_urls_are_normalised_without_passwords(spec: str, key: str) -> None:
    target = targets.parse(spec)
    assert target.key == key
    assert target.url == spec
    assert "token" not in target.name + target.slug + target.key


def test_same_repository_named_twice_is_one_target() -> None:
    specs = ["https://h/o/r", "https://H/o/r.git", "https://h/o/r/"]
    assert len(targets.unique(targets.parse(s) for s in specs)) == 1


@pytest.mark.parametrize("spec", ["ext::sh -c id", "fd::3", "foo://h/x", "-oProxy=x", "https:///x"])
def test_refused(spec: str) -> None:
    with pytest.raises(ScanError):
        targets.parse(spec)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.text("abcdefgh/-_", min_size=1, max_size=12), min_size=1, max_size=40, unique=True)
)
def test_shards_cover_each_target_once_and_adding_targets_moves_none(names: list[str]) -> None:
    ts = targets.unique(targets.parse(f"https://h/{n}") for n in names)
    slices = [targets.select(ts, (k, 4)) for k in range(1, 5)]
    flat = [t.key for s in slices for t in s]
    assert sorted(flat) == sorted(t.key for t in ts)
    more = targets.unique([*ts, targets.parse("https://h/zz-new")])
    before = {t.key: t.shard(4) for t in ts}
    assert all(t.shard(4) == before[t.key] for t in more if t.key in before)


def test_shard_from_gitlab_environment() -> None:
    assert targets.shard_from_ci({"CI_NODE_INDEX": "2", "CI_NODE_TOTAL": "5"}) == (2, 5)
    assert targets.shard_from_ci({}) is None
    with pytest.raises(ScanError):
        targets.parse_shard("0/3")
    with pytest.raises(ScanError):
        targets.parse_shard("4/3")


def test_mirror_env_allows_only_the_target_transports() -> None:
    env = mirror_env()
    assert env["GIT_TERMINAL_PROMPT"] == "0"
    assert "ext" not in env["GIT_ALLOW_PROTOCOL"].split(":")
    count = int(env["GIT_CONFIG_COUNT"])
    pairs = {env[f"GIT_CONFIG_KEY_{i}"]: env[f"GIT_CONFIG_VALUE_{i}"] for i in range(count)}
    assert pairs["protocol.ext.allow"] == "never"


def test_the_hook_never_imports_gitpython(repo: GitRepo) -> None:
    repo.commit_file("a.txt", "hello\n")
    repo.write("b.txt", "world\n")
    repo.add("b.txt")
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "kimi_secret_scan", "staged"],
        cwd=repo.path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if "|" in line}
    assert "no Kimi keys found" in proc.stdout + proc.stderr  # it did scan
    assert "kimi_secret_scan.git" in imported  # and the measurement works
    assert not {m for m in imported if m == "git" or m.startswith(("git.", "gitdb", "smmap"))}
    assert not {m for m in imported if m.startswith("kimi_secret_scan.org")}


def test_the_audit_parent_process_does_not_import_gitpython_either(tmp_path: Path) -> None:
    """Only the worker that clones loads it: listing, sharding and merging do not."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "kimi_secret_scan", "merge", "--help"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0
    imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if "|" in line}
    assert "git" not in imported
