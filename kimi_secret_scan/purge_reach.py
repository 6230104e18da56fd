"""What filter-repo's `--replace-text` cannot reach, and the purge plan's answer to each.

The purge replaces each key's plain spelling (`literal:KEY`) in file versions and messages.
That misses a key
- written in another spelling the detectors read (base64, percent-encoding, `\\u002d`, a key
  split across notebook strings, UTF-16): no literal line matches those bytes;
- in a binary file: filter-repo leaves a blob alone when its first 8 KiB hold a NUL byte;
- in a Git LFS object: the blob in history is a pointer, the key is on the LFS server;
- in a file's name or a person's name or email: `--replace-text` reads contents only;
- in a blob or tree a ref names directly (`git tag t <blob>`): filter-repo skips such refs;
- on another remote than the one the mirror is cloned from (a fork's `upstream`).

Each blob version is tried here as filter-repo would treat it (its bytes, the replacement,
the detectors again), and what would survive is stripped by blob id, as archives are; names
and identities get filter-repo callbacks that read the replacements file (no printed command
holds a key); refs at a blob or tree are deleted in the mirror; other remotes get their own
mirror and push.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
from collections.abc import Callable, Container, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from kimi_secret_scan import git, inert
from kimi_secret_scan.content import Content
from kimi_secret_scan.detectors import detect
from kimi_secret_scan.redaction import redact_text
from kimi_secret_scan.settings import DetectorSettings
from kimi_secret_scan.sources import lfs

if TYPE_CHECKING:
    from kimi_secret_scan.audit import KeyGroup, PurgeTarget

REPLACEMENT = "***REMOVED-KIMI-KEY***"
NAME_REPLACEMENT = "REMOVED-KIMI-KEY"
# filter-repo's test for a binary blob (git_filter_repo.py, _tweak_blob).
_BINARY_WINDOW = 8192
_IDENTITY_PLACES = ("author of ", "committer of ", "tagger of ")
_NAME_PLACES = ("path names", "path name in ")
_REF_PLACES = ("ref names", "ref name")
# Where the detectors report what is not a file version (sources/metadata.py, history's
# `<commit message>`): messages, headers, people, names.
_NOT_BLOBS = (
    "<",
    "commit message of ",
    "commit header of ",
    "tag message of ",
    "tag header of ",
    *_IDENTITY_PLACES,
    *_NAME_PLACES,
    *_REF_PLACES,
)
GITHUB_LFS_DOCS = (
    "https://docs.github.com/en/repositories/working-with-files/managing-large-files/"
    "removing-files-from-git-large-file-storage"
)
GITLAB_ORPHAN_LFS = (
    "https://docs.gitlab.com/administration/raketasks/cleanup/#remove-unreferenced-lfs-files"
)


def _q(path: Path | str) -> str:
    return inert.shell_word(str(path))


def _shown(name: str) -> str:
    """A path or ref name in the plan's text: a key in it redacted, as everywhere."""
    return redact_text(inert.text(name))


