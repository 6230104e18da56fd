"""Runs at the same time do not interfere: two pre-commit hooks at once in one repository,
and a hook while a history audit of the same repository is running. The scanner takes no
lock and writes nothing, so each run must give exactly the result it gives alone."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.gitrepo import GitRepo
from tests.keygen import kimi_code_key, moonshot_key


def start(*args: str, cwd: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "kimi_secret_scan", *args, "--format", "json", "--show-secrets"],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def secrets(proc: subprocess.Popen[bytes]) -> set[str]:
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, err.decode()
    return {f["secret"] for f in json.loads(out)["findings"]}


def setup(repo: GitRepo) -> tuple[set[str], set[str]]:
    history = set()
    for i in range(20):
        key = moonshot_key()
        history.add(key)
        repo.commit_file(f"mod{i % 5}.py", f'MOONSHOT_API_KEY = "{key}"\n' + "x = 1\n" * 2000)
    staged = {kimi_code_key() for _ in range(3)}
    for i, key in enumerate(sorted(staged)):
        repo.write(f"new{i}.env", f"KIMI_API_KEY={key}\n")
    repo.add()
    return staged, history


def test_two_staged_runs_at_once(repo: GitRepo) -> None:
    staged, _ = setup(repo)
    procs = [start("staged", cwd=repo.path) for _ in range(4)]
    assert [secrets(p) for p in procs] == [staged] * 4


def test_staged_while_history_runs(repo: GitRepo) -> None:
    staged, history = setup(repo)
    audit = start("history", cwd=repo.path)
    hooks = [start("staged", cwd=repo.path) for _ in range(3)]
    assert [secrets(p) for p in hooks] == [staged] * 3
    assert secrets(audit) == history
