"""What the next commit will contain: the index, diffed against HEAD.

The content scanned is the staged blob (never the working tree), and only the lines the
commit adds count. Binary files have no line diff: a key in one counts when the HEAD
version of the file did not already hold it. During a merge, a key that the other side
already had is not new either.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import regex

from kimi_secret_scan import git
from kimi_secret_scan.content import Content, Skipped
from kimi_secret_scan.detectors import detect
from kimi_secret_scan.errors import ScanError
from kimi_secret_scan.sources.files import iter_files

_DIFF_OPTIONS = ["--cached", "--find-renames", "--no-ext-diff", "--no-textconv", "--no-color"]
_HUNK = regex.compile(rb"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@", regex.MULTILINE)
_SUBMODULE = "160000"
_ZERO = regex.compile(r"^0+$")


@dataclass(frozen=True)
class Change:
    status: str  # A, C, D, M, R, T, U
    old_mode: str
    new_mode: str
    old_id: str
    new_id: str
    path: str
    old_path: str


def _parse_raw(raw: bytes) -> list[Change]:
    fields = raw.split(b"\0")
    changes: list[Change] = []
    i = 0
    while i < len(fields) and fields[i]:
        meta = fields[i].decode().lstrip(":").split()
        old_mode, new_mode, old_id, new_id, status = meta[:5]
        status = status[0]
        old_path = fields[i + 1].decode("utf-8", "surrogateescape")
        if status in "RC":
            path = fields[i + 2].decode("utf-8", "surrogateescape")
            i += 3
        else:
            path = old_path
            i += 2
        changes.append(Change(status, old_mode, new_mode, old_id, new_id, path, old_path))
    return changes


def _added_lines(patch: bytes) -> list[tuple[frozenset[int], bool]]:
    """Per file section of a -U0 patch: the added line numbers, and whether it is binary."""
    sections: list[tuple[frozenset[int], bool]] = []
    for section in patch.split(b"\ndiff --git "):
        if not section.strip():
            continue
        lines: set[int] = set()
        for match in _HUNK.finditer(section):
            start = int(match.group(1))
            count = int(match.group(2)) if match.group(2) is not None else 1
            lines.update(range(start, start + count))
        binary = b"\nBinary files " in section or b"\nGIT binary patch" in section
        sections.append((frozenset(lines), binary))
    return sections


def staged_changes(repo: git.Repo) -> list[tuple[Change, frozenset[int], bool]]:
    base = "HEAD" if git.has_commit(repo.root) else git.empty_tree(repo.root)
    raw = git.run_git(["diff", *_DIFF_OPTIONS, "--raw", "-z", "--no-abbrev", base], repo.root)
    changes = _parse_raw(raw)
    if not changes:
        return []
    patch = git.run_git(["diff", *_DIFF_OPTIONS, "-U0", base], repo.root)
    sections = _added_lines(b"\n" + patch)
    if len(sections) != len(changes):
        raise ScanError(
            "could not match git's patch to its file list "
            f"({len(sections)} sections for {len(changes)} files)"
        )
    return [
        (change, lines, binary) for change, (lines, binary) in zip(changes, sections, strict=True)
    ]


def _merge_head(repo: git.Repo) -> bool:
    return git.has_commit(repo.root, "MERGE_HEAD")


def iter_staged(
    repo: git.Repo, paths: list[str] | None = None, max_size: int = 100 * 1024 * 1024
) -> Iterator[Content | Skipped]:
    """Yield the staged content of each changed file (restricted to `paths` when given).

    When `paths` names a file the commit does not change, the caller is not a commit (it is
    `pre-commit run --all-files` or `--files`): every named file is then scanned whole from
    disk, so that such a run never passes by scanning nothing.
    """
    changes = staged_changes(repo)
    if paths is not None:
        wanted = {_repo_relative(repo, p) for p in paths}
        staged = {c.path for c, _, _ in changes if c.status != "D"}
        if not wanted <= staged:
            yield from iter_files(
                [str(repo.root / p) for p in sorted(wanted)],
                max_size=max_size,
                relative_to=repo.root,
                explicit=True,
            )
            return
        changes = [item for item in changes if item[0].path in wanted]

    todo: list[tuple[Change, frozenset[int], bool]] = []
    for change, lines, binary in changes:
        if change.status == "D":
            continue
        if change.new_mode == _SUBMODULE:
            yield Skipped(change.path, "submodule (its commits are scanned in its own repository)")
            continue
        if change.status == "U" or _ZERO.match(change.new_id):
            yield Skipped(change.path, "unmerged: resolve the conflict and stage it again")
            continue
        if not lines and not binary:
            continue  # a pure rename or mode change adds no line
        todo.append((change, lines, binary))
    if not todo:
        return

    # Objects to read: each new blob; for binary changes the old one too; during a merge
    # the other side's version of each path.
    in_merge = _merge_head(repo)
    wanted_ids: list[str] = []
    for change, _, binary in todo:
        wanted_ids.append(change.new_id)
        if binary and not _ZERO.match(change.old_id):
            wanted_ids.append(change.old_id)
        if in_merge and "\n" not in change.path:
            wanted_ids.append(f"MERGE_HEAD:{change.path}")
    blobs: dict[str, bytes] = {}
    for (_, kind, data), asked in zip(
        git.cat_file(repo.root, wanted_ids), wanted_ids, strict=False
    ):
        if kind == "blob":
            blobs[asked] = data

    for change, lines, binary in todo:
        new_data = blobs.get(change.new_id)
        if new_data is None:
            yield Skipped(change.path, "staged object could not be read")
            continue
        if len(new_data) > max_size:
            yield Skipped(change.path, f"larger than the size limit ({len(new_data)} bytes)")
            continue
        before = [blobs.get(f"MERGE_HEAD:{change.path}", b"")]
        if binary:
            before.append(blobs.get(change.old_id, b""))
        known = _secrets_in(change.path, before)
        yield Content(
            path=change.path,
            data=new_data,
            lines=None if binary else lines,
            known_secrets=known,
        )


def _secrets_in(path: str, blobs: list[bytes]) -> frozenset[str]:
    found: set[str] = set()
    for data in blobs:
        if data:
            found.update(f.secret for f in detect(Content(path=path, data=data)))
    return frozenset(found)


def _repo_relative(repo: git.Repo, path: str) -> str:
    given = Path(os.path.abspath(path))
    absolute = given.parent.resolve() / given.name
    try:
        return absolute.relative_to(repo.root).as_posix()
    except ValueError:
        return Path(path).as_posix()
