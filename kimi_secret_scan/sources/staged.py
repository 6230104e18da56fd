"""What the next commit will contain: the index, diffed against HEAD.

The content scanned is the staged blob (never the working tree), and only the lines the
commit adds count. Binary files have no line diff: a key in one counts when the HEAD
version of the file did not already hold it. During a merge, a key that the other side
already had is not new either.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from kimi_secret_scan import git, record
from kimi_secret_scan.content import Content, Skipped
from kimi_secret_scan.errors import ScanError
from kimi_secret_scan.settings import DEFAULT_SETTINGS, DetectorSettings
from kimi_secret_scan.sources.files import DEFAULT_MAX_SIZE, iter_files
from kimi_secret_scan.windows import WINDOW, detect_all

# Options fixed here so that no user configuration (diff.noprefix, diff.interHunkContext,
# diff.submodule=log, color.ui, diff.external, textconv drivers…) changes what we parse.
# --inter-hunk-context=0 matters most: fused hunks would count unchanged lines as added.
_DIFF_OPTIONS = [
    "--cached",
    "--find-renames",
    "--no-ext-diff",
    "--no-textconv",
    "--no-color",
    "--ignore-submodules=none",
    "--submodule=short",
    "--raw",
    "-z",
    "--no-abbrev",
    "--patch",
    "-U0",
    "--inter-hunk-context=0",
    "--full-index",
    "--src-prefix=a/",
    "--dst-prefix=b/",
]
_HUNK = re.compile(rb"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@", re.MULTILINE)
_INDEX = re.compile(rb"^index [0-9a-f]+\.\.([0-9a-f]+)", re.MULTILINE)
_SUBMODULE = "160000"
_ZERO = re.compile(r"^0+$")


@record.frozen
@dataclass(init=False, repr=False, eq=False)
class Change:
    """One row of `git diff --raw`: a staged change to one path."""

    status: str  # A, C, D, M, R, T, U
    old_mode: str
    new_mode: str
    old_id: str
    new_id: str
    path: str
    old_path: str

    def __init__(
        self,
        status: str,
        old_mode: str,
        new_mode: str,
        old_id: str,
        new_id: str,
        path: str,
        old_path: str,
    ) -> None:
        record.assign(
            self,
            status=status,
            old_mode=old_mode,
            new_mode=new_mode,
            old_id=old_id,
            new_id=new_id,
            path=path,
            old_path=old_path,
        )


@record.frozen
@dataclass(init=False, repr=False, eq=False)
class Section:
    """One `diff --git` section of the patch: the new blob's id, added lines, binary or not."""

    new_id: str | None
    lines: frozenset[int]
    binary: bool
    # A new file's whole content, rebuilt from its patch (every line is added), else None.
    content: bytes | None = None
    # The patch has hunks: lines changed, even when none was added (a deletion can join
    # the pieces around it into a key: the file is then scanned, its keys new only when
    # the earlier version lacked them).
    changed: bool = False

    def __init__(
        self,
        new_id: str | None,
        lines: frozenset[int],
        binary: bool,
        content: bytes | None = None,
        changed: bool = False,
    ) -> None:
        record.assign(
            self, new_id=new_id, lines=lines, binary=binary, content=content, changed=changed
        )


def _new_file_content(text: bytes, first_hunk: int) -> bytes | None:
    """The content of a file whose patch is one hunk from nothing (`@@ -0,0 +1,N @@`).

    Such a patch holds every line of the file, so the blob need not be read again; the
    caller checks the result against the blob id before trusting it.
    """
    hunk = first_hunk + 1
    if not text.startswith(b"@@ -0,0 +", hunk) or text.find(b"\n@@ ", hunk) >= 0:
        return None
    body_start = text.find(b"\n", hunk) + 1
    if body_start == 0:
        return None
    body = text[body_start:]
    if not body:
        return b""
    if not body.endswith(b"\n"):
        body += b"\n"  # every section but the last lost its final newline to the split
    # Whole-buffer operations, not a loop over rows: 5,000 lines cost ~4 ms row by row.
    last_row = body.rfind(b"\n", 0, len(body) - 1) + 1
    no_newline_at_end = body.startswith(b"\\ ", last_row)
    if no_newline_at_end:
        body = body[:last_row]
        if not body:
            return b""
    # Every row must be an added one: the body starts with '+' and so does every row after
    # a line break (all of them but the final one, which ends the body).
    if body[:1] != b"+" or body.count(b"\n+") != body.count(b"\n") - 1:
        return None
    content = body[1:].replace(b"\n+", b"\n")
    return content[:-1] if no_newline_at_end else content


