"""Turn content (bytes) into findings: the public door to `kimi_secret_scan.detect`.

Kept so `from kimi_secret_scan.detectors import detect, DetectionTimeout` works everywhere;
the code lives in the `detect` package, one module per concern. To lower the regex time
limit in a test, patch `kimi_secret_scan.detect.limits.REGEX_TIMEOUT`.
"""

from __future__ import annotations

from kimi_secret_scan.detect import MAX_DEPTH, REGEX_TIMEOUT, DetectionTimeout, detect
from kimi_secret_scan.finding import Finding

__all__ = ["MAX_DEPTH", "REGEX_TIMEOUT", "DetectionTimeout", "Finding", "detect"]
