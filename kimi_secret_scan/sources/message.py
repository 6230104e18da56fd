"""A commit message file, as the commit-msg hook receives it."""

from __future__ import annotations

from pathlib import Path

from kimi_secret_scan.content import Content
from kimi_secret_scan.errors import ScanError

# `git commit -v` appends the diff below this line; git drops it from the message, and the
# staged scan already covers the diff.
_SCISSORS = b"------------------------ >8 ------------------------"


def read_message(path: str) -> Content:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ScanError(f"{path}: {exc.strerror or 'cannot be read'}") from None
    cut = data.find(_SCISSORS)
    if cut >= 0:
        data = data[: data.rfind(b"\n", 0, cut) + 1]
    return Content(path=path, data=data)
