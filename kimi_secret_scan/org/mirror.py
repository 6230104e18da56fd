"""The mirror cache: one bare mirror per clone URL, cloned once and fetched on later runs.

This is the one module that imports GitPython (`git` the package, not our `git` module): its
`Repo.clone_from(mirror=True)` / `Remote.fetch` with a `RemoteProgress` fit cloning and
fetching well. It is imported only by the organisation audit's worker, never on the hook
path (importing it costs tens of milliseconds), and never reads blobs (one round trip per
object; the history pipeline streams them through `cat-file --batch` instead).

Every git it starts gets the project's environment (`kimi_secret_scan.git.git_env()`), plus:
only the transports a target may name (no `ext::`, no remote helpers), no terminal prompt
(a CI job must fail, not hang, on a repository that wants a password), ssh in batch mode,
and git's own upload-pack on the far side of a fetch (`fetch`). A cached mirror's `config`
is written afresh before any git reads it (_fresh_config): git never runs with settings a
cache entry carries.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

import git as gitpython  # GitPython
from git.exc import GitCommandError, InvalidGitRepositoryError, NoSuchPathError

from kimi_secret_scan.errors import ScanError
from kimi_secret_scan.git import git_env
from kimi_secret_scan.org import seal
from kimi_secret_scan.org.targets import URL_SCHEMES, Target

# (phase, current, total) → the progress display; total is 0 when unknown.
Report = Callable[[str, float, float], None]


def mirror_env() -> dict[str, str]:
    env = git_env()
    env["GIT_TERMINAL_PROMPT"] = "0"
    # Only these transports, for the clone and for anything it would reach on its own.
    env["GIT_ALLOW_PROTOCOL"] = ":".join(URL_SCHEMES)
    env["GIT_PROTOCOL_FROM_USER"] = "0"
    # Appended to git_env()'s own command-line configuration, if it sets any.
    extra = {
        "protocol.ext.allow": "never",
        "credential.interactive": "false",
    }
    count = int(env.get("GIT_CONFIG_COUNT", "0") or 0)
    for name, value in extra.items():
        env[f"GIT_CONFIG_KEY_{count}"] = name
        env[f"GIT_CONFIG_VALUE_{count}"] = value
        count += 1
    env["GIT_CONFIG_COUNT"] = str(count)
    if "GIT_SSH_COMMAND" not in env and "GIT_SSH" not in env:
        env["GIT_SSH_COMMAND"] = "ssh -o BatchMode=yes"
    return env


class _Progress(gitpython.RemoteProgress):
    """GitPython's parsed `--progress` lines → our display."""

    _NAMES: ClassVar[dict[int, str]] = {
        gitpython.RemoteProgress.COUNTING: "counting objects",
        gitpython.RemoteProgress.COMPRESSING: "compressing objects",
        gitpython.RemoteProgress.RECEIVING: "receiving objects",
        gitpython.RemoteProgress.RESOLVING: "resolving deltas",
        gitpython.RemoteProgress.FINDING_SOURCES: "finding sources",
    }

    def __init__(self, report: Report) -> None:
        super().__init__()
        self.report = report

    def update(
        self,
        op_code: int,
        cur_count: str | float,
        max_count: str | float | None = None,
        message: str = "",
    ) -> None:
        phase = self._NAMES.get(op_code & self.OP_MASK, "transferring")
        self.report(phase, float(cur_count or 0), float(max_count or 0))


def reason(exc: GitCommandError, progress: gitpython.RemoteProgress | None = None) -> str:
    """git's own reason, in one line: the first `fatal:`/`error:` line of its stderr.

    With a progress handler GitPython reads stderr itself and keeps what is not progress in
    the handler's `error_lines` and `other_lines`, not in the exception."""
    text = str(exc.stderr or "").strip()
    text = text.removeprefix("stderr:").strip().strip("'").strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if progress is not None:
        lines = [
            line.strip()
            for line in [*progress.error_lines, *progress.other_lines, *lines]
            if line.strip()
        ]
    lines = [line for line in lines if not line.startswith(("Cloning into", "remote: "))]
    for i, line in enumerate(lines):
        # "Connecting to host (port 9418) ... fatal: unable to connect": mid-line too.
        at = min((line.find(w) for w in ("fatal:", "error:") if w in line), default=-1)
        if at >= 0:
            found = line[at:].split(":", 1)[1].strip()
            if found.endswith(":") and i + 1 < len(lines):
                found += " " + lines[i + 1]
            return found
    return lines[-1] if lines else f"git exited with {exc.status}"