def _blob_id(data: bytes, id_length: int) -> str:
    """git's object id of a blob holding `data` (SHA-1, or SHA-256 repositories)."""
    header = b"blob %d\0" % len(data)
    if len(data) <= _BUILTIN_HASH_MAX:
        # CPython's own _sha1/_sha256 load in microseconds; hashlib loads OpenSSL (~2 ms
        # of every hook run), which only pays for itself on large files.
        try:
            if id_length == 40:
                from _sha1 import sha1 as small_digest  # type: ignore[import-not-found]
            else:
                from _sha256 import sha256 as small_digest  # type: ignore[import-not-found]
        except ImportError:  # a build without them
            pass
        else:
            return str(small_digest(header + data).hexdigest())
    import hashlib

    digest = hashlib.sha1 if id_length == 40 else hashlib.sha256
    return digest(header + data).hexdigest()


# Up to this size a blob id is computed with the interpreter's built-in hash modules.
_BUILTIN_HASH_MAX = 1 << 20


def _parse_raw(output: bytes) -> tuple[list[Change], bytes]:
    """The raw records at the start of `--raw -z --patch` output, and the patch after them."""
    changes: list[Change] = []
    pos = 0

    def field() -> bytes:
        nonlocal pos
        end = output.find(b"\0", pos)
        if end < 0:
            raise ScanError("could not read git's list of staged changes")
        value, pos = output[pos:end], end + 1
        return value

    while output.startswith(b":", pos):
        meta = field().decode("ascii", "replace").lstrip(":").split()
        if len(meta) < 5 or not meta[4]:
            raise ScanError("could not read git's list of staged changes")
        old_mode, new_mode, old_id, new_id, status = meta[:5]
        status = status[0]
        old_path = field().decode("utf-8", "surrogateescape")
        path = field().decode("utf-8", "surrogateescape") if status in "RC" else old_path
        changes.append(Change(status, old_mode, new_mode, old_id, new_id, path, old_path))
    if output.startswith(b"\0", pos):
        pos += 1  # the empty record between the raw list and the patch
    return changes, output[pos:]


def _hunks(text: bytes, first_hunk: int) -> Iterator[re.Match[bytes]]:
    """`_HUNK.finditer(text)`, but trying the pattern only where a line starts with "@@ "
    (a multi-line `^` makes `re` try every position of the 250 KiB patch: ~3 ms)."""
    if text.startswith(b"@@ "):
        match = _HUNK.match(text)
        if match is not None:
            yield match
    at = first_hunk
    while at >= 0:
        match = _HUNK.match(text, at + 1)
        if match is not None:
            yield match
        at = text.find(b"\n@@ ", at + 1)


def _parse_patch(patch: bytes) -> list[Section]:
    sections: list[Section] = []
    # A file's content lines start with '+', '-' or ' ' in a patch, and names with a newline
    # are quoted in headers, so a section can only start at a line beginning "diff --git ".
    # What precedes the first one ("* Unmerged path …" notes) is not a section.
    for text in (b"\n" + patch).split(b"\ndiff --git ")[1:]:
        first_hunk = text.find(b"\n@@ ")
        header = text if first_hunk < 0 else text[:first_hunk]
        index = _INDEX.search(header)
        lines: set[int] = set()
        changed = False
        for match in _hunks(text, first_hunk):
            changed = True
            start = int(match.group(1))
            count = int(match.group(2)) if match.group(2) is not None else 1
            lines.update(range(start, start + count))
        binary = b"\nBinary files " in header or b"\nGIT binary patch" in header
        new_id = index.group(1).decode("ascii") if index else None
        content = None if binary or first_hunk < 0 else _new_file_content(text, first_hunk)
        sections.append(Section(new_id, frozenset(lines), binary, content, changed))
    return sections


