"""What a range publishes is every blob its commits' trees hold, whatever their shape:
a hand-made tree naming one path twice (review h8b, finding 1). Real repositories, the real
CLI, and a real `git push` through the documented pre-receive hook."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.gitrepo import GitRepo, run_cli
from tests.remotes import ZERO, guarded_server, key_line


def _tree(repo: GitRepo, entries: list[tuple[str, str, str]]) -> str:
    """A tree object written as given (`--literally`: git's own tools refuse duplicates)."""
    body = b"".join(
        f"{mode} {name}".encode() + b"\0" + bytes.fromhex(oid) for mode, name, oid in entries
    )
    return repo.git("hash-object", "-t", "tree", "-w", "--literally", "--stdin", input=body).strip()


def _blob(repo: GitRepo, text: str) -> str:
    return repo.git("hash-object", "-w", "--stdin", input=text.encode()).strip()


def _shapes(work: GitRepo) -> dict[str, str]:
    """Branches whose one commit hides the key blob behind a second entry of the same name."""
    base = work.head()
    clean, keyed = _blob(work, "clean\n"), _blob(work, key_line()[0])
    kept = work.git("rev-parse", "HEAD:base.txt").strip()
    sub_key = _tree(work, [("100644", "k.env", keyed)])
    sub_clean = _tree(work, [("100644", "k.env", clean)])
    trees = {
        "keyfirst": [("100644", "a.env", keyed), ("100644", "a.env", clean)],
        "keylast": [("100644", "a.env", clean), ("100644", "a.env", keyed)],
        "dirtwice": [("40000", "d", sub_key), ("40000", "d", sub_clean)],
        "slashname": [("100644", "d/k.env", keyed), ("40000", "d", sub_clean)],
    }
    tips = {}
    for name, entries in trees.items():
        tree = _tree(work, [*entries, ("100644", "base.txt", kept)])
        tip = work.git("commit-tree", tree, "-p", base, "-m", name).strip()
        work.git("update-ref", f"refs/heads/{name}", tip)
        tips[name] = tip
    # An ordinary commit on top, holding the key once: known from the commit below only
    # if that one's key was reported.
    plain = _tree(work, [("100644", "a.env", keyed), ("100644", "base.txt", kept)])
    tip = work.git("commit-tree", plain, "-p", tips["keyfirst"], "-m", "plain").strip()
    work.git("update-ref", "refs/heads/plaintip", tip)
    tips["plaintip"] = tip
    return tips


@pytest.mark.parametrize("name", ["keyfirst", "keylast", "dirtwice", "slashname", "plaintip"])
def test_a_path_named_twice_is_scanned_entry_by_entry(tmp_path: Path, name: str) -> None:
    server, work, env = guarded_server(tmp_path)
    tips = _shapes(work)
    path = "d/k.env" if name in ("dirtwice", "slashname") else "a.env"

    run = run_cli("range", f"refs/heads/main..refs/heads/{name}", cwd=work.path)
    assert run.code == 1, run.all
    first = tips["keyfirst"] if name == "plaintip" else tips[name]
    assert f"{first[:12]}:{path}:1:" in run.out  # the commit and path `git ls-tree` lists

    run = run_cli("ci", "--base", "refs/heads/main", "--head", f"refs/heads/{name}", cwd=work.path)
    assert run.code == 1, run.all
    line = f"refs/heads/{name} {tips[name]} refs/heads/{name} {ZERO}\n"
    run = run_cli("pre-push", "origin", "x", cwd=work.path, input=line.encode())
    assert run.code == 1, run.all

    # `history` reads every object: the same key is found there (a bare copy holding
    # only main and this branch, so no other branch carries the key blob).
    copy = GitRepo(tmp_path / "copy.git", bare=True)
    copy.git("fetch", "-q", str(work.path), "main:main", f"{name}:{name}")
    run = run_cli("history", cwd=copy.path)
    assert run.code == 1 and f"{path}:1:" in run.out, run.all

    push = ["git", "push", "origin", f"refs/heads/{name}"]
    proc = subprocess.run(push, cwd=work.path, env=env, capture_output=True, text=True)
    assert proc.returncode != 0 and "pre-receive hook declined" in proc.stderr, proc.stderr
    assert server.git("for-each-ref", f"refs/heads/{name}") == ""