def _remove(path: Path) -> None:
    """Remove a cache entry; a link is removed itself, never followed (rmtree through a
    link the checkout commits would delete elsewhere)."""
    if path.is_symlink() or not path.is_dir():
        path.unlink(missing_ok=True)
    else:
        shutil.rmtree(path)


_FETCH_HEAD = "FETCH_HEAD"


def _read_fetch_head(entry: Path) -> bytes | None:
    try:
        fd = os.open(entry / _FETCH_HEAD, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as handle:
            return handle.read()
    except OSError:
        return None


def _put_fetch_head(entry: Path, content: bytes | None) -> None:
    """A fetch that failed has emptied FETCH_HEAD (git truncates it first) and changed
    nothing else: put it back as it was, so the entry can be sealed again unchanged."""
    with contextlib.suppress(OSError):
        if content is None:
            (entry / _FETCH_HEAD).unlink(missing_ok=True)
            return
        tmp = entry / f".{_FETCH_HEAD}.{os.getpid()}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        os.replace(tmp, entry / _FETCH_HEAD)


def fetch(origin: gitpython.Remote, progress: gitpython.RemoteProgress) -> None:
    """The mirror's refspec (+refs/*:refs/*); prune drops refs deleted upstream. The program
    on the far side of a local or ssh fetch is git's own, named on the command line: a
    `-c remote.origin.uploadpack=` would not do, git keeps the *first* value it reads (the
    repository's). GitPython calls --upload-pack unsafe for values a caller passes on; ours
    is a constant."""
    origin.fetch(
        progress=progress, prune=True, upload_pack="git-upload-pack", allow_unsafe_options=True
    )


# What a mirror clone's config may carry that the fetch needs, with the values git writes.
_EXTENSIONS = {"objectformat": ("sha1", "sha256"), "refstorage": ("files", "reftable")}


def _extensions(config: Path) -> dict[str, str]:
    """`[extensions]` values git's clone wrote in `config`, read as text: no git runs on a
    file this tool is about to replace (a value git would read otherwise only makes the
    fetch fail, which is said)."""
    found: dict[str, str] = {}
    try:
        fd = os.open(config, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as handle:
            text = handle.read(1 << 16).decode("utf-8", "replace")
    except OSError:
        return found
    section = ""
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("["):
            section = line.strip("[]").strip().lower()
        elif section == "extensions" and "=" in line:
            name, value = (part.strip().lower() for part in line.split("=", 1))
            if name in _EXTENSIONS:
                found[name] = value
    return found


def _fresh_config(entry: Path, url: str) -> None:
    """Write the entry's `config` from scratch: bare, the target's URL, the mirror refspec,
    and the repository format git needs to read it. Whoever sealed the entry (a key a
    checkout commits, a bug), a setting that runs a program on fetch (remote.*.uploadpack,
    credential.helper, core.gitProxy, remote.*.vcs), redirects it (url.*.insteadOf) or
    narrows it (remote.*.fetch, include.path) is gone before git reads the file."""
    if any(c in url for c in "\n\0"):  # targets.parse refuses them; a config line cannot hold them
        raise ScanError(f"cannot write a config for {url!r}")
    config = entry / "config"
    extensions = [
        f"\t{name} = {value}\n"
        for name, value in _extensions(config).items()
        if value in _EXTENSIONS[name] and value != _EXTENSIONS[name][0]
    ]
    quoted = url.replace("\\", "\\\\").replace('"', '\\"')
    text = (
        "[core]\n"
        f"\trepositoryformatversion = {1 if extensions else 0}\n"
        "\tbare = true\n"
        '[remote "origin"]\n'
        f'\turl = "{quoted}"\n'
        "\tfetch = +refs/*:refs/*\n"
        "\tmirror = true\n"
    )
    if extensions:
        text += "[extensions]\n" + "".join(extensions)
    tmp = entry / f".config.{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8", errors="surrogateescape") as handle:
        handle.write(text)
    os.replace(tmp, config)  # replaces a link itself, never writes through it


def forget(target: Target, cache: Path) -> None:
    """Drop the target's mirror (`--purged`): the next clone holds only what the server
    still reaches, not the objects earlier fetches brought that it may have pruned since."""
    path = cache / f"{target.slug}.git"
    if os.path.lexists(path):
        _remove(path)


def ensure(target: Target, cache: Path, report: Report) -> tuple[Path, str | None]:
    """The target's mirror in the cache, cloned or fetched now, and a note when a cache entry
    was found that this tool did not leave as it is (then cloned again). ScanError with git's
    reason when the repository cannot be reached or read."""
    assert target.url is not None
    # The mirrors hold every key their repositories ever leaked: readable by this user only.
    cache.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = cache / f"{target.slug}.git"
    env = mirror_env()
    key = seal.load_key()
    fetching = _Progress(report)
    note = None
    if os.path.lexists(path):
        # Before any git (or GitPython's config reader) runs there: an entry a checkout
        # planted (its config runs a program on fetch, its refspec fetches nothing, its
        # objects are forged) or changed is never used. Sealed by this tool, it is as the
        # last clone or fetch left it.
        if seal.entry_is_ours(path, target.url, key):
            seal.unseal_entry(path)  # a fetch cut short leaves no seal that matches
            before = None
            fetch_head: bytes | None = None
            try:
                # A seal says who wrote the entry, not that its config is safe to run.
                _fresh_config(path, target.url)
                before = seal.digest_now(path, target.url, key)
                fetch_head = _read_fetch_head(path)
                repo = gitpython.Repo(path)
                repo.git.update_environment(**env)
                origin = repo.remote("origin")
                if origin.url == target.url:
                    report("fetching", 0, 0)
                    fetch(origin, fetching)
                    seal.seal_entry(path, target.url, key)
                    return path, None
            except GitCommandError as exc:
                _put_fetch_head(path, fetch_head)
                seal.reseal_unchanged(path, target.url, key, before)
                raise ScanError(f"cannot fetch {target.name}: {reason(exc, fetching)}") from None
            except (InvalidGitRepositoryError, NoSuchPathError, ValueError, OSError):
                pass
        else:
            note = (
                "its cached mirror was not as this audit left it (planted or changed, or "
                "left by an older version or a cut-short fetch): cloned again"
            )
        # Not a mirror of this URL (a changed URL, a damaged or planted entry): clone afresh.
        _remove(path)
    # Cloned beside its final place and renamed: an interrupted clone never looks done.
    # What an interrupted run left behind (another pid's partial clone of this target).
    for stale in cache.glob(f".{target.slug}.*.partial"):
        with contextlib.suppress(OSError):
            _remove(stale)
    partial = cache / f".{target.slug}.{os.getpid()}.partial"
    report("cloning", 0, 0)
    cloning = _Progress(report)
    try:
        gitpython.Repo.clone_from(
            target.url,
            partial,
            # GitPython's stubs name a plain callable; a RemoteProgress is what it documents.
            progress=cloning,  # type: ignore[arg-type]
            env=env,
            mirror=True,
        )
    except GitCommandError as exc:
        shutil.rmtree(partial, ignore_errors=True)
        raise ScanError(f"cannot clone {target.name}: {reason(exc, cloning)}") from None
    seal.seal_entry(partial, target.url, key)
    try:
        partial.rename(path)
    except OSError:
        # Another audit sharing the cache cloned it first: theirs is as good as ours.
        shutil.rmtree(partial, ignore_errors=True)
        if not path.is_dir():
            raise
    return path, note