def _pair(changes: list[Change], sections: list[Section]) -> list[tuple[Change, Section]]:
    """Match each raw record with its patch section.

    git writes one section per record, except: an unmerged path gets none (only a note),
    and a type change (file to symlink, file to submodule) gets two, the old side's
    deletion and then the new side's addition. The blob ids in the sections' `index` lines
    confirm the match, so a mismatch is an error, never a silently wrong line set.
    """
    paired: list[tuple[Change, Section]] = []
    it = iter(sections)
    empty = Section(None, frozenset(), False)
    try:
        for change in changes:
            if change.status == "U":
                paired.append((change, empty))
                continue
            if change.status == "T":
                next(it)
            section = next(it)
            if section.new_id is not None and section.new_id != change.new_id:
                raise StopIteration
            paired.append((change, section))
    except StopIteration:
        raise ScanError(
            "could not match git's patch to its list of staged files; please report this "
            "with the output of `git diff --cached --raw`"
        ) from None
    if next(it, None) is not None:
        raise ScanError("git's patch has more sections than staged files; please report this")
    return paired


StagedChanges = list[tuple[Change, Section]]


def _diff_args(max_size: int) -> list[str]:
    threshold = min(max_size, WINDOW)
    return ["-c", f"core.bigFileThreshold={threshold}", "diff", *_DIFF_OPTIONS]


def prefetch_diff() -> None:
    """Start the hook's `git diff` in the current directory before the command line is
    parsed (pre-commit runs hooks from the top level). staged_changes() uses it only when
    it asks for the very same command there, with the same environment (the default size
    limit, no --repo elsewhere); otherwise it is discarded and the diff run as usual."""
    try:
        here = os.getcwd()
    except OSError:
        return  # a directory removed under us: the command says so
    git.prefetch(_diff_args(DEFAULT_MAX_SIZE), here)


def staged_changes(repo: git.Repo, max_size: int = DEFAULT_MAX_SIZE) -> StagedChanges:
    # Without a revision, `git diff --cached` compares with HEAD, or with the empty tree
    # before the first commit. Files over the size limit are diffed as binary
    # (core.bigFileThreshold), so git never prints a huge file into the patch we hold.
    # Files over a scanning window are diffed as binary too, and then read from their blobs
    # one window at a time (iter_staged): a patch is parsed whole, at ~10x the file's size.
    output = _bounded(git.stream_git(_diff_args(max_size), repo.root))
    changes, patch = _parse_raw(output)
    if not changes:
        return []
    return _pair(changes, _parse_patch(patch))


# A patch section is held and parsed only up to these sizes; a larger one is cut to its
# header and marked binary, so its file is read from its blob (in windows when it is over
# one), as a file over core.bigFileThreshold is. The threshold alone does not bound the
# patch: a `diff` attribute (`* diff` in .gitattributes: the committer's to write) makes
# git print a file of any size as text, and parsing costs ~7x the section's bytes, plus
# ~100 bytes per added line (a patch of 4 MB of empty lines cost 495 MiB).
_SECTION_BYTES = WINDOW
_SECTION_LINES = 1 << 18
_SECTION = b"\ndiff --git "
_CUT = b"\nBinary files differ (not held: the patch section is too large)\n"


def _raw_end(output: bytearray, pos: int) -> tuple[int, bool]:
    """(offset after the last whole raw record from `pos`, whether the patch starts there).
    The raw records come first in `--raw -z --patch` output, and their NUL-separated paths
    are verbatim (a path may hold "\ndiff --git "): they are never cut."""
    while pos < len(output) and output[pos] == ord(":"):
        end = output.find(b"\0", pos)
        if end < 0:
            return pos, False
        meta = output[pos:end].split()
        paths = 2 if len(meta) >= 5 and meta[4][0] in b"RC" else 1
        at = end + 1
        for _ in range(paths):
            end = output.find(b"\0", at)
            if end < 0:
                return pos, False
            at = end + 1
        pos = at
    return pos, pos < len(output)


