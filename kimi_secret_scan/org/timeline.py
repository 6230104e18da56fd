"""When a key left the default branch: the exposure timeline's end, per repository.

The history audit says where a key first appeared and whether the default branch still
holds it; for a key that is gone from it, this finds the first default-branch commit after
the key's appearance whose files at those paths no longer hold it. The key is compared in
memory only; it never appears on a command line.
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path
from typing import Any, cast

from kimi_secret_scan import git
from kimi_secret_scan.audit import KeyGroup

# Commits touching the key's paths looked at, at most, per key and repository.
MAX_COMMITS = 2000


def default_branch(root: Path) -> str | None:
    """The ref HEAD names: in a mirror, the remote's default branch."""
    out = git.try_git(["symbolic-ref", "-q", "HEAD"], root)
    name = (out or b"").decode("utf-8", "surrogateescape").strip()
    return name or None


def main_line(root: Path) -> tuple[str | None, str | None]:
    """(the default branch, why it was inferred or is unknown; None when HEAD names it).

    A server repository made with `git init --bare` names `master` in HEAD; when only `main`
    was pushed, HEAD names a branch that does not exist, and "not in the default branch"
    would be said of a key in the tip of the only branch everybody clones. The default
    branch is then one that exists: the only branch, else `main`, else `master`; with none
    of them it is unknown (None), never a branch that is not there."""
    head = default_branch(root)
    out = git.try_git(["for-each-ref", "--format=%(objecttype) %(refname)", "refs/heads"], root)
    branches = [
        name
        for kind, _, name in (
            line.partition(" ")
            for line in (out or b"").decode("utf-8", "surrogateescape").splitlines()
        )
        if kind == "commit"
    ]
    if head is not None and head in branches:
        return head, None
    said = f"HEAD names {head}, which does not exist" if head else "HEAD names no branch"
    if len(branches) == 1:
        return branches[0], f"{said}: inferred, the only branch"
    for name in ("refs/heads/main", "refs/heads/master"):
        if name in branches:
            return name, f"{said}: inferred, one of {len(branches)} branches"
    return None, f"{said}, and no branch is the default one: unknown"


def removal(root: Path, group: KeyGroup, branch: str) -> dict[str, Any] | None:
    """{"commit", "date"} of the default-branch commit that removed the key, or None when
    it never reached the default branch (or is still there)."""
    if branch not in group.refs or group.head_paths:
        return None
    paths = sorted(
        {
            f.path
            for f in group.occurrences
            if f.commit and not f.path.startswith("<") and "\n" not in f.path
        }
    )
    starts = sorted({f.commit.sha for f in group.occurrences if f.commit and f.commit.sha})
    if not paths or not starts:
        return None
    needle = group.secret.encode("utf-8", "surrogateescape")
    out = git.try_git(
        [
            "log",
            "--reverse",
            "--format=%H %cI",
            f"--max-count={MAX_COMMITS}",
            branch,
            *(f"^{sha}" for sha in starts),
            "--",
            *paths,
        ],
        root,
    )
    commits = [line.split(" ", 1) for line in (out or b"").decode().splitlines() if " " in line]
    # One cat-file for every (commit, path), oldest first; answers come back in order, and
    # leaving the loop early stops git.
    names = (f"{sha}:{path}" for sha, _ in commits for path in paths)
    # A generator (typed as an iterator): closing it kills the cat-file it started.
    objects = cast(Generator[tuple[str, str, bytes], None, None], git.cat_file(root, names))
    try:
        for sha, date in commits:
            answers = [next(objects) for _ in paths]
            if not any(kind == "blob" and needle in data for _, kind, data in answers):
                return {"commit": sha, "date": date}
    except StopIteration:
        return None
    finally:
        objects.close()
    return None
