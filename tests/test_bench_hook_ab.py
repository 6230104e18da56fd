"""bench/hook_ab.py, as bench/README.md prints it, on a real repository and the installed
scanner: one line per script, with its wall and CPU medians."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.gitrepo import GitRepo

BENCH = Path(__file__).resolve().parent.parent / "bench" / "hook_ab.py"


def test_hook_ab_times_each_script(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.commit_file("a.txt", "hello\n")
    repo.write("b.txt", "nothing here\n")
    repo.add("b.txt")
    script = shutil.which("kimi-secret-scan")
    assert script is not None
    proc = subprocess.run(
        [sys.executable, str(BENCH), str(repo.path), script, script, "--rounds", "2"],
        capture_output=True,
        text=True,
        check=True,
    )
    lines = proc.stdout.splitlines()
    assert len(lines) == 2
    for line in lines:
        assert line.startswith(f"{script}: wall median ") and "CPU median" in line