def attach(
    groups: Sequence[KeyGroup],
    repo: Path,
    blob_keys: Mapping[str, set[str]],
    blob_path: Mapping[str, str],
    containers: set[str],
    settings: DetectorSettings,
    ref_ends: Callable[[], list[tuple[str, str, str]]] | None = None,
    big: Container[str] = (),
) -> None:
    """Set each group's `unreached` (blob id -> path: versions `--replace-text` leaves the
    key in), `lfs_objects` (the LFS objects whose content holds it) and `object_refs` (refs
    naming a blob or tree that holds it). A blob in `big` (larger than a window) is not read
    whole again: it is taken as one the replacement leaves the key in, as a binary blob is
    (its id is stripped), so that a 500 MiB blob is not held two or three times over (the
    history audit's memory stays bounded: bench/memory.py, 1.6 GB before)."""
    by_sha = {g.sha256: g for g in groups}
    if not by_sha:
        return
    keys = [g.secret.encode("utf-8", "surrogateescape") for g in groups]
    wanted = []
    for oid, shas in sorted(blob_keys.items()):
        if oid in containers or not shas & by_sha.keys():
            continue
        if oid in big:
            for sha in sorted(shas & by_sha.keys()):
                by_sha[sha].unreached[oid] = blob_path.get(oid, "")
            continue
        wanted.append(oid)
    for oid, kind, data in git.cat_file(repo, wanted):
        if kind != "blob":
            continue
        own = [by_sha[sha] for sha in sorted(blob_keys[oid] & by_sha.keys())]
        path = blob_path.get(oid, "")
        pointer = lfs.parse_pointer(data)
        plain = [g.secret.encode("utf-8", "surrogateescape") in data for g in own]
        if pointer is not None and not all(plain):
            for g in own:
                g.unreached[oid] = path
                if pointer.oid not in g.lfs_objects:
                    g.lfs_objects.append(pointer.oid)
            continue
        if b"\0" in data[:_BINARY_WINDOW]:
            survives = own
        else:
            survives = _survivors(data, path, own, keys, settings)
            # A key not in the bytes as written plainly survives too, whatever the detectors
            # say of the blob under this one path (it may have been found under another
            # name, where base64 is searched).
            survives += [g for g, p in zip(own, plain, strict=True) if not p and g not in survives]
            if survives:
                # Another spelling of the key, written as it is in the bytes, may reach it
                # where the plain one does not: the file then stays, its key replaced.
                found = {g.sha256: [s for s in _spellings(g.secret) if s in data] for g in own}
                more = [s for spelled in found.values() for s in spelled]
                spelled_out = all(found[g.sha256] for g in survives)
                if spelled_out and not _survivors(data, path, own, keys + more, settings):
                    for g in own:
                        g.spellings.extend(s for s in found[g.sha256] if s not in g.spellings)
                    survives = []
        for g in survives:
            g.unreached[oid] = path
    for g in groups:
        # A message, name or identity holds the key in another spelling: the same literal
        # lines reach it there (--replace-message and the callbacks read the same file).
        if any(f.encoding and f.path.startswith(_NOT_BLOBS) for f in g.occurrences):
            g.spellings.extend(s for s in _spellings(g.secret) if s not in g.spellings)
    _attach_object_refs(groups, repo, blob_keys, settings, ref_ends)


def _survivors(
    data: bytes,
    path: str,
    own: Sequence[KeyGroup],
    spellings: Sequence[bytes],
    settings: DetectorSettings,
) -> list[KeyGroup]:
    """The keys of `own` the detectors still find in `data` after filter-repo's literal
    replacement of each spelling, in the order of the replacements file."""
    replaced = data
    for spelled in spellings:
        replaced = replaced.replace(spelled, REPLACEMENT.encode())
    left = {f.secret_sha256 for f in detect(Content(path, replaced), settings)}
    return [g for g in own if g.sha256 in left]


# What a hyphen is written as in escapes the detectors undo (JSON/JS/Python, percent, HTML
# entities, octal): each gives one literal spelling of the key.
_HYPHENS = ("%2D", "%2d", "\\u002d", "\\u002D", "\\x2d", "\\x2D", "&#45;", "&#x2d;", "&#x2D;")


