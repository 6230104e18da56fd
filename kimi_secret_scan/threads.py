"""Helper threads that leave Ctrl-C and SIGTERM to the main thread.

The kernel hands a signal sent to the process to any one thread that does not block it.
Python runs its handler in the main thread only, and a main thread waiting on a lock (a
future's result, a thread's join) is woken for it only when the signal was delivered to
the main thread itself. Delivered to a helper thread, a Ctrl-C waited for the wait to end
on its own: `history --jobs` read a whole shard first, 30 s and more on a large history
(tests/test_history_jobs_interrupt.py). So every helper thread starts with both signals
blocked (a new thread inherits its starter's mask), and the main thread's long waits wake
now and then, for the threads this module does not start (a library's, one that starts
git, whose child would inherit the mask).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from typing import Any

# How often a waiting main thread looks for a signal another thread took: the delay a
# Ctrl-C may see at worst, and nothing measurable for a wait of any length.
TICK = 0.25

_SIGNALS = {signal.SIGINT, signal.SIGTERM}


@contextlib.contextmanager
def signals_blocked() -> Iterator[None]:
    """SIGINT and SIGTERM blocked in this thread for the block (and in what it starts)."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
    try:
        yield
    finally:
        # A signal that came meanwhile is delivered as the mask is restored.
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def started(thread: threading.Thread) -> threading.Thread:
    """`thread` started with SIGINT and SIGTERM blocked. Not for a thread that starts a
    process: the child would inherit the mask, and a Ctrl-C to the group would not end it."""
    with signals_blocked():
        thread.start()
    return thread


def start(target: Callable[..., object], *args: Any, daemon: bool = True) -> threading.Thread:
    """A helper thread running `target(*args)`, started as `started` starts one."""
    return started(threading.Thread(target=target, args=args, daemon=daemon))


def join(thread: threading.Thread) -> None:
    """thread.join(), waking every TICK so that a signal another thread took is handled."""
    while thread.is_alive():
        thread.join(TICK)
