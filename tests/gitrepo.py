"""Real git repositories in temporary folders, driven with the real git binary."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Run:
    code: int
    out: str
    err: str

    @property
    def all(self) -> str:
        return self.out + self.err


def git(cwd: Path, *args: str, input: bytes | None = None) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, input=input, capture_output=True, check=False)
    if proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr.decode()}")
    return proc.stdout.decode("utf-8", "surrogateescape")


class GitRepo:
    def __init__(self, path: Path, bare: bool = False) -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        git(path, "init", "-q", "--initial-branch=main", *(["--bare"] if bare else []))

    def git(self, *args: str, input: bytes | None = None) -> str:
        return git(self.path, *args, input=input)

    def write(self, name: str, content: str | bytes) -> Path:
        target = self.path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            target.write_text(content, encoding="utf-8")
        else:
            target.write_bytes(content)
        return target

    def add(self, *names: str) -> None:
        self.git("add", "--", *(names or (".",)))

    def commit(self, message: str = "change", *, allow_empty: bool = False) -> str:
        self.git(
            "commit",
            "-q",
            "--no-verify",
            "-m",
            message,
            *(["--allow-empty"] if allow_empty else []),
        )
        return self.head()

    def commit_file(self, name: str, content: str | bytes, message: str = "change") -> str:
        self.write(name, content)
        self.add(name)
        return self.commit(message)

    def head(self) -> str:
        return self.git("rev-parse", "HEAD").strip()


def run_cli(
    *args: str,
    cwd: Path,
    env: dict[str, str] | None = None,
    input: bytes | None = None,
    timeout: float | None = None,
) -> Run:
    """The real command line, in a real process (killed, failing the test, after `timeout`
    seconds: where a hang is the bug)."""
    full_env = dict(os.environ)
    full_env.pop("NO_COLOR", None)
    if env:
        full_env.update(env)
    proc = subprocess.run(
        [sys.executable, "-m", "kimi_secret_scan", *args],
        cwd=cwd,
        env=full_env,
        input=input,
        capture_output=True,
        check=False,
        timeout=timeout,
    )
    return Run(
        proc.returncode,
        proc.stdout.decode("utf-8", "replace"),
        proc.stderr.decode("utf-8", "replace"),
    )
