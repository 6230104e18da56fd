"""Every byte of an author, committer or tagger line is published (git cat-file, forges
showing raw objects), not only its name and email: hand-made objects carry a key after
the time zone, glued to `>`, or in a line without `<email>`, and a server without
receive.fsckObjects stores them."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest

from tests.gitrepo import GitRepo, run_cli
from tests.keygen import kimi_code_key
from tests.remotes import guarded_server

IDENTITY_LINES = {
    "after the zone (author)": "author a <a@x> 1700000000 +0000 {k}\ncommitter a <a@x> 1 +0000",
    "after the zone (committer)": "author a <a@x> 1 +0000\ncommitter a <a@x> 1700000000 +0000 {k}",
    "between email and date": "author a <a@x> {k} 1700000000 +0000\ncommitter a <a@x> 1 +0000",
    "a second <>": "author a <a@x> <{k}> 1700000000 +0000\ncommitter a <a@x> 1 +0000",
    "no <email>": "author {k} 1700000000 +0000\ncommitter a <a@x> 1 +0000",
    "glued to >": "author a <a@x>{k} 1700000000 +0000\ncommitter a <a@x> 1 +0000",
    "an earlier author line": (
        "author {k} <a@x> 1 +0000\nauthor a <a@x> 1 +0000\ncommitter a <a@x> 1 +0000"
    ),
}

TAGGER_LINES = {
    "after the tagger's zone": "tagger a <a@x> 1700000000 +0000 {k}",
    "tagger without <email>": "tagger {k} 1700000000 +0000",
    "an earlier tagger line": "tagger {k} <a@x> 1 +0000\ntagger a <a@x> 1 +0000",
    "a line after the tagger": "tagger a <a@x> 1 +0000\nx-note {k}",
    "a second tag line": "tag {k}\ntagger a <a@x> 1 +0000",
}


def _sha(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _found(out: str) -> set[str]:
    return {f["secret_sha256"] for f in json.loads(out)["findings"]}


def _hand_made_commits(repo: GitRepo) -> tuple[str, dict[str, str]]:
    """A chain of hand-made commits, one per identity line variant: (base, label -> key)."""
    base = repo.commit_file("base.txt", "base\n", "base")
    tree = repo.git("rev-parse", "HEAD^{tree}").strip()
    parent, planted = base, {}
    for n, (label, lines) in enumerate(IDENTITY_LINES.items()):
        key = kimi_code_key()
        planted[label] = key
        body = f"tree {tree}\nparent {parent}\n{lines.format(k=key)}\n\nchange {n}\n"
        parent = repo.git(
            "hash-object", "-t", "commit", "-w", "--literally", "--stdin", input=body.encode()
        ).strip()
    repo.git("update-ref", "refs/heads/main", parent)
    return base, planted


def _hand_made_tags(repo: GitRepo) -> dict[str, str]:
    """One annotated tag (each under a tag ref) per tagger line variant: label -> key."""
    head = repo.head()
    planted = {}
    for n, (label, lines) in enumerate(TAGGER_LINES.items()):
        key = kimi_code_key()
        planted[label] = key
        body = f"object {head}\ntype commit\ntag t{n}\n{lines.format(k=key)}\n\nrelease\n"
        tag = repo.git(
            "hash-object", "-t", "tag", "-w", "--literally", "--stdin", input=body.encode()
        ).strip()
        repo.git("update-ref", f"refs/tags/t{n}", tag)
    return planted


@pytest.mark.parametrize(
    "args", [["range"], ["history"], ["history", "--jobs", "2"]], ids=lambda a: " ".join(a)
)
def test_a_key_anywhere_in_an_identity_line_is_found(tmp_path: Path, args: list[str]) -> None:
    repo = GitRepo(tmp_path / "r")
    base, planted = _hand_made_commits(repo)
    if args == ["range"]:
        args = ["range", f"{base}..main"]
    run = run_cli(*args, "--format", "json", cwd=repo.path)
    assert run.code == 1, run.all
    found = _found(run.out)
    missed = [label for label, key in planted.items() if _sha(key) not in found]
    assert not missed, missed
    assert not any(key in run.all for key in planted.values())


def test_a_key_anywhere_in_a_tagger_line_is_found_by_history(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "r")
    repo.commit_file("base.txt", "base\n", "base")
    planted = _hand_made_tags(repo)
    for args in (["history"], ["history", "--jobs", "2"]):
        run = run_cli(*args, "--format", "json", cwd=repo.path)
        assert run.code == 1, run.all
        found = _found(run.out)
        missed = [label for label, key in planted.items() if _sha(key) not in found]
        assert not missed, (args, missed)


def test_plain_identities_are_still_reported_once(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "r")
    repo.commit_file("base.txt", "base\n", "base")
    key = kimi_code_key()
    for n in range(3):
        repo.git(
            "-c", f"user.name={key}", "commit", "-q", "--allow-empty", "-m", f"c{n}",
            "--author", f"{key} <a@x>",
        )  # fmt: skip
    for args in (["range", "HEAD~3..HEAD"], ["history"]):
        run = run_cli(*args, "--format", "json", cwd=repo.path)
        assert run.code == 1, run.all
        assert len(json.loads(run.out)["findings"]) == 1, (args, run.out)


def test_pre_receive_rejects_a_key_after_the_committer_s_zone(tmp_path: Path) -> None:
    _, work, env = guarded_server(tmp_path)
    key = kimi_code_key()
    tree = work.git("rev-parse", "HEAD^{tree}").strip()
    body = (
        f"tree {tree}\nparent {work.head()}\nauthor a <a@x> 1700000000 +0000\n"
        f"committer a <a@x> 1700000000 +0000 {key}\n\nrelease\n"
    )
    commit = work.git(
        "hash-object", "-t", "commit", "-w", "--literally", "--stdin", input=body.encode()
    ).strip()
    work.git("update-ref", "refs/heads/main", commit)
    proc = subprocess.run(
        ["git", "push", "origin", "main"], cwd=work.path, env=env, capture_output=True, check=False
    )
    shown = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode != 0, shown
    assert f"commit header of {commit[:12]}" in shown and key not in shown


def test_pre_receive_rejects_a_key_in_a_tagger_line(tmp_path: Path) -> None:
    _, work, env = guarded_server(tmp_path)
    planted = _hand_made_tags(work)
    for n, label in enumerate(planted):
        proc = subprocess.run(
            ["git", "push", "origin", f"refs/tags/t{n}"],
            cwd=work.path,
            env=env,
            capture_output=True,
            check=False,
        )
        shown = proc.stderr.decode("utf-8", "replace")
        assert proc.returncode != 0, (label, shown)
        assert "pre-receive hook declined" in shown, label
