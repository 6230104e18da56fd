"""Thin, read-only wrappers around git plumbing.

The hook path uses plain subprocesses: importing GitPython costs ~60 ms, a large share of
a pre-commit budget of 150 ms. Every call runs with GIT_OPTIONAL_LOCKS=0 so that git never
refreshes the index or takes locks in the repository we only read, and inherits the rest
of the environment so GIT_INDEX_FILE (set by `git commit -a` / `git commit PATH`) is honoured.
"""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from kimi_secret_scan.errors import ScanError


def git_env() -> dict[str, str]:
    env = dict(os.environ)
    # GIT_DIFF_OPTS=--unified=N takes precedence over -U0 on the command line and would count
    # unchanged lines as added; GIT_EXTERNAL_DIFF would replace the patch we parse.
    env.pop("GIT_DIFF_OPTS", None)
    env.pop("GIT_EXTERNAL_DIFF", None)
    env.update(GIT_OPTIONAL_LOCKS="0", GIT_TERMINAL_PROMPT="0", LC_ALL="C", LANGUAGE="C")
    return env


def _first_line(stderr: bytes) -> str:
    for line in stderr.decode("utf-8", "replace").splitlines():
        line = line.strip()
        if line:
            return line.removeprefix("fatal: ").removeprefix("error: ")
    return "no message"


def run_git(args: list[str], cwd: Path | str, input: bytes | None = None) -> bytes:
    """Run git and return its stdout; any failure becomes a one-line ScanError."""
    try:
        proc = subprocess.run(
            ["git", *args],
            cwd=cwd,
            input=input,
            capture_output=True,
            env=git_env(),
            check=False,
        )
    except FileNotFoundError:
        raise ScanError("git was not found on PATH; install git and try again") from None
    except NotADirectoryError:
        raise ScanError(f"{cwd} is not a directory") from None
    if proc.returncode != 0:
        raise ScanError(f"git {args[0]} failed: {_first_line(proc.stderr)}")
    return proc.stdout


def try_git(args: list[str], cwd: Path | str) -> bytes | None:
    """Run git; None when it exits non-zero (for questions such as 'is there a HEAD?')."""
    try:
        proc = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, env=git_env(), check=False
        )
    except FileNotFoundError:
        raise ScanError("git was not found on PATH; install git and try again") from None
    return proc.stdout if proc.returncode == 0 else None


@dataclass(frozen=True)
class Repo:
    root: Path  # the work tree's top level
    git_dir: Path
    # The commit HEAD names, None before the first commit (asked in the same git call).
    head: str | None = None


def find_repo(path: Path | str = ".") -> Repo:
    path = Path(path)
    if not path.exists():
        raise ScanError(f"{path} does not exist")
    cwd = path if path.is_dir() else path.parent
    try:
        # One process answers all three questions; `--verify -q` makes an unborn HEAD exit 1
        # quietly after the first two answers, instead of failing the whole call.
        proc = subprocess.run(
            [
                "git",
                "rev-parse",
                "--show-toplevel",
                "--absolute-git-dir",
                "--verify",
                "-q",
                "HEAD^{commit}",
            ],
            cwd=cwd,
            capture_output=True,
            env=git_env(),
            check=False,
        )
    except FileNotFoundError:
        raise ScanError("git was not found on PATH; install git and try again") from None
    lines = proc.stdout.decode("utf-8", "surrogateescape").splitlines()
    unborn = proc.returncode == 1 and len(lines) == 2 and not proc.stderr.strip()
    if proc.returncode != 0 and not unborn:
        message = _first_line(proc.stderr)
        if "not a git repository" in message:
            raise ScanError(f"{path.resolve()} is not inside a git repository")
        if "work tree" in message:
            raise ScanError(f"{path.resolve()} is a bare repository: it has no index to scan")
        raise ScanError(f"cannot read the repository at {path}: {message}")
    return Repo(
        root=Path(lines[0]), git_dir=Path(lines[1]), head=None if unborn else lines[2].strip()
    )


def has_commit(cwd: Path, rev: str = "HEAD") -> bool:
    return try_git(["rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"], cwd) is not None


def empty_tree(cwd: Path) -> str:
    # Asked of git rather than hard-coded so SHA-256 repositories work too.
    return run_git(["hash-object", "-t", "tree", "/dev/null"], cwd).decode().strip()


def object_sizes(cwd: Path, object_ids: list[str]) -> dict[str, int]:
    """Sizes of objects, without reading them (one `git cat-file --batch-check`)."""
    out = run_git(
        ["cat-file", "--batch-check=%(objectname) %(objectsize)"],
        cwd,
        input="".join(f"{oid}\n" for oid in object_ids).encode(),
    )
    sizes: dict[str, int] = {}
    for line in out.decode("ascii", "replace").splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            sizes[parts[0]] = int(parts[1])
    return sizes


def cat_file(cwd: Path, object_ids: Iterable[str]) -> Iterator[tuple[str, str, bytes]]:
    """Stream (id, type, data) for each object through one `git cat-file --batch`.

    A thread feeds the ids while we read, so git never blocks on a full pipe. A missing
    object yields type 'missing' and no data.
    """
    try:
        proc = subprocess.Popen(
            ["git", "cat-file", "--batch"],
            cwd=cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=git_env(),
        )
    except FileNotFoundError:
        raise ScanError("git was not found on PATH; install git and try again") from None
    assert proc.stdin is not None and proc.stdout is not None
    stdin, stdout = proc.stdin, proc.stdout

    def feed() -> None:
        try:
            for oid in object_ids:
                stdin.write(oid.encode() + b"\n")
            stdin.close()
        except (BrokenPipeError, ValueError):
            pass

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    try:
        yield from parse_batch(stdout)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        writer.join(timeout=1)
        stdout.close()


def parse_batch(stdout: IO[bytes]) -> Iterator[tuple[str, str, bytes]]:
    """(id, type, data) for each object of a `git cat-file --batch` stream.

    Output that does not follow the format (a header that is not "<id> <type> <size>", an
    object cut short) raises ScanError: never a wrong or partial object.
    """
    while True:
        header = stdout.readline()
        if not header:
            break
        # `<name> missing` echoes the name asked for, which may hold spaces
        # (MERGE_HEAD:a file.py): split from the right.
        stripped = header.rstrip(b"\n")
        name, _, last = stripped.rpartition(b" ")
        if last in (b"missing", b"ambiguous"):
            yield name.decode("utf-8", "surrogateescape"), "missing", b""
            continue
        parts = stripped.split()
        if len(parts) != 3 or not parts[2].isdigit() or not parts[0].isascii():
            raise ScanError(f"unexpected output from git cat-file: {header[:80]!r}")
        size = int(parts[2])
        data = stdout.read(size)
        if len(data) != size or stdout.read(1) != b"\n":
            raise ScanError("git cat-file stopped in the middle of an object")
        yield parts[0].decode(), parts[1].decode("utf-8", "replace"), data
