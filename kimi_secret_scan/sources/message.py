"""A commit message file, as the commit-msg hook receives it; and the people of a commit
or tag object (author, committer, tagger), read from its header."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

from kimi_secret_scan import git
from kimi_secret_scan.content import Content
from kimi_secret_scan.errors import ScanError
from kimi_secret_scan.finding import Commit

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


def person(header: bytes, field_name: bytes) -> Commit | None:
    """author/committer/tagger line of a commit or tag object → name, email, ISO date."""
    for line in header.split(b"\n"):
        if not line.startswith(field_name + b" "):
            continue
        text = line[len(field_name) + 1 :].decode("utf-8", "replace")
        name, _, rest = text.partition(" <")
        email, _, when = rest.partition("> ")
        stamp, _, tz = when.partition(" ")
        try:
            sign = -1 if tz.startswith("-") else 1
            offset = dt.timedelta(hours=int(tz[1:3]), minutes=int(tz[3:5])) * sign
            date = dt.datetime.fromtimestamp(int(stamp), dt.timezone(offset)).isoformat()
        except (ValueError, IndexError):
            date = ""
        return Commit(sha="", author=name, email=email, date=date)
    return None


def commit_identities(cwd: Path) -> Iterator[Content]:
    """The author and committer the commit being made will record (`git var`): published
    with it, so a key typed as a name or an email is found before the commit exists."""
    seen: set[str] = set()
    for var, role in (("GIT_AUTHOR_IDENT", "author"), ("GIT_COMMITTER_IDENT", "committer")):
        out = git.try_git(["var", var], cwd)
        found = person(b"x " + out.strip(), b"x") if out else None
        ident = f"{found.author} <{found.email}>" if found else ""
        if ident and ident not in seen:
            seen.add(ident)
            yield Content(f"{role} of this commit", ident.encode(), metadata=True)