def _bounded(chunks: Iterator[bytes]) -> bytes:
    """git's `--raw -z --patch` output with each patch section over _SECTION_BYTES bytes or
    _SECTION_LINES lines cut to its header and marked binary (_CUT): what is held stays
    bounded whatever the size of a file or its attributes."""
    out = bytearray()
    raw_pos, in_patch = 0, False
    section = lines = 0  # where the current section starts in `out`; its newlines so far
    skipping, tail = False, b""
    for chunk in chunks:
        data = chunk
        while data:
            if skipping:
                # Dropping a cut section's rest, up to the next section's start (a line
                # that starts a section cannot be a content line, which starts with +, -
                # or a space), which may lie across chunks.
                seen = tail + data
                at = seen.find(_SECTION)
                if at < 0:
                    tail = seen[-(len(_SECTION) - 1) :]
                    break
                skipping, data = False, seen[at + 1 :]
                section = len(out)
            start = len(out)
            out += data
            data = b""
            if not in_patch:
                raw_pos, in_patch = _raw_end(out, raw_pos)
                if not in_patch:
                    break
                section = start = raw_pos
            at = out.rfind(_SECTION, max(section, start - len(_SECTION)))
            if at >= 0 or start == section:
                section = max(section, at + 1)
                lines = out.count(b"\n", section)
            else:
                lines += out.count(b"\n", start)
            if len(out) - section > _SECTION_BYTES or lines > _SECTION_LINES:
                hunk = out.find(b"\n@@ ", section, section + _SECTION_BYTES)
                cut = hunk if hunk >= 0 else section + _SECTION_BYTES
                data = bytes(out[cut:])
                del out[cut:]
                out += _CUT
                skipping, tail = True, b""
    return bytes(out)


def _merge_head(repo: git.Repo) -> bool:
    # The per-worktree git dir holds MERGE_HEAD; reading the file saves a git process.
    return (repo.git_dir / "MERGE_HEAD").is_file()


def whole_file_paths(repo: git.Repo, paths: list[str], changes: StagedChanges) -> list[str] | None:
    """The files to scan whole, when `paths` names a file the commit does not change.

    Then the caller is not a commit but `pre-commit run --all-files` or `--files` (or a
    person naming files): every named file is scanned whole from disk, so that such a run
    never passes by scanning nothing. None when every named path is staged.

    Never inside `git commit`, which sets GIT_INDEX_FILE for its hooks: there the named
    paths only narrow the staged scan. (During a merge, pre-commit names the conflicted
    files, and one resolved by keeping our side is not a staged change; scanning it whole
    would report keys the commit does not add.)
    """
    if os.environ.get("GIT_INDEX_FILE"):
        return None
    wanted = {_repo_relative(repo, p) for p in paths}
    staged = {c.path for c, _ in changes if c.status != "D"}
    return None if wanted <= staged else sorted(wanted)


def iter_whole_files(
    repo: git.Repo, names: list[str], max_size: int = DEFAULT_MAX_SIZE
) -> Iterator[Content | Skipped]:
    """The named files whole. A symbolic link is read as git stores it, its target's name:
    a committed link to /proc/self/environ or ~/.netrc must not make the hook read (and
    quote) what it points at."""
    files = []
    for name in names:
        path = repo.root / name
        if path.is_symlink():
            yield Content(path=name, data=os.fsencode(os.readlink(path)))
        else:
            files.append(str(path))
    yield from iter_files(files, max_size=max_size, relative_to=repo.root, explicit=True)


