"""Helper threads leave Ctrl-C and SIGTERM to the main thread (kimi_secret_scan/threads.py).

The kernel gives a process-directed signal to any thread that does not block it; Python
runs the handler in the main thread, whose wait on a lock is then not woken. A helper
thread that took the signal held a `history --jobs` Ctrl-C until a whole shard was read
(tests/test_history_jobs_interrupt.py failed in CI this way).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from pathlib import Path

from kimi_secret_scan import threads


def _blocked_here() -> set[int]:
    """The signals this thread blocks, read from the kernel's own view of it."""
    tid = threading.get_native_id()
    for line in Path(f"/proc/self/task/{tid}/status").read_text().splitlines():
        if line.startswith("SigBlk:"):
            mask = int(line.split()[1], 16)
            return {n for n in range(1, 65) if mask >> (n - 1) & 1}
    raise AssertionError("no SigBlk line")


def test_a_helper_thread_blocks_sigint_and_sigterm_and_the_caller_does_not() -> None:
    seen: list[set[int]] = []
    thread = threads.start(lambda: seen.append(_blocked_here()))
    threads.join(thread)
    assert {signal.SIGINT, signal.SIGTERM} <= seen[0]
    # The starter's own mask is as it was: its Ctrl-C still comes to it.
    assert signal.SIGINT not in _blocked_here()
    assert signal.SIGTERM not in _blocked_here()


def test_join_returns_when_the_thread_ends() -> None:
    release = threading.Event()
    thread = threads.start(release.wait)
    timer = threading.Timer(threads.TICK * 2, release.set)
    timer.start()
    threads.join(thread)
    assert not thread.is_alive()


# A Ctrl-C the kernel gave to another thread, while the main thread waits in join: the
# main thread blocks SIGINT (after starting a plain thread, which does not), so only that
# thread can take it. A plain `thread.join()` is not woken until the thread ends (here a
# wait of 10 minutes); threads.join runs the handler within a tick.
_JOIN_PROBE = """
import os, signal, sys, threading
from kimi_secret_scan import threads
hold = threading.Event()
helper = threading.Thread(target=hold.wait, args=(600,), daemon=True)
helper.start()
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT)).start()
try:
    threads.join(helper)
except KeyboardInterrupt:
    print("interrupted", flush=True)
    os._exit(130)
print("joined", flush=True)
"""


def test_join_handles_a_ctrl_c_another_thread_took() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", _JOIN_PROBE], capture_output=True, text=True, timeout=120
    )
    assert (proc.returncode, proc.stdout) == (130, "interrupted\n"), proc.stderr
