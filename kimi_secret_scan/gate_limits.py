"""What a gate does with what a limit set aside, and the names a change creates.

Kept apart from gate.py (which reads baselines and configurations of the base side) so the
pre-commit hook, which needs only these, does not import that machinery.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from kimi_secret_scan.content import Content, Skipped

SIZE_LIMIT = "larger than the size limit"
UNACCEPTED_SIZE = (
    "; not scanned, so the scan is incomplete: scan it with a larger --max-file-size, or "
    "accept skipping it by setting --max-file-size (or max-file-size in the configuration) "
    "yourself"
)


def size_skips_unread(
    items: Iterable[Content | Skipped], accepted: bool
) -> Iterator[Content | Skipped]:
    """A gate's items, with each file skipped by a size limit nobody chose (the default)
    turned into unread content: the gate then fails (exit 2) instead of passing it."""
    for item in items:
        if (
            not accepted
            and isinstance(item, Skipped)
            and not item.unreadable
            and item.reason.startswith(SIZE_LIMIT)
        ):
            yield Skipped(item.path, item.reason + UNACCEPTED_SIZE, unreadable=True)
        else:
            yield item


def new_path_names(paths: Sequence[str], where: str) -> Iterator[Content]:
    """The names of the paths a change creates, as one piece of content (a name is
    published with the file)."""
    if paths:
        text = "\n".join(paths).encode("utf-8", "surrogateescape")
        yield Content(where, text, metadata=True)
