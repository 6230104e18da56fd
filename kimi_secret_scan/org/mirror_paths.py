"""Where the mirror cache lives by default (apart from `mirror`, which imports GitPython)."""

from __future__ import annotations

import os
from pathlib import Path


def default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "kimi-secret-scan" / "mirrors"
