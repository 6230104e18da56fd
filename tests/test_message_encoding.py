"""Messages stored in another encoding than UTF-8 (`git -c i18n.commitEncoding=IBM037
commit`): git log shows them decoded, so every command scans them decoded as well."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

from tests.gitrepo import GitRepo, run_cli
from tests.keygen import kimi_code_key
from tests.remotes import guarded_server, install_hook, scanner_path_env


def _sha(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _found(out: str) -> set[str]:
    return {f["secret_sha256"] for f in json.loads(out)["findings"]}


def _ebcdic_commit(repo: GitRepo, key: str) -> str:
    """A commit made the ordinary way, its message in EBCDIC (git fsck is clean)."""
    msg = repo.path.parent / "msg.ebcdic"
    msg.write_bytes(f"deploy\n\nKIMI_API_KEY={key}\n".encode("cp037"))
    repo.write("base.txt", "x\n")
    repo.add("base.txt")
    repo.git("-c", "i18n.commitEncoding=IBM037", "commit", "-q", "--no-verify", "-F", str(msg))
    assert "encoding IBM037" in repo.git("cat-file", "commit", "HEAD")
    assert key in repo.git("log", "-1", "--format=%B")  # git shows the key
    return repo.head()


def _hand_made(repo: GitRepo, encoding: str, body: bytes) -> str:
    tree = repo.git("rev-parse", "HEAD^{tree}").strip()
    parent = repo.head()
    obj = (
        f"tree {tree}\nparent {parent}\nauthor a <a@x> 1700000000 +0000\n"
        f"committer a <a@x> 1700000000 +0000\nencoding {encoding}\n\n"
    ).encode() + body
    oid = repo.git("hash-object", "-t", "commit", "-w", "--literally", "--stdin", input=obj)
    repo.git("update-ref", "refs/heads/main", oid.strip())
    return oid.strip()


def test_ebcdic_message_is_found_by_range_and_history(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "r")
    repo.commit_file("base.txt", "base\n", "base")
    key = kimi_code_key()
    _ebcdic_commit(repo, key)
    for args in (["range", "HEAD~1..HEAD"], ["history"], ["history", "--jobs", "2"]):
        run = run_cli(*args, "--format", "json", cwd=repo.path)
        assert run.code == 1, (args, run.all)
        assert _sha(key) in _found(run.out), args
        assert key not in run.all
        assert "decoded from cp037" in run.out


def test_utf7_and_shift_jis_messages(tmp_path: Path) -> None:
    import base64

    repo = GitRepo(tmp_path / "r")
    repo.commit_file("base.txt", "base\n", "base")
    base = repo.head()
    utf7, sjis = kimi_code_key(), kimi_code_key()
    # UTF-7 with every character of the key encoded (no raw ASCII run holds it).
    wide = base64.b64encode(utf7.encode("utf-16-be")).decode().rstrip("=")
    _hand_made(repo, "UTF-7", f"deploy\n\nKIMI_API_KEY=+{wide}-\n".encode())
    # Shift_JIS full-width letters (what a Japanese IME types) are not the key: a plain one is.
    _hand_made(repo, "Shift_JIS", f"デプロイ\n\n鍵 {sjis}\n".encode("shift_jis"))
    for args in (["range", f"{base}..main"], ["history"]):
        run = run_cli(*args, "--format", "json", cwd=repo.path)
        assert run.code == 1, (args, run.all)
        assert {_sha(utf7), _sha(sjis)} <= _found(run.out), args


def test_an_encoding_the_scanner_cannot_decode_is_said(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "r")
    repo.commit_file("base.txt", "base\n", "base")
    base = repo.head()
    _hand_made(repo, "X-NO-SUCH-CHARSET", b"deploy\n")
    for args in (["range", f"{base}..main"], ["history"]):
        run = run_cli(*args, "--format", "json", cwd=repo.path)
        assert run.code == 2, (args, run.all)
        report = json.loads(run.out)
        assert report["stats"]["complete"] is False
        assert "X-NO-SUCH-CHARSET" in run.all
    # bytes-to-bytes codecs are no character set: never used to decode (zlib, base64).
    _hand_made(repo, "zlib", b"x\x9c")
    run = run_cli("range", f"{base}..main", "--format", "json", cwd=repo.path)
    assert run.code == 2, run.all


def test_ebcdic_push_is_rejected_by_pre_receive(tmp_path: Path) -> None:
    _server, work, env = guarded_server(tmp_path)
    push = ["git", "push", "-q", "origin", "main"]
    key = kimi_code_key()
    _ebcdic_commit(work, key)
    proc = subprocess.run(push, cwd=work.path, env=env, capture_output=True, check=False)
    shown = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode != 0, shown
    assert "pre-receive hook declined" in shown
    assert "decoded from cp037" in shown and key not in shown


def test_commit_msg_hook_decodes_the_commit_encoding(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "r")
    repo.commit_file("base.txt", "base\n", "base")
    install_hook(
        repo.path / ".git", "commit-msg", '#!/bin/sh\nexec kimi-secret-scan commit-msg "$1"\n'
    )
    key = kimi_code_key()
    msg = tmp_path / "msg"
    msg.write_bytes(f"deploy\n\nKIMI_API_KEY={key}\n".encode("cp037"))
    repo.write("base.txt", "x\n")
    repo.add("base.txt")
    env = {**os.environ, **scanner_path_env()}
    for how in (["-c", "i18n.commitEncoding=IBM037"], []):
        if not how:  # from the repository's config, as git reads it
            repo.git("config", "i18n.commitEncoding", "IBM037")
        proc = subprocess.run(
            ["git", *how, "commit", "-q", "-F", str(msg)],
            cwd=repo.path,
            env=env,
            capture_output=True,
            check=False,
        )
        shown = proc.stdout.decode("utf-8", "replace") + proc.stderr.decode("utf-8", "replace")
        assert proc.returncode != 0, shown
        assert "decoded from cp037" in shown and key not in shown
    # An encoding the scanner cannot decode: said, exit 2.
    repo.git("config", "i18n.commitEncoding", "X-NO-SUCH-CHARSET")
    msg.write_bytes(b"deploy\n")
    run = run_cli("commit-msg", str(msg), "--format", "json", cwd=repo.path)
    assert run.code == 2, run.all
    assert json.loads(run.out)["stats"]["complete"] is False


def test_decoded_chunks_join_characters_split_between_chunks() -> None:
    from kimi_secret_scan.sources import reencode

    key = kimi_code_key()
    data = f"KIMI_API_KEY={key}\n".encode("utf-16-le")
    pieces = [data[i : i + 7] for i in range(0, len(data), 7)]  # odd: characters split
    read = reencode.decoded_chunks(lambda: iter(pieces), "utf-16-le")
    assert b"".join(read()) == f"KIMI_API_KEY={key}\n".encode()
    assert reencode.codec_for(b"IBM-037") == "cp037"
    assert reencode.codec_for(b"UTF-8") == ""
    assert reencode.codec_for(b"base64") is None  # bytes to bytes: no character set
