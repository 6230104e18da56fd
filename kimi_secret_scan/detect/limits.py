"""Bounds every detector shares, and the error raised when one is exceeded.

Read as `limits.REGEX_TIMEOUT` (module attribute, not an imported name) so a test can lower it
in one place.
"""

from __future__ import annotations

from kimi_secret_scan.errors import ScanError

# A guard, not a budget: every pattern is linear, so only a regex-engine surprise reaches it.
REGEX_TIMEOUT = 20.0
# How many encodings deep a key is looked for (base64 in base64 in a JSON string: 3).
MAX_DEPTH = 3
# The longest sk- token judged at all.
MAX_TOKEN = 300
# How far (bytes, either side) context words count for a key.
CONTEXT_WINDOW = 2048


class DetectionTimeout(ScanError):
    """A pattern took longer than its time limit on this content.

    scan() reports the content as skipped; a caller that does not catch it stops with
    exit code 2 and a one-line message, never with a silent pass.
    """

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}" if path else reason)
        self.path = path
        self.reason = reason
