"""Ctrl-C while history workers read (--jobs 2): exit 130, one line, no git left running.

As tests/test_interrupt.py, with the object list split among worker processes: the
workers ignore SIGINT, the parent stops them, and their cat-files end on a closed pipe.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.gitrepo import git
from tests.test_interrupt import children, reading, running_in, slow_history


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
    # Until a worker reads (its cat-file runs): a fixed 0.3 s after the first two children
    # may, on a loaded machine, still be the set-up.
    deadline = time.monotonic() + 60  # only catches a scan that never starts reading
    while proc.poll() is None and time.monotonic() < deadline:
        if len(children(proc.pid)) >= 2 and reading(proc.pid):
            break
        time.sleep(0.02)
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


def _big_container_history(path: Path) -> Path:
    """Bare repository: several zips over a window (8 MiB), each with a key in a member, so
    the workers spool them to temporary files while they read."""
    import io
    import zipfile

    from tests.keygen import kimi_code_key

    git(path.parent, "init", "-q", "--bare", str(path))
    stream = []
    for i in range(6):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
            archive.writestr("filler.bin", os.urandom(24 << 20))
            archive.writestr("cfg.env", f"KIMI_API_KEY={kimi_code_key()}\n")
        data = buffer.getvalue()
        message = b"change %d\n" % i
        stream.append(b"blob\nmark :1\ndata %d\n%s\n" % (len(data), data))
        stream.append(
            b"commit refs/heads/main\ncommitter A <a@example.com> %d +0000\ndata %d\n%s"
            % (1_700_000_000 + i, len(message), message)
        )
        stream.append(b"M 100644 :1 bundle%d.zip\n\n" % i)
    git(path, "fast-import", "--quiet", input=b"".join(stream))
    return path


@pytest.mark.parametrize("command", ["history", "audit"])
def test_sigint_leaves_no_worker_temp_file(tmp_path: Path, command: str) -> None:
    """Workers are killed on Ctrl-C (history --jobs) or terminated (the organisation
    audit's pool), so no finally of theirs runs: a large container's spool (whole keys in
    it) must still not be left in the temporary directory."""
    repo = _big_container_history(tmp_path / "zips.git").resolve()
    temp = tmp_path / "tmp"
    temp.mkdir()
    if command == "history":
        args = ["history", "--jobs", "2", "--repo", str(repo)]
    else:
        out = str(tmp_path / "reports")
        args = ["audit", "--no-progress", "--output-dir", out, "-j", "1", str(repo)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "kimi_secret_scan", *args],
        cwd=tmp_path,
        env={**os.environ, "TMPDIR": str(temp)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 30
    spooled = False
    while proc.poll() is None and time.monotonic() < deadline:
        spooled = any(p.is_file() for p in temp.rglob("kimi-secret-scan-*"))
        if spooled:
            break
        time.sleep(0.01)
    assert spooled, "no worker spooled a container before the scan ended"
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert list(temp.iterdir()) == []


def test_sigterm_stops_the_workers_and_removes_their_files(tmp_path: Path) -> None:
    """SIGTERM to the scanner alone (`timeout`, a cancelled CI job): it used to die at once,
    leaving its workers running for good (holding the job's output pipes) and their spools
    (whole keys) in the temporary directory. Now it stops as Ctrl-C stops it."""
    repo = _big_container_history(tmp_path / "zips.git").resolve()
    temp = tmp_path / "tmp"
    temp.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "kimi_secret_scan", "history", "--jobs", "2", "--repo", str(repo)],
        cwd=tmp_path,
        env={**os.environ, "TMPDIR": str(temp)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while proc.poll() is None and time.monotonic() < deadline:
        if any(p.is_file() for p in temp.rglob("kimi-secret-scan-*")):
            break
        time.sleep(0.01)
    workers = children(proc.pid)
    assert proc.poll() is None and workers, "the workers had not started"
    proc.send_signal(signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=30)  # a worker left running would hold the pipe
    except subprocess.TimeoutExpired:
        for pid in workers:  # not left behind by a failing run
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        raise
    assert proc.returncode == 143, err
    assert err.decode().strip().splitlines()[-1] == "kimi-secret-scan: terminated"
    assert b"Traceback" not in err
    assert list(temp.iterdir()) == []


def test_workers_end_when_the_scanner_is_killed(tmp_path: Path) -> None:
    """SIGKILL (the OOM killer, a runner's hard stop) gives the parent no chance to clean
    up: its workers end with it all the same, and no git reads the repository after."""
    repo = slow_history(tmp_path / "slow.git").resolve()
    proc = subprocess.Popen(
        [sys.executable, "-m", "kimi_secret_scan", "history", "--jobs", "2", "--repo", str(repo)],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 20
    while len(children(proc.pid)) < 2 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    workers = children(proc.pid)
    assert proc.poll() is None and len(workers) >= 2, "the workers had not started"
    proc.kill()
    proc.wait()

    def alive() -> list[int]:
        return [w for w in workers if Path(f"/proc/{w}").exists()] + running_in(repo)

    for _ in range(100):  # a generous bound that only catches a worker left running
        if not alive():
            break
        time.sleep(0.05)
    assert alive() == []


def test_ctrl_c_while_the_organisation_audit_reads(tmp_path: Path) -> None:
    """SIGINT to the group while the pool's workers read: exit 130, no worker traceback
    (workers start with SIGINT blocked, then ignore it; the parent stops them)."""
    repos = [str(slow_history(tmp_path / f"slow{n}.git").resolve()) for n in range(2)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "kimi_secret_scan", "audit", *repos, "--jobs", "2",
         "--output-dir", str(tmp_path / "out"), "--no-progress"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip

    def workers() -> list[int]:  # the pool's processes (python), not a git
        found = []
        for pid in children(proc.pid):
            with contextlib.suppress(OSError):
                if b"python" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    found.append(pid)
        return found

    # Until the workers read (a cat-file of theirs runs; a spawned worker still starting up
    # does not): a fixed 0.3 s after the first worker appeared could still be its start.
    deadline = time.monotonic() + 60  # only catches an audit that never starts reading
    while proc.poll() is None and time.monotonic() < deadline:
        if workers() and reading(proc.pid):
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the audit ended before it could be interrupted"
    os.killpg(proc.pid, signal.SIGINT)
    _out, err = proc.communicate(timeout=60)  # only catches a hang
    assert proc.returncode == 130, err
    assert b"Traceback" not in err and b"Fatal Python error" not in err, err


def test_a_ctrl_c_as_a_worker_starts_is_ignored_by_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker ignores SIGINT from its initializer on; a Ctrl-C to the group between its
    fork and that point raised KeyboardInterrupt in it (a traceback on stderr, a broken
    pool). Workers now start with SIGINT blocked (git.worker_start_guard, around every
    submit of the history's sharded read); here the signal arrives in that very window."""
    from kimi_secret_scan import git as gitlayer

    real = gitlayer._worker_start

    def starting(temp_dir: str | None = None, start: object = None) -> None:
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C to the group, as this worker starts
        real(temp_dir, start)  # type: ignore[arg-type]

    monkeypatch.setattr(gitlayer, "_worker_start", starting)
    # The handler a terminal user's Python has, inherited by the forked workers (a pytest
    # run as a background job starts with SIGINT ignored, and this test would prove nothing).
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    pool = gitlayer.worker_pool(2)
    try:
        with gitlayer.worker_start_guard():
            futures = [pool.submit(os.getpid) for _ in range(4)]
        pids = {future.result(timeout=60) for future in futures}
    finally:
        pool.shutdown()
        signal.signal(signal.SIGINT, previous)
    assert pids and os.getpid() not in pids
