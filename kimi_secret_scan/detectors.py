"""Turn content (bytes) into findings: the public door to `kimi_secret_scan.detect`.

Kept so `from kimi_secret_scan.detectors import detect, DetectionTimeout` works everywhere;
the code lives in the `detect` package, one module per concern. The limits live in
`kimi_secret_scan.detect.limits`; setting them here (`monkeypatch.setattr(detectors,
"REGEX_TIMEOUT", ...)` in a test) sets them there, so older callers keep working.
"""

from __future__ import annotations

import sys
import types
from typing import Any

from kimi_secret_scan.detect import MAX_DEPTH, REGEX_TIMEOUT, DetectionTimeout, detect, limits
from kimi_secret_scan.finding import Finding

__all__ = ["MAX_DEPTH", "REGEX_TIMEOUT", "DetectionTimeout", "Finding", "detect"]

_FORWARDED = frozenset({"REGEX_TIMEOUT", "MAX_DEPTH"})


class _Door(types.ModuleType):
    def __setattr__(self, name: str, value: Any) -> None:
        if name in _FORWARDED:
            setattr(limits, name, value)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Door
