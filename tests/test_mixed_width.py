"""A narrow (UTF-8) file that goes on in UTF-16: what PowerShell 5.1's `>>` appends to a
file it did not write. The UTF-16 stretch is read as the characters it holds, wherever it
starts, and lines and columns are the file's characters."""

from __future__ import annotations

import json
from pathlib import Path

from tests.gitrepo import GitRepo, run_cli
from tests.keygen import kimi_code_key, moonshot_key


def _findings(run_out: str) -> list[tuple[int, int, str, str | None]]:
    report = json.loads(run_out)
    return sorted(
        (f["line"], f["column"], f["secret_sha256"], f["encoding"]) for f in report["findings"]
    )


def test_utf16_appended_after_2_kib_of_utf8_is_read(tmp_path: Path) -> None:
    from kimi_secret_scan.finding import sha256_hex

    wide_le, plain, wide_be = kimi_code_key(), kimi_code_key(), moonshot_key()
    data = (
        ("A=1\n" * 600).encode()  # 2,400 bytes of narrow text first
        + f"KIMI_API_KEY={wide_le}\r\n".encode("utf-16-le")
        + f"B = '{plain}'\n".encode()
        + "\ufeffX=1\r\nMOONSHOT_API_KEY=".encode("utf-16-be")
        + wide_be.encode("utf-16-be")
    )
    (tmp_path / "appended.txt").write_bytes(data)
    run = run_cli("files", ".", "--format", "json", cwd=tmp_path)
    assert run.code == 1, run.all
    assert _findings(run.out) == sorted(
        [
            (601, 14, sha256_hex(wide_le), "utf-16"),
            (602, 6, sha256_hex(plain), None),
            (604, 18, sha256_hex(wide_be), "utf-16"),
        ]
    )
    assert wide_le not in run.all and plain not in run.all


def test_a_committed_appended_file_fails_the_gate_and_the_audit(repo: GitRepo) -> None:
    base = repo.commit_file("README.md", "hi\n")
    key = kimi_code_key()
    data = ("x = 1\n" * 500).encode() + f"$env:KIMI_API_KEY = '{key}'\r\n".encode("utf-16-le")
    repo.commit_file("setup.ps1", data, "add setup")
    assert run_cli("range", f"{base}..HEAD", cwd=repo.path).code == 1
    assert run_cli("history", cwd=repo.path).code == 1


def test_binary_content_with_nuls_and_no_wide_key_adds_nothing(tmp_path: Path) -> None:
    (tmp_path / "blob.bin").write_bytes(bytes(range(256)) * 64 + b"s\x00k\x00" * 100)
    run = run_cli("files", ".", "--format", "json", cwd=tmp_path)
    assert run.code == 0, run.all


def _mixed(seed: int) -> bytes:
    import random

    rng = random.Random(seed)
    data = b""
    for _ in range(rng.randint(2, 8)):
        data += b"x = 1\n" * rng.randint(0, 900) + b"y" * rng.randint(0, 3)
        key = kimi_code_key()
        if rng.random() < 0.6:
            wide = "utf-16-le" if rng.random() < 0.7 else "utf-16-be"
            data += f"KIMI_API_KEY={key}\r\n".encode(wide)
        else:
            data += f"B='{key}'\n".encode()
    return data


def test_read_in_windows_it_gives_what_the_whole_read_gives() -> None:
    """Every window is told apart on its own: one with UTF-16 stretches locates their keys
    in its characters, so windows of any size find each key once, where the whole read does
    (it used to stop on an internal error)."""
    from kimi_secret_scan.content import Content
    from kimi_secret_scan.detectors import detect
    from kimi_secret_scan.windows import detect_chunks

    for seed in range(12):
        data = _mixed(seed)
        whole = sorted((f.line, f.column, f.secret) for f in detect(Content("m.txt", data)))
        chunks = [data[i : i + 1000] for i in range(0, len(data), 1000)]
        for window in (4096, 5001, 16384):
            found = detect_chunks(Content("m.txt", b""), iter(chunks), window=window)
            assert sorted((f.line, f.column, f.secret) for f in found) == whole, (seed, window)


def test_a_file_over_a_window_through_the_cli(tmp_path: Path) -> None:
    data = _mixed(3) + _mixed(4)
    (tmp_path / "m.txt").write_bytes(data)
    whole = run_cli("files", ".", "--format", "json", cwd=tmp_path)
    windowed = run_cli(
        "files", ".", "--format", "json", cwd=tmp_path, env={"KIMI_SECRET_SCAN_WINDOW": "4096"}
    )
    assert whole.code == windowed.code == 1, windowed.all
    assert _findings(windowed.out) == _findings(whole.out)
