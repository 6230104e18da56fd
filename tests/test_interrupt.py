"""Ctrl-C during a history scan: prompt exit 130, a one-line message, no git left running.

The history is built to take a few seconds to scan (a few MB of lines that each look like
a key candidate). SIGINT is sent once the scanner has started its git processes: to the
whole process group, as a terminal's Ctrl-C does, and to the scanner alone, as `kill -INT`
does (then git gets no signal and must be stopped by the scanner).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.gitrepo import git


def slow_history(path: Path) -> Path:
    git(path.parent, "init", "-q", "--bare", str(path))
    stream = []
    for i in range(12):
        data = b"".join(b'KIMI_API_KEY="sk-%06d%06d"\n' % (i, j) for j in range(30_000))
        message = b"change %d\n" % i
        stream.append(b"blob\nmark :1\ndata %d\n%s\n" % (len(data), data))
        stream.append(
            b"commit refs/heads/main\ncommitter A <a@example.com> %d +0000\ndata %d\n%s"
            % (1_700_000_000 + i, len(message), message)
        )
        stream.append(b"M 100644 :1 f%d.txt\n\n" % (i % 4))
    git(path, "fast-import", "--quiet", input=b"".join(stream))
    return path


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid …": comm may hold spaces, so split after the last ')'.
        if int(stat.rpartition(")")[2].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def reading(pid: int) -> list[int]:
    """The `git cat-file` processes under `pid` (its own, or its workers'): the scan reads."""
    found = []
    for child in children(pid):
        for proc in (child, *children(child)):
            try:
                if b"cat-file" in Path(f"/proc/{proc}/cmdline").read_bytes():
                    found.append(proc)
            except OSError:
                continue
    return found


def running_in(directory: Path) -> list[int]:
    """Processes whose working directory is `directory` (git runs in the repository)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if Path(os.readlink(entry / "cwd")) == directory:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


@pytest.mark.parametrize("target", ["group", "scanner"])
def test_sigint_during_history_scan(tmp_path: Path, target: str) -> None:
    repo = slow_history(tmp_path / "slow.git").resolve()
    proc = subprocess.Popen(
        [sys.executable, "-m", "kimi_secret_scan", "history", "--repo", str(repo)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        # A shell without job control starts background jobs with SIGINT ignored, and an
        # ignored signal is inherited: give the scanner the default a terminal user has.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    # Interrupted while it reads (its cat-file runs), not while a short git of the set-up
    # does: a fixed 0.3 s after the first child was, on a loaded machine, still the set-up.
    deadline = time.monotonic() + 60  # only catches a scan that never starts reading
    while not reading(proc.pid) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert proc.poll() is None, "the scan ended before it could be interrupted"
    started = children(proc.pid)
    assert started
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
    for _ in range(50):  # git, if killed, may take a moment to be reaped
        if not running_in(repo):
            break
        time.sleep(0.05)
    assert running_in(repo) == []


@pytest.mark.parametrize(
    ("signum", "code", "said"),
    [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")],
)
def test_a_signal_while_the_options_load_is_the_same_stop(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    signum: int,
    code: int,
    said: str,
) -> None:
    """The shared options load the configuration (running git) before a command's own error
    handling: a Ctrl-C there became click's "Aborted!" and exit 1, the code for "keys
    found". The test above met it on a loaded machine (its signal landed in that phase, not
    in the scan); here the signal is sent to this process at that very place."""
    from kimi_secret_scan import cli

    real = cli.configure

    def configure(*args: object, **kwargs: object) -> cli.ScanOptions:
        os.kill(os.getpid(), signum)  # raised here, at the next bytecode, as in the CLI
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(cli, "configure", configure)
    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    # What a terminal user's Python has, whatever this pytest inherited: run as a
    # background job of a shell without job control, it starts with SIGINT ignored, and
    # the signal then never reached the CLI (exit 0).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        with pytest.raises(SystemExit) as stopped:
            cli.main.main(["files", str(tmp_path)], prog_name="kimi-secret-scan")
    finally:
        for signum_, handler in previous.items():  # the CLI's handlers are not left in pytest
            signal.signal(signum_, handler)
    assert stopped.value.code == code
    assert capsys.readouterr().err.strip().splitlines()[-1] == f"kimi-secret-scan: {said}"
