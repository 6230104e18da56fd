"""What sources yield: a piece of content and where it lives."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from kimi_secret_scan import record
from kimi_secret_scan.finding import Commit


@record.frozen
@dataclass(init=False, repr=False, eq=False)
class Content:
    """A piece of content to scan, and where it lives."""

    path: str
    data: bytes
    # 1-based line numbers whose findings count (the lines a commit adds); None: every line.
    lines: frozenset[int] | None = None
    commit: Commit | None = None
    # Keys already present before the change (binary files have no line diff): not reported.
    known_secrets: frozenset[str] = frozenset()
    # The keys of the content's earlier version, asked only when a finding falls outside
    # `lines` (a key written in pieces can start on an unchanged line and end on an added
    # one): it counts when the earlier version did not hold it. None: nothing earlier.
    earlier_secrets: Callable[[], frozenset[str]] | None = field(default=None, compare=False)
    # Content too large to hold: `data` is empty, and each call gives its bytes anew in
    # chunks of any size (`size` in all); scan() reads it one window at a time.
    chunks: Callable[[], Iterator[bytes]] | None = field(default=None, compare=False)
    size: int = 0
    # Not a file: a commit or tag message, a ref name, a path name, a person's name and
    # email. `path` then says which ("commit message of 1a2b3c4d5e6f"); it is counted apart.
    metadata: bool = False
    # A piece of a container (unpack/): the path of the outermost container holding it, so
    # what excludes the container excludes its pieces too.
    container: str | None = None
    # A database row (unpack/sqlite.py): the line each cell starts on, and the cell's name
    # (`[row 12].key`), so a finding is located in its cell rather than in the row.
    cells: tuple[tuple[int, str], ...] = ()
    # A window of a larger content (windows.py) whose content names Moonshot or a Kimi
    # endpoint elsewhere: read as Kimi context, as the whole content would be.
    kimi_context: bool = False
    # A commit range's blobs (sources/commits.py): this version's name in the run (blob id
    # and path), and the earlier versions of the same run it was compared with. A key one
    # of those held counts as known only where it was reported there, or known there in
    # turn (scan.py): a copy hidden by an exclude, an allow comment or the size limit is
    # not "already published", so moving it to another path reports it.
    version: str | None = None
    inherits: tuple[str, ...] = ()

    def __init__(
        self,
        path: str,
        data: bytes,
        lines: frozenset[int] | None = None,
        commit: Commit | None = None,
        known_secrets: frozenset[str] = frozenset(),
        earlier_secrets: Callable[[], frozenset[str]] | None = None,
        chunks: Callable[[], Iterator[bytes]] | None = None,
        size: int = 0,
        metadata: bool = False,
        container: str | None = None,
        cells: tuple[tuple[int, str], ...] = (),
        kimi_context: bool = False,
        version: str | None = None,
        inherits: tuple[str, ...] = (),
    ) -> None:
        record.assign(
            self,
            path=path,
            data=data,
            lines=lines,
            commit=commit,
            known_secrets=known_secrets,
            earlier_secrets=earlier_secrets,
            chunks=chunks,
            size=size,
            metadata=metadata,
            container=container,
            cells=cells,
            kimi_context=kimi_context,
            version=version,
            inherits=inherits,
        )


@record.frozen
@dataclass(init=False, repr=False, eq=False)
class Skipped:
    """Something a source could not scan. Reported, never dropped silently."""

    path: str
    reason: str
    # True when the content exists but could not be read (a missing or corrupt object, an
    # unreadable file): a run that found nothing else then exits 2, never 0, since what was
    # not read may hold a key. False for skips by policy (size limit, submodule, symlink).
    unreadable: bool = False

    def __init__(self, path: str, reason: str, unreadable: bool = False) -> None:
        record.assign(self, path=path, reason=reason, unreadable=unreadable)
