"""Gitignore-style path globs, as the configuration's `exclude` key uses them.

The subset of gitignore that matters for excluding findings: `*`, `?`, `[…]`, `**`, a
leading `/` or an inner `/` anchoring to the repository root, a trailing `/` for
directories, and `!` to re-include. The last pattern that matches a path decides.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from kimi_secret_scan import record


@record.frozen
@dataclass(init=False, repr=False, eq=False)
class Glob:
    """An exclude pattern, compiled; `negate` for a `!pattern`."""

    text: str
    pattern: re.Pattern[str]
    negate: bool

    def __init__(self, text: str, pattern: re.Pattern[str], negate: bool) -> None:
        record.assign(self, text=text, pattern=pattern, negate=negate)


def _translate(glob: str) -> str:
    out: list[str] = []
    i, n = 0, len(glob)
    while i < n:
        c = glob[i]
        if c == "*":
            if glob.startswith("**", i):
                at_start = i == 0 or glob[i - 1] == "/"
                if at_start and glob.startswith("**/", i):
                    out.append("(?:.*/)?")
                    i += 3
                    continue
                out.append(".*")
                i += 2
                continue
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            end = glob.find("]", i + 2 if glob.startswith(("[!", "[^"), i) else i + 1)
            if end < 0:
                raise ValueError(f"unclosed [ in {glob!r}")
            inner = glob[i + 1 : end]
            if inner.startswith("!"):
                inner = "^" + inner[1:]
            out.append("[" + inner.replace("\\", "\\\\") + "]")
            i = end
        elif c == "\\" and i + 1 < n:
            out.append(re.escape(glob[i + 1]))
            i += 1
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)


def compile_glob(text: str) -> Glob:
    """Compile one pattern; ValueError for a pattern that cannot be read."""
    glob = text.strip()
    negate = glob.startswith("!")
    if negate:
        glob = glob[1:]
    dir_only = glob.endswith("/")
    glob = glob.rstrip("/")
    if not glob:
        raise ValueError(f"empty pattern {text!r}")
    anchored = "/" in glob
    glob = glob.lstrip("/")
    body = _translate(glob)
    head = "^" if anchored else "(?:^|.*/)"
    tail = "/.*$" if dir_only else "(?:/.*)?$"
    try:
        pattern = re.compile(head + body + tail, re.DOTALL)
    except re.error as exc:
        raise ValueError(f"{text!r}: {exc}") from None
    return Glob(text=text, pattern=pattern, negate=negate)


def excluded(path: str, globs: Iterable[Glob]) -> bool:
    """Does the last pattern that matches `path` (a /-separated relative path) exclude it?"""
    result = False
    for glob in globs:
        if glob.pattern.match(path):
            result = not glob.negate
    return result
