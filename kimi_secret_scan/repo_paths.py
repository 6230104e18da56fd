"""Which repository-relative path a finding's path names.

Sources name paths differently: staged and history give paths relative to the repository
root, `files` gives them relative to the current directory. Path-scoped suppressions
(baseline entries, excluded globs) are written relative to the root, so a finding's path is
compared in both readings; they are the same whenever the scan runs at the root.
"""

from __future__ import annotations

import os
from pathlib import Path

from kimi_secret_scan import git


def find_root(start: Path | None = None) -> Path:
    """The top level of the repository around `start` (the current directory), else itself."""
    here = (start or Path.cwd()).absolute()
    # git.toplevel asks what the command will ask next (find_repo) and keeps the answer.
    return git.toplevel(here) or here


def from_cwd(path: str, root: Path) -> str:
    """`path` read relative to the current directory, made relative to `root` when inside it."""
    joined = os.path.normpath(os.path.join(os.getcwd(), path))
    try:
        return Path(joined).relative_to(root).as_posix()
    except ValueError:
        try:
            return Path(joined).resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            return Path(path).as_posix()


def candidates(path: str, root: Path) -> tuple[str, ...]:
    """The readings of a finding's path: as given (repository-relative), and from the cwd."""
    given = Path(path).as_posix()
    other = from_cwd(path, root)
    if os.path.isabs(path):
        return (other,)
    return (given,) if other == given else (given, other)
