"""`kimi-secret-scan commit-msg FILE`: the commit message, as the commit-msg hook gets it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kimi_secret_scan.sources import message
from tests.gitrepo import GitRepo, run_cli
from tests.keygen import kimi_code_key, moonshot_key

ROOT = Path(__file__).resolve().parents[1]


def test_message_with_a_key_is_reported(tmp_path: Path) -> None:
    key = kimi_code_key()
    (tmp_path / "MSG").write_text(f"Fix the client\n\nUsed {key} to test it.\n")
    run = run_cli("commit-msg", "MSG", cwd=tmp_path)
    assert run.code == 1, run.all
    assert "MSG:3:6: Kimi Code API key" in run.out
    assert key not in run.all
    assert "Write the message again without the key" in run.out
    assert "scanned 1 file, 3 lines (commit message)" in run.out


def test_clean_message_passes(tmp_path: Path) -> None:
    (tmp_path / "MSG").write_text("Read the key from KIMI_API_KEY (sk-xxxx in the docs)\n")
    run = run_cli("commit-msg", "MSG", cwd=tmp_path)
    assert run.code == 0, run.all
    assert "no Kimi keys found" in run.out


def _staged(path: Path, key: str) -> None:
    """A repository at `path` whose index holds `key`: what `git commit -v` shows below the
    scissors line is its diff."""
    repo = GitRepo(path)
    repo.write("c.py", f"KEY = '{key}'\n")
    repo.add("c.py")


def test_verbose_commit_diff_below_the_scissors_is_not_the_message(tmp_path: Path) -> None:
    key = kimi_code_key()
    _staged(tmp_path, key)
    scissors = "# ------------------------ >8 ------------------------\n"
    (tmp_path / "MSG").write_text(
        "Add config\n\n" + scissors + "# Do not modify or remove the line above.\n"
        "diff --git a/c.py b/c.py\n" + f"+KEY = '{key}'\n"
    )
    run = run_cli("commit-msg", "--format", "json", "MSG", cwd=tmp_path)
    assert run.code == 0, run.all
    # The 4 lines from the scissors on are read too (git keeps them without -v); the
    # staged key there is the diff's.
    assert json.loads(run.out)["stats"]["lines"] == 2 + 4


def test_non_utf8_message(tmp_path: Path) -> None:
    key = moonshot_key()
    (tmp_path / "MSG").write_bytes(b"caf\xe9 moonshot " + key.encode() + b"\n")
    run = run_cli("commit-msg", "--format", "json", "MSG", cwd=tmp_path)
    assert run.code == 1, run.all
    finding = json.loads(run.out)["findings"][0]
    assert (finding["line"], finding["column"]) == (1, 15)


def test_empty_message_file(tmp_path: Path) -> None:
    (tmp_path / "MSG").write_bytes(b"")
    run = run_cli("commit-msg", "MSG", cwd=tmp_path)
    assert run.code == 0, run.all


def test_missing_message_file_is_an_error(tmp_path: Path) -> None:
    run = run_cli("commit-msg", "NOPE", cwd=tmp_path)
    assert run.code == 2
    assert run.out == ""
    assert run.err.count("\n") == 1
    assert run.err.startswith("kimi-secret-scan: error: NOPE")


def test_directory_instead_of_a_message_file_is_an_error(tmp_path: Path) -> None:
    run = run_cli("commit-msg", ".", cwd=tmp_path)
    assert run.code == 2
    assert run.err.count("\n") == 1 and "error" in run.err


def test_real_commit_msg_hook_blocks_the_commit(repo: GitRepo) -> None:
    hook = repo.path / ".git" / "hooks" / "commit-msg"
    hook.parent.mkdir(parents=True, exist_ok=True)
    hook.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m kimi_secret_scan commit-msg "$1"\n')
    hook.chmod(0o755)
    repo.write("a.txt", "a\n")
    repo.add()
    env = dict(os.environ, PYTHONPATH=str(ROOT))

    def commit(message: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["git", "commit", "-q", "-m", message],
            cwd=repo.path,
            env=env,
            capture_output=True,
            text=True,
        )

    proc = commit(f"Add a\n\nkey: {kimi_code_key()}")
    assert proc.returncode != 0
    assert "COMMIT_EDITMSG:3:6" in proc.stdout + proc.stderr
    assert subprocess.run(["git", "rev-parse", "-q", "--verify", "HEAD"], cwd=repo.path).returncode

    proc = commit("Add a")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_a_key_in_the_author_email_is_reported(repo: GitRepo) -> None:
    """The commit-msg hook also scans the identity the commit will record."""
    key = moonshot_key()
    (repo.path / "MSG").write_text("Fix the client\n")
    run = run_cli("commit-msg", "MSG", cwd=repo.path, env={"GIT_AUTHOR_EMAIL": f"{key}@x.org"})
    assert run.code == 1, run.all
    assert "author of this commit:1:" in run.out
    assert key not in run.all


# A message larger than a scanning window (git takes one of any size) is read in chunks,
# never whole; KIMI_SECRET_SCAN_WINDOW makes a few hundred KB take the path of 500 MiB.
_SMALL_WINDOW = {"KIMI_SECRET_SCAN_WINDOW": str(128 << 10)}


def _filler(lines: int) -> str:
    return "".join(f"line {i}: an ordinary sentence of a very long message\n" for i in range(lines))


def test_a_message_over_a_window_is_scanned_in_windows(tmp_path: Path) -> None:
    key, late = kimi_code_key(), moonshot_key()
    (tmp_path / "MSG").write_text(
        "Subject\n\n"
        + _filler(5_000)
        + f"Used {key} here\n"
        + _filler(5_000)
        + f"MOONSHOT_API_KEY={late}\n"
    )
    run = run_cli(
        "commit-msg", "--format", "json", "--show-secrets", "MSG", cwd=tmp_path, env=_SMALL_WINDOW
    )
    assert run.code == 1, run.all
    report = json.loads(run.out)
    found = [(f["line"], f["column"], f["secret"]) for f in report["findings"]]
    assert found == [(5_003, 6, key), (10_004, 18, late)]
    assert report["stats"]["lines"] == 10_004


def test_the_scissors_cut_a_message_over_a_window(tmp_path: Path) -> None:
    key = kimi_code_key()
    _staged(tmp_path, key)
    scissors = "# ------------------------ >8 ------------------------\n"
    # The mark lies across the reader's 1 MiB chunks and past several windows.
    head = "Subject\n\n" + _filler(20_000)
    pad = "x" * ((1 << 20) - len(head.encode()) % (1 << 20) - 10) + "\n"
    (tmp_path / "MSG").write_text(
        head + pad + scissors + "diff --git a/c.py b/c.py\n" + f"+KEY = '{key}'\n"
    )
    run = run_cli("commit-msg", "--format", "json", "MSG", cwd=tmp_path, env=_SMALL_WINDOW)
    assert run.code == 0, run.all
    assert json.loads(run.out)["stats"]["lines"] == 20_003 + 3


def test_a_message_over_a_window_is_not_held(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(message, "WINDOW", 1024)
    text = "Subject\n\n" + _filler(3_000)
    (tmp_path / "MSG").write_text(
        text + "# ------------------------ >8 ------------------------\n+x\n"
    )
    content = message.read_message(str(tmp_path / "MSG"))
    assert content.data == b"" and content.chunks is not None
    assert b"".join(content.chunks()) == text.encode() and content.size == len(text)


@pytest.mark.parametrize("big", [False, True])
def test_a_mark_git_does_not_cut_at_is_scanned_past(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, big: bool
) -> None:
    """git drops the text below the scissors only at the line it writes (comment character,
    space, the mark, alone on its line); `git commit -F` keeps what follows any other line
    holding the mark, so the hook must read it."""
    key = kimi_code_key()
    pad = ("x" * 70 + "\n") * (2000 if big else 1)
    for mark in (
        "------------------------ >8 ------------------------\n",
        "see # ------------------------ >8 ------------------------\n",
        "# ------------------------ >8 ------------------------ here\n",
    ):
        (tmp_path / "MSG").write_text("Subject\n\n" + pad + mark + f"KEY = '{key}'\n")
        env = {"KIMI_SECRET_SCAN_WINDOW": "4096"} if big else None
        run = run_cli("commit-msg", "MSG", cwd=tmp_path, env=env)
        assert run.code == 1, (mark, run.all)
    # git's own line: the -v diff below it is not the message, in a message over a window
    # as in a small one; but `git commit -F` keeps it, so a key that is not in the diff's
    # sources (this one is in no repository) counts.
    git_cut = "; ------------------------ >8 ------------------------\n"  # core.commentChar=;
    (tmp_path / "MSG").write_text("Subject\n\n" + pad + git_cut + f"+KEY = '{key}'\n")
    env = {"KIMI_SECRET_SCAN_WINDOW": "4096"} if big else None
    assert run_cli("commit-msg", "MSG", cwd=tmp_path, env=env).code == 1
    _staged(tmp_path / "repo", key)
    (tmp_path / "repo" / "MSG").write_text("Subject\n\n" + pad + git_cut + f"+KEY = '{key}'\n")
    assert run_cli("commit-msg", "MSG", cwd=tmp_path / "repo", env=env).code == 0


@pytest.mark.parametrize("crlf", [False, True])
def test_text_below_git_s_scissors_that_git_keeps_is_scanned(tmp_path: Path, crlf: bool) -> None:
    """git cuts at its scissors line only with -v or --cleanup=scissors: `git commit -F`
    (and -m, and the editor by default) keeps what follows. The hook cannot tell, so a key
    below the line that is not in the -v diff's sources counts; one staged, or removed
    from HEAD, is the diff's."""
    repo = GitRepo(tmp_path)
    repo.commit_file("a.txt", "a\n", "base")
    repo.git("config", "core.hooksPath", str(tmp_path / "hooks"))
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    hook = hooks / "commit-msg"
    hook.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m kimi_secret_scan commit-msg "$1"\n')
    hook.chmod(0o755)
    key, eol = kimi_code_key(), "\r\n" if crlf else "\n"
    cut = "# ------------------------ >8 ------------------------"
    msg = tmp_path.parent / f"msg-{crlf}"
    msg.write_bytes(eol.join(["Subject", "", cut, f"key {key}", ""]).encode())
    repo.write("a.txt", "b\n")
    repo.add("a.txt")
    env = {**os.environ, "PYTHONPATH": str(Path(message.__file__).parents[2])}
    commit = subprocess.run(
        ["git", "commit", "-q", "-F", str(msg)], cwd=tmp_path, env=env, capture_output=True
    )
    assert commit.returncode != 0, commit
    assert repo.git("rev-list", "--count", "HEAD").strip() == "1"
    # Staged, the key is the -v diff's: the message passes (the staged scan decides).
    repo.write("k.py", f"KEY = '{key}'\n")
    repo.add("k.py")
    assert run_cli("commit-msg", str(msg), cwd=tmp_path).code == 0
    repo.commit("add k")
    repo.git("rm", "-q", "k.py")  # a commit that removes it shows it in its -v diff too
    assert run_cli("commit-msg", str(msg), cwd=tmp_path).code == 0
