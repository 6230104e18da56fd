"""What a gate does with what a limit set aside, and the names a change creates.

Kept apart from gate.py (which reads baselines and configurations of the base side) so the
pre-commit hook, which needs only these, does not import that machinery.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING

from kimi_secret_scan.content import Content, Skipped

if TYPE_CHECKING:
    from kimi_secret_scan.config import Config

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


def must_unpack(trusted: Config | None) -> Callable[[str], bool]:
    """For scan(unread_containers=): a container a gate could not wholly unpack (a limit,
    an encrypted or Deflate64 member, a damaged archive) fails it, unless the configuration
    the gate trusts (the base side's in a commit gate, the project's in `staged` and
    `commit-msg`) excludes the container: every gate alike, so none passes a key it could
    not read."""

    def must(path: str) -> bool:
        if trusted is None or not trusted.exclude:
            return True
        from kimi_secret_scan import repo_paths
        from kimi_secret_scan.globs import excluded

        return not any(
            excluded(name, trusted.exclude) for name in repo_paths.candidates(path, trusted.root)
        )

    return must