def _spellings(secret: str) -> list[bytes]:
    """Literal spellings of a key other than the plain one: the hyphens escaped, and the
    characters of its base64 encoding that depend only on the key (at each of the three
    offsets it can start at in an encoded string; standard and URL-safe alphabets)."""
    key = secret.encode("utf-8", "surrogateescape")
    pieces = key.split(b"-")
    out = []
    if 1 < len(pieces) <= 4:  # `sk-kimi-`: each hyphen escaped or not (one escape a spelling)
        for hyphen in _HYPHENS:
            for joins in itertools.product((b"-", hyphen.encode()), repeat=len(pieces) - 1):
                if any(j != b"-" for j in joins):
                    rest = zip(joins, pieces[1:], strict=True)
                    out.append(pieces[0] + b"".join(j + p for j, p in rest))
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + key + b"\0\0")
        start = -(-8 * shift // 6)
        end = 8 * (shift + len(key)) // 6
        core = encoded[start:end]
        out += [core, core.replace(b"+", b"-").replace(b"/", b"_")]
    return list(dict.fromkeys(out))


def spelling_lines(groups: Sequence[KeyGroup]) -> str:
    """The replacements file's lines for the other spellings found (`literal:` each)."""
    lines = []
    for g in groups:
        for spelled in g.spellings:
            if not spelled.isascii():
                continue  # a key is ASCII; nothing else is written
            text = spelled.decode("ascii")
            lines.append(f"literal:{text}==>{REPLACEMENT}\n")
    return "".join(dict.fromkeys(lines))


def _lines(out: bytes) -> list[str]:
    return [line for line in out.decode("utf-8", "surrogateescape").splitlines() if line]


# The type, not `%(*objecttype)`: peeling makes git parse the object of every ref (~0.04 s
# of a history audit's tail on psf/requests' 4,516 refs); only tags are peeled, below.
_REF_FORMAT = "%(objecttype) %(objectname) %(refname)"


def _ref_ends(repo: Path) -> list[tuple[str, str, str]]:
    """(type, id, name) of each ref, a tag by what it names at its end (RefWalk.ends)."""
    out = git.try_git(["for-each-ref", f"--format={_REF_FORMAT}"], repo) or b""
    listed = [p for p in (line.split(" ", 2) for line in _lines(out)) if len(p) == 3]
    # A tag (of a tag, …) is peeled all the way, in one batch: `<id>^{}` names its end.
    tags = [oid for kind, oid, _ in listed if kind == "tag"]
    asked = "".join(f"{oid}^{{}}\n" for oid in tags).encode()
    answers = _lines(git.try_git(["cat-file", "--batch-check"], repo, input=asked) or b"")
    peeled_fully = dict(zip(tags, answers, strict=False)) if tags else {}
    rows: list[tuple[str, str, str]] = []  # (the end's type, the end's id, the ref)
    for kind, oid, ref in listed:
        if kind == "tag":
            answer = peeled_fully.get(oid, "").split()  # "<id> <type> <size>", or missing
            kind, oid = (answer[1], answer[0]) if len(answer) == 3 else ("", "")
        rows.append((kind, oid, ref))
    return rows


def _attach_object_refs(
    groups: Sequence[KeyGroup],
    repo: Path,
    blob_keys: Mapping[str, set[str]],
    settings: DetectorSettings,
    ref_ends: Callable[[], list[tuple[str, str, str]]] | None = None,
) -> None:
    """Refs (tags, mostly) that name a blob or a tree, not a commit: filter-repo skips them
    ("Unexpected object of type blob"), so what they hold stays unless they are deleted.
    `ref_ends`: the history's own reading of the refs (RefWalk.ends), else read here."""
    by_sha = {g.sha256: g for g in groups}
    rows = ref_ends() if ref_ends is not None else _ref_ends(repo)
    for kind, oid, ref in rows:
        if kind not in ("blob", "tree") or ref.startswith("refs/remotes/"):
            continue
        # A key in the ref's own name: filter-repo's --refname-callback never sees a ref to
        # a tree or blob, so the ref is deleted, whatever it names.
        named = ref.encode("utf-8", "surrogateescape")
        shas: set[str] = {f.secret_sha256 for f in detect(Content("ref names", named), settings)}
        shas |= blob_keys.get(oid, set())
        if kind == "tree":
            listing = git.try_git(["ls-tree", "-r", "-t", "-z", oid], repo) or b""
            names: list[str] = []
            for entry in listing.split(b"\0"):
                meta, _, name = entry.partition(b"\t")
                fields = meta.split()
                if len(fields) == 3:
                    shas |= blob_keys.get(fields[2].decode("ascii", "replace"), set())
                    names.append(name.decode("utf-8", "surrogateescape"))
            text = "\n".join(names).encode("utf-8", "surrogateescape")
            shas |= {f.secret_sha256 for f in detect(Content("path names", text), settings)}
        for sha in sorted(shas & by_sha.keys()):
            by_sha[sha].object_refs[ref] = oid


# -- what the plan prints -------------------------------------------------------------------


def unreached_blobs(groups: Sequence[KeyGroup]) -> dict[str, str]:
    return {oid: path for g in groups for oid, path in sorted(g.unreached.items())}


def _in_names(groups: Sequence[KeyGroup]) -> bool:
    return any(f.path.startswith(_NAME_PLACES) for g in groups for f in g.occurrences)


def _in_identities(groups: Sequence[KeyGroup]) -> bool:
    return any(f.path.startswith(_IDENTITY_PLACES) for g in groups for f in g.occurrences)


def _in_ref_names(groups: Sequence[KeyGroup]) -> bool:
    return any(f.path.startswith(_REF_PLACES) for g in groups for f in g.occurrences)


def _callback(file: Path, var: str, name_safe: bool = False) -> str:
    """A filter-repo callback body that replaces every `literal:` line of the replacements
    file in `var` (bytes): the key is read from the file, never printed. The lines are read
    once (kept in the callback's globals). `name_safe`: a file or ref name gets
    REMOVED-KIMI-KEY (no `*`, which no ref name and no Windows file name may hold)."""
    # Double quotes only, and the path as a JSON string (a valid Python literal; a name
    # that is not UTF-8 as surrogate escapes, which open() turns back into its bytes): the
    # shell word around it stays one plain '...' for the usual paths.
    name = json.dumps(str(file))
    how = f'kv[0], b"{NAME_REPLACEMENT}"' if name_safe else "*kv"
    lines = (
        f'[l[8:].split(b"==>", 1) for l in open({name}, "rb").read().splitlines() '
        'if l.startswith(b"literal:")]'
    )
    return (
        f'r = globals().get("kimi_r") or globals().setdefault("kimi_r", {lines}); '
        f'return __import__("functools").reduce(lambda s, kv: s.replace({how}), r, {var})'
    )


def rewrite_notes(groups: Sequence[KeyGroup]) -> str:
    """What the rewrite step's text adds for what `--replace-text` cannot reach."""
    notes = []
    unreached = unreached_blobs(groups)
    lfs_paths = {oid: path for g in groups if g.lfs_objects for oid, path in g.unreached.items()}
    other = {oid: p for oid, p in unreached.items() if oid not in lfs_paths}
    if other:
        paths = ", ".join(dict.fromkeys(_shown(p) or "?" for p in other.values()))
        notes.append(
            f"{len(other)} version(s) of {paths} hold a key in a form no text replacement "
            "reaches (a binary file, which filter-repo does not edit, or an encoded, escaped, "
            "split or UTF-16 spelling): they are stripped by id too, so those versions "
            "disappear from the commits that hold them (commit the file again without the "
            "key first if you still need it)"
        )
    if lfs_paths:
        paths = ", ".join(dict.fromkeys(_shown(p) or "?" for p in lfs_paths.values()))
        notes.append(
            f"{paths} is stored in Git LFS: the commits hold a pointer, so the pointer "
            "versions are stripped by id (the LFS objects themselves are on the LFS "
            "server: see the step after the push)"
        )
    if any(g.spellings for g in groups):
        notes.append(
            "a key written escaped or base64-encoded is replaced as it is written (the "
            "replacements file holds those spellings too)"
        )
    if _in_names(groups):
        notes.append(
            f"a key in a file or folder name becomes {NAME_REPLACEMENT} in the name "
            "(--filename-callback)"
        )
    if _in_ref_names(groups):
        notes.append(
            f"a key in a branch or tag name becomes {NAME_REPLACEMENT} in the name "
            "(--refname-callback; the mirror push deletes the old name on the remote)"
        )
    if _in_identities(groups):
        notes.append(
            "a key in an author, committer or tagger is replaced in the name and email "
            "(--name-callback, --email-callback)"
        )
    refs = list(dict.fromkeys(r for g in groups for r in g.object_refs))
    if refs:
        notes.append(
            f"{', '.join(_shown(r) for r in refs)} name a file or folder directly, not "
            "a commit; filter-repo skips such refs, so they are deleted in the mirror first "
            "(the mirror push then deletes them on the remote)"
        )
    return "".join(f". {note[0].upper()}{note[1:]}" for note in notes)


def rewrite_commands(
    groups: Sequence[KeyGroup],
    target: PurgeTarget,
    mirror: Path,
    strip: Sequence[str],
    write_ids: bool = True,
) -> list[str]:
    """The rewrite of one mirror: the blob ids to strip written (`write_ids`), refs that
    name a blob or tree deleted, then filter-repo with what each key's places need."""
    file = _q(target.replacements)
    m = _q(mirror)
    ids = sorted(set(strip) | unreached_blobs(groups).keys())
    commands = []
    extra = ""
    if ids:
        blob_ids = _q(target.blob_ids)
        if write_ids:
            commands.append(f"printf '%s\\n' {' '.join(ids)} > {blob_ids}")
        extra += f" --strip-blobs-with-ids {blob_ids}"
    refs = {r: oid for g in groups for r, oid in sorted(g.object_refs.items())}
    by_id = []
    for ref, oid in refs.items():
        if redact_text(ref) == ref:
            commands.append(f"git -C {m} update-ref -d {_q(ref)}")
        elif oid not in by_id:
            # The ref's name holds a key, which no command prints: the refs at this object
            # whose names hold a key of the replacements file are deleted (a clean name at
            # an object that holds a key is deleted by name above; one at a clean object
            # stays).
            by_id.append(oid)
            pick = (
                '\'NR == FNR { if (sub(/^literal:/, "", $1)) k[$1]; next } '
                '{ for (x in k) if (index($0, x)) { print "delete " $0; next } }\''
            )
            commands.append(
                f"git -C {m} for-each-ref --format='%(refname)' --points-at {oid} | "
                f"awk -F'==>' {pick} {file} - | git -C {m} update-ref --stdin"
            )
    if _in_names(groups):
        callback = _callback(target.replacements, "filename", name_safe=True)
        extra += f" --filename-callback {_q(callback)}"
    if _in_ref_names(groups):
        callback = _callback(target.replacements, "refname", name_safe=True)
        extra += f" --refname-callback {_q(callback)}"
    if _in_identities(groups):
        extra += f" --name-callback {_q(_callback(target.replacements, 'name'))}"
        extra += f" --email-callback {_q(_callback(target.replacements, 'email'))}"
    commands.append(
        f"git -C {m} filter-repo --sensitive-data-removal --replace-text {file} "
        f"--replace-message {file}{extra}"
    )
    return commands


def strips(groups: Sequence[KeyGroup], strip: Sequence[str]) -> bool:
    return bool(strip) or bool(unreached_blobs(groups))


def lfs_steps(groups: Sequence[KeyGroup], target: PurgeTarget) -> list[list[str]]:
    """The LFS objects that hold a key: no push deletes them from an LFS server."""
    objects = list(dict.fromkeys(o for g in groups for o in g.lfs_objects))
    if not objects:
        return []
    listed = ", ".join(f"sha256:{o}" for o in objects)
    host = target.host
    lines = [
        f"Git LFS: the content that holds the key is LFS object {listed}. Rewriting "
        "history removes only the pointers; the object stays on the LFS server, served to "
        "anyone who asks for it by id, until it is deleted there"
    ]
    if host in ("github.com", "www.github.com"):
        lines[0] += (
            ". On GitHub an LFS object is deleted only by deleting the repository (and "
            "pushing the rewritten mirror to a new one) or by GitHub Support "
            f"({GITHUB_LFS_DOCS}):"
        )
    elif host == "gitlab.com" or (host or "").startswith("gitlab."):
        lines[0] += (
            ". On GitLab, run the repository cleanup with the commit map (above) or "
            "housekeeping after the push: it removes LFS objects no commit names any more; a "
            "self-managed instance's administrators can also run `gitlab-rake "
            f"gitlab:cleanup:orphan_lfs_file_references` ({GITLAB_ORPHAN_LFS}):"
        )
    elif target.local_remote is not None:
        lines[0] += ". Where the remote lives, delete the object files:"
        # git-lfs keeps them in the git directory: a bare repository's own, or `.git`.
        store = target.local_remote
        if (store / ".git").is_dir():
            store = store / ".git"
        for o in objects:
            lines.append(f"$ rm -f {_q(store / _lfs_path(o))}")
    else:
        lines[0] += (
            ". Ask the server's administrators to delete it from the LFS store (on a server "
            f"that keeps them beside the repository: lfs/objects/{_lfs_path(objects[0])})"
        )
    lines.append(
        "This clone's own LFS store holds it too, under "
        f"{inert.text(str(git_dir_lfs(target)))}: delete this clone after cloning again, as "
        "below."
    )
    return [lines]


def _lfs_path(oid: str) -> str:
    return f"lfs/objects/{oid[:2]}/{oid[2:4]}/{oid}"


def git_dir_lfs(target: PurgeTarget) -> Path:
    return (target.root if target.bare else target.root / ".git") / "lfs" / "objects"


# -- other remotes ------------------------------------------------------------------------


def _remotes(root: Path) -> list[str]:
    out = git.try_git(["remote"], root) or b""
    return [r for r in out.decode("utf-8", "surrogateescape").splitlines() if r]


def other_remotes(groups: Sequence[KeyGroup], target: PurgeTarget) -> dict[str, list[str]]:
    """Remote -> the remote-tracking refs of it that reach a key, for every remote but the
    one the mirror is cloned from: its mirror does not hold them."""
    names = sorted(_remotes(target.root), key=len, reverse=True)
    found: dict[str, list[str]] = {}
    for g in groups:
        for ref in g.refs:
            name = next((n for n in names if ref.startswith(f"refs/remotes/{n}/")), None)
            if name is None or name == target.remote:
                continue
            refs = found.setdefault(name, [])
            if ref not in refs:
                refs.append(ref)
    return found


def _remote_url(root: Path, name: str) -> str | None:
    """Where `git push` to this remote goes (its first push URL), as the plan shows it."""
    from kimi_secret_scan.audit import remote_urls

    urls = remote_urls(root, name, push=True)
    return shown_url(root, urls[0]) if urls else None


def shown_url(root: Path, url: str) -> str:
    if url.lower().startswith(("http://", "https://")):
        # A token kept in the URL (`https://user:TOKEN@host/…`) is not printed: git asks
        # the credential helper for it.
        scheme, rest = url.split("://", 1)
        host, slash, path = rest.partition("/")
        return f"{scheme}://{host.rsplit('@', 1)[-1]}{slash}{path}"
    if "://" in url and not url.startswith("file://"):
        return url
    if "://" not in url and ":" in url.split("/", 1)[0]:
        return url  # user@host:path
    local = Path(url.removeprefix("file://"))
    return str(local if local.is_absolute() else (root / local).resolve())


def _source(root: Path, raw: str, shown: str, get_url: str) -> str:
    """What a clone command names: the URL, or, when it carries a credential (stripped from
    `shown`), the clone's own `git remote get-url …` when run (works; prints no token)."""
    from kimi_secret_scan.org.targets import without_credentials

    if raw.lower().startswith(("http://", "https://")) and without_credentials(raw) != raw:
        return f'"$(git -C {_q(root)} remote {get_url})"'
    return _q(shown)


def other_remote_steps(
    groups: Sequence[KeyGroup], target: PurgeTarget, strip: Sequence[str]
) -> list[list[str]]:
    """The same rewrite for each other remote whose refs reach a key: its own mirror, the
    same replacements and blob ids, its own push (the mirror names its remote `origin`)."""
    steps = []
    for name, refs in other_remotes(groups, target).items():
        url = _remote_url(target.root, name)
        listed = ", ".join(_shown(r) for r in refs)
        if url is None:
            steps.append(
                [
                    f"Remote {inert.text(name)} holds a key too ({listed}) but has no URL here: "
                    "rewrite it the same way from a clone of it, or ask its owners to."
                ]
            )
            continue
        from kimi_secret_scan.audit import remote_urls

        raw = remote_urls(target.root, name, push=True)[0]
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", name)
        intro = (
            f"Remote {inert.text(name)} holds a key too ({listed}), and the mirror above is "
            f"{target.remote or 'this repository'}'s only: rewrite {inert.text(name)} the "
            "same way, with the same files (you need push rights there; without them, ask "
            "its owners to, and the key stays revoked either way):"
        )
        source = _source(target.root, raw, url, f"get-url --push {_q(name)}")
        steps.append(_rewrite_elsewhere(groups, target, strip, intro, source, url, safe, name))
    return steps


def more_url_steps(
    groups: Sequence[KeyGroup], target: PurgeTarget, strip: Sequence[str]
) -> list[list[str]]:
    """The remote's other URLs (a second push URL, or the fetch URL when pushes go
    elsewhere): each is another repository holding the same history, rewritten the same way."""
    steps = []
    remote = target.remote or ""
    name = inert.text(remote)
    for push, i, raw in target.more_urls:
        url = shown_url(target.root, raw)
        if push:
            intro = (
                f"{name} has several push URLs (`git push` writes to each of them); the steps "
                f"above rewrote the first, {inert.text(_shown_url_of(target))}. {inert.text(url)} "
                "is another repository holding the same history: rewrite it the same way:"
            )
        else:
            intro = (
                f"{name} fetches from {inert.text(url)}, but pushes go to "
                f"{inert.text(_shown_url_of(target))}, which the steps above rewrote: the fetch "
                "URL is another repository holding the same history (a read mirror takes the "
                "rewritten one only when it next syncs, and may bring the old one back). "
                "Rewrite it the same way (or ask whoever runs it to):"
            )
        get_url = f"get-url {'--push ' if push else ''}--all {_q(remote)} | sed -n {i + 1}p"
        source = _source(target.root, raw, url, get_url)
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", f"{remote}-{'push' if push else 'fetch'}{i + 1}")
        steps.append(_rewrite_elsewhere(groups, target, strip, intro, source, url, safe, remote))
    return steps


def _shown_url_of(target: PurgeTarget) -> str:
    return shown_url(target.root, target.url) if target.url else "its URL"


def _rewrite_elsewhere(
    groups: Sequence[KeyGroup],
    target: PurgeTarget,
    strip: Sequence[str],
    intro: str,
    source: str,
    url: str,
    safe: str,
    name: str,
) -> list[str]:
    """One more repository's rewrite: its own mirror, beside the main one, cloned from
    `source`; rewritten with the same files, checked, force-pushed, then pruned."""
    mirror = target.mirror.parent / f"{target.name}-{safe}-purge.git"
    m = _q(mirror)
    local = "://" not in url and ":" not in url.split("/", 1)[0]
    lines = [
        intro,
        f"$ git clone --mirror {source} {m}",
        *([f"$ git -C {m} update-ref -d refs/stash"] if local else []),
        *(f"$ {c}" for c in rewrite_commands(groups, target, mirror, strip, False)),
        f"$ kimi-secret-scan history --repo {m}",
        f"$ git -C {m} push --force --mirror origin",
    ]
    if local:
        from kimi_secret_scan.audit import prune_for

        lines.append(f"$ {prune_for(Path(url))}")
        lines.append(f"$ kimi-secret-scan history --repo {_q(url)}")
    else:
        lines.append(
            f"  Then make {inert.text(name)}'s host forget the old commits, as the step "
            f"after the push above says for {target.remote or 'yours'} (its commit map, "
            f"for GitLab's repository cleanup: {inert.text(str(mirror))}/filter-repo/"
            "commit-map); then delete the mirror:"
        )
    lines.append(f"$ rm -rf {m}")
    return lines


def submodule_steps(target: PurgeTarget) -> list[list[str]]:
    """A submodule's rewrite leaves its superproject naming commits the remote no longer
    has (a `git clone --recurse-submodules` then fails for that path): what to do there."""
    if target.bare or not target.remote:
        return []
    out = git.try_git(["rev-parse", "--show-superproject-working-tree"], target.root)
    top = _lines(out or b"")
    if not top:
        return []
    superproject = Path(top[0])
    try:
        path = target.root.resolve().relative_to(superproject.resolve()).as_posix()
    except ValueError:
        return []
    gitdir = _lines(git.try_git(["rev-parse", "--absolute-git-dir"], target.root) or b"")
    copy = gitdir[0] if gitdir else f"{superproject}/.git/modules/…"
    commit_map = target.mirror / "filter-repo" / "commit-map"
    s, p = _q(superproject), _q(path)
    return [
        [
            f"This repository is the submodule {inert.text(path)} of "
            f"{inert.text(str(superproject))}: "
            "the superproject's commits record submodule commits that the rewrite replaced and "
            "the remote no longer serves (`git clone --recurse-submodules` then fails for "
            f"{inert.text(path)}). Before deleting the mirror, look up the rewritten commit of "
            "the one the superproject's HEAD records (filter-repo's commit map: old id, new id):",
            f"$ awk -v old=\"$(git -C {s} rev-parse HEAD:{p})\" '$1 == old {{print $2}}' "
            f"{_q(commit_map)}",
            f"  Then, in the superproject: replace its copy of the submodule ({inert.text(copy)} "
            f"holds the old commits: `git submodule deinit -f {p}`, delete that directory, "
            f"`git submodule update --init {p}`), check out that commit in {inert.text(path)}, "
            f"`git add {p}`, commit and push. Older superproject commits still name the old "
            "ids: checking them out leaves the submodule empty.",
        ]
    ]
