"""A one-line progress display on stderr for long scans, shown only on a terminal."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """Call with (objects, bytes); redraws at most a few times a second."""

    def __init__(self, label: str, stream: TextIO | None = None, interval: float = 0.25) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.interval = interval
        self.start = time.monotonic()
        self._last = 0.0
        self._drawn = False

    @staticmethod
    def wanted(stream: TextIO | None = None) -> bool:
        stream = stream or sys.stderr
        try:
            return stream.isatty()
        except (AttributeError, ValueError):
            return False

    def __call__(self, objects: int, nbytes: int) -> None:
        now = time.monotonic()
        if now - self._last < self.interval:
            return
        self._last = now
        elapsed = max(now - self.start, 1e-6)
        rate = nbytes / elapsed / 1_000_000
        self.stream.write(
            f"\r{self.label}: {objects:,} objects, {nbytes / 1_000_000:,.1f} MB read, "
            f"{rate:,.1f} MB/s\x1b[K"
        )
        self.stream.flush()
        self._drawn = True

    def done(self) -> None:
        if self._drawn:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
