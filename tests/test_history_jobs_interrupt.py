"""Ctrl-C while history workers read (--jobs 2): exit 130, one line, no git left running.

As tests/test_interrupt.py, with the object list split among worker processes: the
workers ignore SIGINT, the parent stops them, and their cat-files end on a closed pipe.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.test_interrupt import children, running_in, slow_history


@pytest.mark.parametrize("target", ["group", "scanner"])
def test_sigint_while_workers_read(tmp_path: Path, target: str) -> None:
    repo = slow_history(tmp_path / "slow.git").resolve()
    proc = subprocess.Popen(
        [sys.executable, "-m", "kimi_secret_scan", "history", "--jobs", "2", "--repo", str(repo)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 20
    while len(children(proc.pid)) < 2 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.3)
    assert proc.poll() is None, "the scan ended before it could be interrupted"
    assert len(children(proc.pid)) >= 2, "the workers had not started"
    if target == "group":
        os.killpg(proc.pid, signal.SIGINT)
    else:
        os.kill(proc.pid, signal.SIGINT)
    # A generous bound that only catches a hang; it is not a timing assertion.
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert err.decode().strip().splitlines()[-1] == "kimi-secret-scan: interrupted"
    assert b"Traceback" not in err
    assert out == b""
    for _ in range(50):
        if not running_in(repo):
            break
        time.sleep(0.05)
    assert running_in(repo) == []
