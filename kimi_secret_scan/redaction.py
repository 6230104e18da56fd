"""Redaction of key-shaped tokens in text that is not a finding: error messages, and the
paths and ref names a report prints (a file or branch can be named after a key).

Findings redact their own key; this is the net under everything else the tool prints.
"""

from __future__ import annotations

import re

from kimi_secret_scan.finding import redact

# An sk- token with a run of 20+ letters and digits: the shape of every key the detectors
# report, and not of ordinary names such as `sk-learn-notes.md`. No left boundary: a
# branch may be named `xsk-<key>`, and hiding a harmless `task-…` costs nothing.
_KEY_SHAPED = re.compile(r"sk-(?:kimi-)?[A-Za-z0-9]{20,}")


def redact_text(text: str) -> str:
    """`text` with every key-shaped token redacted as findings redact keys."""
    if "sk-" not in text:
        return text
    return _KEY_SHAPED.sub(lambda m: redact(m.group(0)), text)
