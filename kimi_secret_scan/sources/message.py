"""A commit message file, as the commit-msg hook receives it; and the people of a commit
or tag object (author, committer, tagger), read from its header."""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import BinaryIO

from kimi_secret_scan import git
from kimi_secret_scan.content import Content, Skipped
from kimi_secret_scan.errors import ScanError
from kimi_secret_scan.finding import Commit
from kimi_secret_scan.settings import DetectorSettings
from kimi_secret_scan.sources import reencode
from kimi_secret_scan.windows import WINDOW, detect_chunks

# `git commit -v` appends the diff below this line; git drops it from the message, and the
# staged scan already covers the diff. git cuts only at the line it writes itself, the mark
# after the comment character and a space, alone on its line: a message given with -F that
# merely holds the mark keeps what follows it, so that must be scanned. And git cuts there
# only with -v or --cleanup=scissors, which a hook cannot see: below the line, a key that
# is not in what -v shows (the index, the work tree, HEAD, its parent) counts (below_cut).
_SCISSORS = b"------------------------ >8 ------------------------"
_LONGEST_CUT_LINE = 8 + 1 + len(_SCISSORS) + 2
_CUT_LINE = re.compile(rb"(?m)^[^\s]{1,8} " + re.escape(_SCISSORS) + rb"\r?$")


_CHUNK = 1 << 20


def read_message(path: str) -> Content:
    """The message as git will record it. One larger than a scanning window (git takes a
    message of any size) is read in chunks as it is scanned, never whole: the file is the
    committer's, and a 500 MiB one cost 10 times that."""
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size <= WINDOW:
                data = handle.read()
                cut = _CUT_LINE.search(data)
                if cut is not None:
                    data = data[: cut.start()]
                return Content(path=path, data=data)
            end = _scissors_line(handle)
    except OSError as exc:
        raise ScanError(f"{path}: {exc.strerror or 'cannot be read'}") from None
    return Content(path=path, data=b"", chunks=partial(_chunks, path, end), size=end)


def in_commit_encoding(message: Content, cwd: Path) -> Iterator[Content | Skipped]:
    """The message decoded from `i18n.commitEncoding`: git records the message's bytes as
    they are, with that encoding in the commit's header, and `git log` shows the text
    decoded (a key in an EBCDIC message is plain there). read_message's raw bytes are
    scanned too. An encoding the scanner cannot decode is said (the scan is incomplete)."""
    name = git.try_git(["config", "--get", "i18n.commitEncoding"], cwd)
    if not name or not name.strip():
        return
    codec = reencode.codec_for(name)
    if codec is None:
        yield Skipped(
            message.path,
            f"i18n.commitEncoding is {reencode.shown_name(name.strip())!r}, which the scanner "
            "cannot decode: only the message's raw bytes were scanned, not the text git shows",
            unreadable=True,
        )
        return
    if not codec:
        return  # UTF-8: the raw bytes are the text
    shown = f"{message.path} (decoded from {codec})"
    if message.chunks is not None:
        chunks = reencode.decoded_chunks(message.chunks, codec)
        yield Content(path=shown, data=b"", chunks=chunks, size=message.size)
    else:
        yield Content(path=shown, data=reencode.decoded(message.data, codec))


def _scissors_line(handle: BinaryIO) -> int:
    """Where the message read from `handle` ends: the start of the line holding the first
    scissors mark (as read_message cuts a small one), else the end of the file."""
    buf = b""
    start = 0  # offset of buf[0] in the file: the start of a line unless `inside`
    inside = False  # in a line too long to be the cut line: skip to its end
    while chunk := handle.read(_CHUNK):
        buf += chunk
        if inside:
            end = buf.find(b"\n")
            if end < 0:
                start, buf = start + len(buf), b""
                continue
            start, buf, inside = start + end + 1, buf[end + 1 :], False
        # Search whole lines only (the last one may still be growing), so that the cut
        # line's start, its comment character and its end are all in view.
        whole = buf.rfind(b"\n") + 1
        found = _CUT_LINE.search(buf, 0, whole)
        if found is not None:
            return start + found.start()
        start, buf = start + whole, buf[whole:]
        if len(buf) > _LONGEST_CUT_LINE:  # never hold a long line (a file of one line)
            start, buf, inside = start + len(buf), b"", True
    found = None if inside else _CUT_LINE.search(buf)
    return start + (found.start() if found is not None else len(buf))


def below_cut(path: str, cwd: Path, settings: DetectorSettings) -> Iterator[Content]:
    """What follows the scissors line, when the message holds one: git drops it only with
    -v or --cleanup=scissors (`git commit -F` of a message that holds the line keeps it).
    A key there that is in none of the places git's -v diff is made of is not the diff."""
    try:
        size = os.stat(path).st_size
        with open(path, "rb") as handle:
            start = _scissors_line(handle) if size > WINDOW else None
            data = b"" if start is not None else handle.read()
    except OSError as exc:
        raise ScanError(f"{path}: {exc.strerror or 'cannot be read'}") from None
    if start is None:
        cut = _CUT_LINE.search(data)
        start = cut.start() if cut is not None else size
    if start >= size:
        return
    shown = f"{path} (below the scissors line, lines counted from it)"
    probe = Content(path=shown, data=b"")
    pieces = partial(_chunks, path, size, start)
    found = detect_chunks(probe, pieces(), settings, again=pieces)
    known = frozenset(f.secret for f in found if _in_the_diff(f.secret, cwd))
    yield Content(path=shown, data=b"", chunks=pieces, size=size - start, known_secrets=known)


def _in_the_diff(key: str, cwd: Path) -> bool:
    """`key` is in what `git commit -v` (-vv, --amend) writes below the line: staged or
    unstaged, or in HEAD or its parent (a line the commit removes)."""
    # The key goes to git on its standard input, never on its command line (which any
    # local user can read in the process list).
    pattern = key.encode() + b"\n"
    for where in (["--cached"], [], ["HEAD"], ["HEAD~1"]):
        if git.try_git(["grep", "-q", "-F", "-f", "-", *where, "--"], cwd, pattern) is not None:
            return True
    return False


def _chunks(path: str, end: int, start: int = 0) -> Iterator[bytes]:
    """The file's bytes from `start` to `end`, in chunks."""
    try:
        with open(path, "rb") as handle:
            handle.seek(start)
            left = end - start
            while left > 0 and (chunk := handle.read(min(_CHUNK, left))):
                left -= len(chunk)
                yield chunk
    except OSError as exc:
        raise ScanError(f"{path}: {exc.strerror or 'cannot be read'}") from None


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