def iter_staged(
    repo: git.Repo,
    paths: list[str] | None = None,
    max_size: int = DEFAULT_MAX_SIZE,
    changes: StagedChanges | None = None,
    settings: DetectorSettings = DEFAULT_SETTINGS,
) -> Iterator[Content | Skipped]:
    """Yield the staged content of each changed file (restricted to `paths` when given).

    `changes` is `staged_changes(repo)` when the caller has it already. Named paths the
    commit does not change are handled as `whole_file_paths` says.
    """
    if changes is None:
        changes = staged_changes(repo, max_size)
    if paths is not None:
        whole = whole_file_paths(repo, paths, changes)
        if whole is not None:
            yield from iter_whole_files(repo, whole, max_size)
            return
        wanted = {_repo_relative(repo, p) for p in paths}
        changes = [item for item in changes if item[0].path in wanted]

    todo: StagedChanges = []
    for change, section in changes:
        if change.status == "D":
            continue
        if change.new_mode == _SUBMODULE:
            yield Skipped(change.path, "submodule (its commits are scanned in its own repository)")
            continue
        if change.status == "U" or _ZERO.match(change.new_id):
            yield Skipped(change.path, "unmerged: resolve the conflict and stage it again")
            continue
        if not section.changed and not section.binary:
            continue  # a pure rename or mode change changes no line
        todo.append((change, section))
    if not todo:
        return

    # A new file's content is in the patch already; it is used when it hashes to the staged
    # blob's id (so it is exactly what the commit will hold), which spares reading the blob.
    blobs: dict[str, bytes] = {}
    for change, section in todo:
        content = section.content
        if content is not None and _blob_id(content, len(change.new_id)) == change.new_id:
            blobs[change.new_id] = content

    # Binary sections include files over the size limit: look at sizes before reading.
    binary_ids = [c.new_id for c, s in todo if s.binary and c.new_id not in blobs]
    binary_ids += [c.old_id for c, s in todo if s.binary and not _ZERO.match(c.old_id)]
    sizes = git.object_sizes(repo.root, binary_ids) if binary_ids else {}
    oversized = {oid for oid, size in sizes.items() if size > max_size}
    # Under the limit but over a window: read in chunks, never whole (_streamed).
    big = {oid for oid, size in sizes.items() if WINDOW < size <= max_size}
    kept: StagedChanges = []
    for change, section in todo:
        if change.new_id in oversized:
            size = sizes[change.new_id]
            yield Skipped(change.path, f"larger than the size limit ({size} > {max_size} bytes)")
        else:
            kept.append((change, section))
    todo = kept

    # Objects still to read: other new blobs; for binary changes the old one too (unless
    # over the limit); during a merge the other side's version of each path.
    in_merge = _merge_head(repo)
    wanted_ids: list[str] = []
    for change, section in todo:
        if change.new_id in big:
            continue  # read by _streamed, with the versions it is compared with
        if change.new_id not in blobs:
            wanted_ids.append(change.new_id)
        if section.binary and not _ZERO.match(change.old_id) and change.old_id not in oversized:
            wanted_ids.append(change.old_id)
        if in_merge and "\n" not in change.path:
            wanted_ids.append(f"MERGE_HEAD:{change.path}")
    for change, _ in todo:
        old_id = change.old_id
        held = old_id in big or old_id in oversized or _ZERO.match(old_id)
        if change.new_id in big and not held:
            wanted_ids.append(old_id)  # a small earlier version is read whole
    if wanted_ids:
        # A text section's blob can be large too (a `diff` attribute makes git diff a large
        # file as text; a few changed lines of one make a small patch): a blob over a
        # window is passed over here and read in chunks, never whole.
        for (_, kind, data, size), asked in zip(
            git.cat_file_bounded(repo.root, wanted_ids, WINDOW), wanted_ids, strict=False
        ):
            if kind != "blob":
                continue
            if data is None:
                sizes[asked] = size
                (big if size <= max_size else oversized).add(asked)
            else:
                blobs[asked] = data

    for change, section in todo:
        if change.new_id in oversized:
            size = sizes[change.new_id]
            yield Skipped(change.path, f"larger than the size limit ({size} > {max_size} bytes)")
            continue
        if change.new_id in big and not section.binary:
            yield _streamed_lines(repo, change, section, sizes, blobs, in_merge, settings)
            continue
        if change.new_id in big:
            yield _streamed(repo, change, sizes, oversized, big, blobs, in_merge, settings)
            continue
        new_data = blobs.get(change.new_id)
        if new_data is None:
            yield Skipped(change.path, "staged object could not be read", unreadable=True)
            continue
        if len(new_data) > max_size:
            yield Skipped(change.path, f"larger than the size limit ({len(new_data)} bytes)")
            continue
        before = [blobs.get(f"MERGE_HEAD:{change.path}", b"")]
        if section.binary:
            before.append(blobs.get(change.old_id, b""))
        known = _secrets_in(change.path, before, settings)
        if section.binary and change.old_id in big:  # a large file made small
            old = _chunked_secrets(repo.root, change.old_id, change.path, settings)
            known = known | old
        earlier = None
        if not section.binary and not _ZERO.match(change.old_id):
            earlier = functools.partial(
                _earlier_secrets, repo.root, change.old_id, change.path, settings
            )
        yield Content(
            path=change.path,
            data=new_data,
            lines=None if section.binary else section.lines,
            known_secrets=known,
            earlier_secrets=earlier,
        )


