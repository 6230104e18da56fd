"""Jupyter notebooks: a cell's source (and an output's text) is a list of strings that
nbformat joins with "" before showing it. Jupyter writes one string per line, each ending
in `\\n`, and the detectors read such lists as the lines they are; a list split elsewhere
(`["key = 'sk-kimi-abc", "def…'\\n"]`: a key cut in two mid-line) is shown whole by
Jupyter but is two strings in the file. Each such list is joined here into a layer of its
own (the strings' text, still JSON-escaped, side by side), with every byte's offset in the
file, so a key found in it is located where it starts in the notebook.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

from kimi_secret_scan.decoders import Decoded, WindowLimit, window_budget
from kimi_secret_scan.detect.excerpt import Span
from kimi_secret_scan.finding import Finding
from kimi_secret_scan.lazy_regex import lazy

LABEL = "notebook"
_PIECES = "Written in pieces (across strings or lines); reported joined."

# A list opening after a key (`"source": [`); then its strings, each followed by `,` or `]`.
_LIST = lazy(rb":[ \t\r\n]*\[[ \t\r\n]*(?=\")")
# (The two alternatives never match the same byte, so a string without its closing quote
# costs one pass, not a backtrack.)
_STRING = lazy(rb'"((?:[^"\\\r\n]|\\.)*)"[ \t\r\n]*([,\]])[ \t\r\n]*')
_NEWLINE = b"\\n"  # a string that ends a line ends in this escape
# A string that does not end a line, followed by another: what every candidate list holds
# (one C-level search says most notebooks have none).
_MID_LINE = lazy(rb'(?<!\\n)"[ \t]*,[ \t\r\n]*"')


def split_lists(data: bytes) -> Iterator[Decoded]:
    """One layer for each list of strings in `data` that holds a string ending mid-line
    before its last (what nbformat would join into one line); none for the rest."""
    if _MID_LINE.search(data) is None:
        return
    budget = window_budget(len(data))  # as many layers as the decoders may open, and said
    opened = 0
    pos = 0
    for opening in _LIST.finditer(data):
        if opening.start() < pos:
            continue  # inside a list already read: each byte is read once
        spans: list[tuple[int, int]] = []
        pos = opening.end()
        while (string := _STRING.match(data, pos)) is not None:
            spans.append(string.span(1))
            pos = string.end()
            if string.group(2) == b"]":
                break
        if len(spans) < 2 or all(data[s:e].endswith(_NEWLINE) for s, e in spans[:-1]):
            continue
        opened += 1
        if opened > budget:
            raise WindowLimit(budget)
        text = b"".join(data[s:e] for s, e in spans)
        positions = [at for s, e in spans for at in range(s, e)]
        positions.append(spans[-1][1])
        yield Decoded(text, positions, LABEL)


def as_pieces(spans: dict[int, Span], found: list[tuple[int, Finding]], start: int) -> None:
    """Findings of the joined layers (found[start:]) reported as the other keys written in
    pieces are: no encoding of their own, and the note that says so."""
    for n in range(start, len(found)):
        offset, finding = found[n]
        labels = (finding.encoding or "").split("+")
        if LABEL not in labels:
            continue
        labels.remove(LABEL)
        note = f"{_PIECES} {finding.note}" if finding.note else _PIECES
        joined = dataclasses.replace(finding, encoding="+".join(labels) or None, note=note)
        spans[id(joined)] = spans.pop(id(finding))
        found[n] = (offset, joined)
