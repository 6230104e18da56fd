"""Helpers for range, CI and push tests: keys in files, bare remotes, clones, README blocks."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.gitrepo import GitRepo, Run, git
from tests.keygen import kimi_code_key

README = Path(__file__).resolve().parent.parent / "README.md"
ZERO = "0" * 40


def key_line(key: str | None = None) -> tuple[str, str]:
    """A line assigning a fresh Kimi Code key, and the key."""
    key = key or kimi_code_key()
    return f'KIMI_API_KEY = "{key}"\n', key


def findings(run: Run) -> list[dict[str, Any]]:
    assert run.code in (0, 1), run.all
    return list(json.loads(run.out)["findings"])


def existing(path: Path) -> GitRepo:
    repo = GitRepo.__new__(GitRepo)
    repo.path = path
    return repo


def cloned(url: str | Path, path: Path, *args: str) -> GitRepo:
    git(path.parent, "clone", "-q", *args, str(url), str(path))
    return existing(path)


def with_origin(tmp: Path) -> tuple[GitRepo, GitRepo]:
    """A bare `origin` and a work repository whose main is pushed to it."""
    origin = GitRepo(tmp / "origin.git", bare=True)
    work = GitRepo(tmp / "work")
    work.git("remote", "add", "origin", str(origin.path))
    return origin, work


def scanner_path_env() -> dict[str, str]:
    """PATH with this interpreter's bin first, so `kimi-secret-scan` in hooks is ours."""
    bin_dir = str(Path(sys.executable).parent)
    return {"PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")}


def documented_texts() -> list[tuple[Path, str]]:
    """The README and every page under docs/: where the documented snippets live."""
    root = README.parent
    pages = [README, *sorted((root / "docs").glob("*.md"))]
    return [(page, page.read_text(encoding="utf-8")) for page in pages]


def readme_block(containing: str, lang: str) -> str:
    """The fenced ```lang block of the README or docs/ that contains `containing`.

    Exactly one distinct block may match: the README repeats a snippet of a docs page word
    for word, and both copies are then the one tested here.
    """
    blocks = {
        block
        for _, text in documented_texts()
        for block in re.findall(rf"```{lang}\n(.*?)```", text, flags=re.S)
        if containing in block
    }
    assert len(blocks) == 1, f"{len(blocks)} documented {lang} blocks contain {containing!r}"
    return blocks.pop()


def install_hook(git_dir: Path, name: str, script: str) -> None:
    hook = git_dir / "hooks" / name
    hook.parent.mkdir(parents=True, exist_ok=True)
    hook.write_text(script, encoding="utf-8")
    hook.chmod(0o755)


def guarded_server(tmp: Path) -> tuple[GitRepo, GitRepo, dict[str, str]]:
    """A bare `server.git` with the README's pre-receive hook, a work repository whose main
    (one commit) is pushed to it, and the environment that finds the scanner on PATH."""
    server = GitRepo(tmp / "server.git", bare=True)
    install_hook(server.path, "pre-receive", readme_block("hooks/pre-receive:", "sh"))
    work = GitRepo(tmp / "work")
    work.git("remote", "add", "origin", str(server.path))
    work.commit_file("base.txt", "base\n", "base")
    env = {**os.environ, **scanner_path_env()}
    push = ["git", "push", "-q", "origin", "main"]
    assert subprocess.run(push, cwd=work.path, env=env, check=False).returncode == 0
    return server, work, env