def _streamed(
    repo: git.Repo,
    change: Change,
    sizes: dict[str, int],
    oversized: set[str],
    big: set[str],
    blobs: dict[str, bytes],
    in_merge: bool,
    settings: DetectorSettings,
) -> Content:
    """A staged file larger than a window, read from its blob one window at a time (as
    `files` and `history` read one): like a binary file, its keys count unless its earlier
    version (or, during a merge, the other side's) already held them."""
    path, old_id = change.path, change.old_id
    before: list[Content] = []
    if not _ZERO.match(old_id) and old_id not in oversized:
        if old_id in big:
            chunks = partial(git.blob_chunks, repo.root, old_id)
            before.append(Content(path, b"", chunks=chunks, size=sizes[old_id]))
        else:
            before.append(Content(path, blobs.get(old_id, b"")))
    if in_merge and "\n" not in path:
        other = partial(_if_present, repo.root, f"MERGE_HEAD:{path}")
        before.append(Content(path, b"", chunks=other))
    known: set[str] = set()
    for earlier in before:
        known.update(f.secret for f in detect_all(earlier, settings))
    return Content(
        path=path,
        data=b"",
        lines=None,
        known_secrets=frozenset(known),
        chunks=partial(git.blob_chunks, repo.root, change.new_id),
        size=sizes[change.new_id],
    )


def _streamed_lines(
    repo: git.Repo,
    change: Change,
    section: Section,
    sizes: dict[str, int],
    blobs: dict[str, bytes],
    in_merge: bool,
    settings: DetectorSettings,
) -> Content:
    """A staged file larger than a window whose patch is text (a few lines changed, or a
    `diff` attribute): read from its blob one window at a time, its added lines counted
    as in a small file's patch."""
    path, old_id = change.path, change.old_id
    known: set[str] = set()
    if in_merge and "\n" not in path:
        other = f"MERGE_HEAD:{path}"
        held = blobs.get(other)
        theirs = (
            Content(path, held)
            if held is not None
            else Content(path, b"", chunks=partial(_if_present, repo.root, other))
        )
        known.update(f.secret for f in detect_all(theirs, settings))
    earlier = None
    if not _ZERO.match(old_id):
        earlier = functools.cache(
            functools.partial(_earlier_secrets, repo.root, old_id, path, settings)
        )
    return Content(
        path=path,
        data=b"",
        lines=section.lines,
        known_secrets=frozenset(known),
        earlier_secrets=earlier,
        chunks=partial(git.blob_chunks, repo.root, change.new_id),
        size=sizes[change.new_id],
    )


def _if_present(cwd: Path, name: str) -> Iterator[bytes]:
    """A blob's chunks, or nothing when it does not exist (a path the other side lacks)."""
    try:
        yield from git.blob_chunks(cwd, name)
    except ScanError:
        return


def _earlier_secrets(
    root: Path, old_id: str, path: str, settings: DetectorSettings
) -> frozenset[str]:
    """The keys of a file's version before the staged change (read only when a finding
    falls outside the added lines)."""
    for _, kind, data, _ in git.cat_file_bounded(root, [old_id], WINDOW):
        if kind != "blob":
            break
        if data is None:  # over a window: read in chunks, never whole
            return _chunked_secrets(root, old_id, path, settings)
        return _secrets_in(path, [data], settings)
    return frozenset()


def _chunked_secrets(root: Path, oid: str, path: str, settings: DetectorSettings) -> frozenset[str]:
    """The keys of a blob larger than a window, read in chunks."""
    earlier = Content(path, b"", chunks=partial(git.blob_chunks, root, oid))
    return frozenset(f.secret for f in detect_all(earlier, settings))


def _secrets_in(path: str, blobs: list[bytes], settings: DetectorSettings) -> frozenset[str]:
    found: set[str] = set()
    for data in blobs:
        if data:
            # A container's earlier version is unpacked too: keys it already held are not new.
            found.update(f.secret for f in detect_all(Content(path=path, data=data), settings))
    return frozenset(found)


def _repo_relative(repo: git.Repo, path: str) -> str:
    given = Path(os.path.abspath(path))
    absolute = given.parent.resolve() / given.name
    try:
        return absolute.relative_to(repo.root).as_posix()
    except ValueError:
        return Path(path).as_posix()
