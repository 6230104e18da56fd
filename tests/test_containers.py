"""Containers (zip and its family, tar, gzip, bzip2, xz, SQLite) opened in every command,
with each key located inside its container, and the limits against bombs.

Every container is built at run time, with keys from tests/keygen.py.
"""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
import sqlite3
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.archives import tar_gz_bytes, zip_bytes
from tests.gitrepo import GitRepo, Run, run_cli
from tests.keygen import kimi_code_key, moonshot_key


def one_api_db(path: Path, key: str, row: int = 12) -> None:
    """one-api's `channels` table: the key's record runs straight into the name's text."""
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TABLE channels (id INTEGER PRIMARY KEY, type INTEGER, key TEXT, "
        "name TEXT, base_url TEXT, models TEXT)"
    )
    for n in range(1, row + 1):
        conn.execute(
            "INSERT INTO channels (id, type, key, name, base_url, models) VALUES (?,?,?,?,?,?)",
            (n, 25, key if n == row else f"placeholder-{n}", "Kimi", "", "moonshot-v1-8k"),
        )
    conn.commit()
    conn.close()


def docx_bytes(key: str) -> bytes:
    document = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        "<w:body><w:p><w:r><w:t>Moonshot API key for the demo:</w:t></w:r></w:p>\n"
        f"<w:p><w:r><w:t>{key}</w:t></w:r></w:p></w:body></w:document>\n"
    )
    return zip_bytes(
        {
            "[Content_Types].xml": b'<?xml version="1.0"?><Types/>',
            "word/document.xml": document.encode(),
        }
    )


# The five carriers of the issue, and where each key must be reported.
Carriers = dict[str, tuple[str, int]]  # key -> (path, line)


def write_carriers(root: Path) -> Carriers:
    keys = [moonshot_key(), kimi_code_key(), moonshot_key(), moonshot_key(), moonshot_key()]
    env = f"APP=demo\nDEBUG=0\nMOONSHOT_API_KEY={keys[0]}\n".encode()
    (root / "backup.zip").write_bytes(zip_bytes({"config/": b"", "config/.env": env}))
    log = "".join(f"12:00:{n:02d} request ok\n" for n in range(20))
    log += f"12:01:00 retry with key {keys[1]} (kimi)\n"
    (root / "logs").mkdir(exist_ok=True)
    (root / "logs" / "app.log.gz").write_bytes(gzip.compress(log.encode()))
    one_api_db(root / "one-api.db", keys[2])
    settings = f"KIMI_API_KEY={keys[3]}\n".encode()
    (root / "src.tar.gz").write_bytes(tar_gz_bytes({"proj/README": b"hi\n", "proj/.env": settings}))
    (root / "notes.docx").write_bytes(docx_bytes(keys[4]))
    return {
        keys[0]: ("backup.zip!config/.env", 3),
        keys[1]: ("logs/app.log.gz!app.log", 21),
        keys[2]: ("one-api.db!channels[row 12].key", 1),
        keys[3]: ("src.tar.gz!src.tar!proj/.env", 1),
        keys[4]: ("notes.docx!word/document.xml", 3),
    }


def report(run: Run) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(run.out)
    return data


def located(run: Run) -> dict[str, tuple[str, int]]:
    """secret_sha256 -> (path, line) of every finding."""
    return {f["secret_sha256"]: (f["path"], f["line"]) for f in report(run)["findings"]}


def by_hash(carriers: Carriers) -> dict[str, tuple[str, int]]:
    import hashlib

    return {hashlib.sha256(k.encode()).hexdigest(): where for k, where in carriers.items()}


def assert_found(run: Run, carriers: Carriers) -> None:
    assert run.code == 1, run.all
    assert located(run) == by_hash(carriers)
    for key in carriers:
        assert key not in run.all


def test_files_opens_every_container(tmp_path: Path) -> None:
    carriers = write_carriers(tmp_path)
    run = run_cli("files", ".", "--format", "json", cwd=tmp_path)
    assert_found(run, carriers)
    assert report(run)["stats"]["skipped"] == []


def test_files_text_report_locates_a_key_inside_the_zip(tmp_path: Path) -> None:
    key = moonshot_key()
    env = f"A=1\nB=2\nMOONSHOT_API_KEY={key}\n".encode()
    (tmp_path / "backup.zip").write_bytes(zip_bytes({"config/.env": env}))
    run = run_cli("files", "backup.zip", cwd=tmp_path)
    assert run.code == 1
    assert "backup.zip!config/.env:3:" in run.out
    assert key not in run.all


def test_staged_then_range_then_history(repo: GitRepo) -> None:
    repo.commit_file("README.md", "demo\n", "start")
    base = repo.head()
    carriers = write_carriers(repo.path)
    repo.add()
    assert_found(run_cli("staged", "--format", "json", cwd=repo.path), carriers)
    repo.commit("add the archives")
    assert_found(run_cli("range", f"{base}..HEAD", "--format", "json", cwd=repo.path), carriers)
    # One process, and worker processes (each unpacks the containers of its share).
    for jobs in ("1", "2"):
        run = run_cli("history", "--jobs", jobs, "--format", "json", cwd=repo.path)
        assert_found(run, carriers)
        assert {f["commit"] for f in report(run)["findings"]} == {repo.head()}


def test_a_container_changed_without_a_new_key_adds_nothing(repo: GitRepo) -> None:
    key = moonshot_key()
    env = f"MOONSHOT_API_KEY={key}\n".encode()
    repo.commit_file("backup.zip", zip_bytes({".env": env}), "backup")
    base = repo.head()
    repo.write("backup.zip", zip_bytes({".env": env, "README": b"now with a readme\n"}))
    repo.add("backup.zip")
    assert run_cli("staged", cwd=repo.path).code == 0
    repo.commit("backup again")
    assert run_cli("range", f"{base}..HEAD", cwd=repo.path).code == 0
    # A key added in the new version is new.
    other = moonshot_key()
    repo.write("backup.zip", zip_bytes({".env": env, "b/.env": f"KIMI_API_KEY={other}\n".encode()}))
    repo.add("backup.zip")
    run = run_cli("staged", "--format", "json", cwd=repo.path)
    assert [(f["path"], f["line"]) for f in report(run)["findings"]] == [("backup.zip!b/.env", 1)]


def test_each_compressor_and_nesting(tmp_path: Path) -> None:
    keys = [moonshot_key() for _ in range(5)]
    text = [f"MOONSHOT_API_KEY={k}\n".encode() for k in keys]
    (tmp_path / "a.env.bz2").write_bytes(bz2.compress(text[0]))
    (tmp_path / "b.env.xz").write_bytes(lzma.compress(text[1]))
    inner = zip_bytes({"deep/.env": text[2]}, zipfile.ZIP_STORED)
    (tmp_path / "c.tar.gz").write_bytes(tar_gz_bytes({"inner.zip": inner}))
    (tmp_path / "d.zip").write_bytes(zip_bytes({"e.env.gz": gzip.compress(text[3])}))
    # Named for nothing: the first bytes say what it is.
    (tmp_path / "mystery.bin").write_bytes(zip_bytes({"app/.env": text[4]}))
    run = run_cli("files", ".", "--format", "json", cwd=tmp_path)
    assert sorted(located(run).values()) == [
        ("a.env.bz2!a.env", 1),
        ("b.env.xz!b.env", 1),
        ("c.tar.gz!c.tar!inner.zip!deep/.env", 1),
        ("d.zip!e.env.gz!e.env", 1),
        ("mystery.bin!app/.env", 1),
    ]


def test_a_stored_member_is_reported_once_inside_the_zip(tmp_path: Path) -> None:
    key = moonshot_key()
    data = zip_bytes({"conf/.env": f"MOONSHOT_API_KEY={key}\n".encode()}, zipfile.ZIP_STORED)
    (tmp_path / "plain.zip").write_bytes(data)
    run = run_cli("files", ".", "--format", "json", cwd=tmp_path)
    assert list(located(run).values()) == [("plain.zip!conf/.env", 1)]


def test_sqlite_reads_every_table_and_runs_nothing(tmp_path: Path) -> None:
    keys = [moonshot_key(), moonshot_key()]
    path = tmp_path / "app.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE settings (name TEXT PRIMARY KEY, value BLOB) WITHOUT ROWID")
    conn.execute("CREATE TABLE audit (what TEXT)")
    conn.execute("INSERT INTO settings VALUES ('kimi', ?)", (f"key={keys[0]}".encode(),))
    conn.execute("INSERT INTO settings VALUES ('z', ?)", (f"moonshot {keys[1]}".encode(),))
    # Would write a row (and fail: the scan is read-only) if anything ran it.
    conn.execute(
        "CREATE TRIGGER t AFTER INSERT ON settings BEGIN INSERT INTO audit VALUES ('x'); END"
    )
    conn.execute("CREATE VIEW v AS SELECT name, value FROM settings")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    run = run_cli("files", ".", "--format", "json", cwd=tmp_path)
    assert sorted(located(run).values()) == [
        ("app.db!settings[row 1].value", 1),
        ("app.db!settings[row 2].value", 1),
    ]
    assert path.read_bytes() == before
    assert report(run)["stats"]["skipped"] == []


def _skipped(run: Run) -> list[dict[str, Any]]:
    return list(report(run)["stats"]["skipped"])


def test_zip_bomb_is_stopped_at_the_ratio_limit(tmp_path: Path) -> None:
    # 24 MiB of zeros deflates to about 24 KiB: a thousand times its size.
    (tmp_path / "bomb.zip").write_bytes(zip_bytes({"zeros.txt": bytes(24 << 20)}))
    run = run_cli("files", ".", "--format", "json", cwd=tmp_path)
    [skip] = _skipped(run)
    assert skip["path"] == "bomb.zip!zeros.txt"
    assert "200 times the size of bomb.zip" in skip["reason"]
    assert "max-unpack-ratio" in skip["reason"]
    text = run_cli("files", ".", cwd=tmp_path)
    assert "bomb.zip!zeros.txt" in text.all


def _limit(root: Path, line: str) -> None:
    (root / ".kimi-secret-scan.toml").write_text(line + "\n", encoding="utf-8")


def test_total_unpacked_bytes_limit(tmp_path: Path) -> None:
    key = moonshot_key()
    _limit(tmp_path, "max-unpacked-bytes = 4000")
    members = {"a.txt": bytes(range(256)) * 20, "b/.env": f"KIMI_API_KEY={key}\n".encode()}
    (tmp_path / "big.zip").write_bytes(zip_bytes(members))
    run = run_cli("files", ".", "--format", "json", cwd=tmp_path)
    [skip] = _skipped(run)
    assert skip["path"] == "big.zip!a.txt"
    assert "more than 4000 bytes unpacked" in skip["reason"]
    assert "the rest of big.zip were not scanned" in skip["reason"]


def test_member_count_limit(tmp_path: Path) -> None:
    _limit(tmp_path, "max-unpacked-members = 3")
    (tmp_path / "many.zip").write_bytes(zip_bytes({f"f{n}.txt": b"x\n" for n in range(10)}))
    run = run_cli("files", ".", "--format", "json", cwd=tmp_path)
    [skip] = _skipped(run)
    assert skip["path"] == "many.zip!f3.txt"
    assert "more than 3 members" in skip["reason"]


def test_nesting_depth_limit(tmp_path: Path) -> None:
    key = moonshot_key()
    data = zip_bytes({".env": f"KIMI_API_KEY={key}\n".encode()})
    for level in range(7):
        data = zip_bytes({f"level{level}.zip": data})
    (tmp_path / "deep.zip").write_bytes(data)
    run = run_cli("files", ".", "--format", "json", cwd=tmp_path)
    [skip] = _skipped(run)
    assert "nested 6 containers deep" in skip["reason"]
    assert "max-unpack-depth 5" in skip["reason"]
    assert skip["path"].startswith("deep.zip!level6.zip!level5.zip!")


def test_a_damaged_container_is_said_and_its_bytes_still_scanned(tmp_path: Path) -> None:
    key = moonshot_key()
    data = zip_bytes({".env": f"KIMI_API_KEY={key}\n".encode()}, zipfile.ZIP_STORED)
    (tmp_path / "cut.zip").write_bytes(data[: len(data) - 30])  # no central directory
    run = run_cli("files", ".", "--format", "json", cwd=tmp_path)
    assert list(located(run).values()) == [("cut.zip", 1)]
    [skip] = _skipped(run)
    assert skip["path"] == "cut.zip"
    assert "could not be read as zip" in skip["reason"]


def test_history_says_a_bomb_in_a_blob_without_keys(repo: GitRepo) -> None:
    repo.commit_file("bomb.zip", zip_bytes({"zeros.txt": bytes(24 << 20)}), "bomb")
    for jobs in ("1", "2"):  # said once, by the worker that read it
        run = run_cli("history", "--jobs", jobs, "--format", "json", cwd=repo.path)
        paths = [s["path"] for s in _skipped(run)]
        assert len(paths) == 1
        assert paths[0].startswith("bomb.zip!zeros.txt (blob ")


@pytest.mark.parametrize("window", ["8192"])
def test_large_container_in_history_and_files(repo: GitRepo, window: str) -> None:
    """Containers and members larger than a scan window are unpacked through temporary
    files (the window is made small here so a small test reaches that path)."""
    import random

    key = moonshot_key()
    noise = random.Random(7).randbytes(40_000)
    members = {"noise.bin": noise, "conf/.env": f"KIMI_API_KEY={key}\n".encode()}
    repo.commit_file("big.zip", zip_bytes(members), "big")
    env = {"KIMI_SECRET_SCAN_WINDOW": window}
    for args in (("history",), ("history", "--jobs", "2"), ("files", "big.zip")):
        run = run_cli(*args, "--format", "json", cwd=repo.path, env=env)
        assert list(located(run).values()) == [("big.zip!conf/.env", 1)], args


def test_sqlite_in_wal_mode_and_larger_than_a_window(tmp_path: Path) -> None:
    key = moonshot_key()
    path = tmp_path / "wal.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=wal")
    conn.execute("CREATE TABLE t (note TEXT, k TEXT)")
    conn.executemany("INSERT INTO t VALUES (?, ?)", [("x" * 500, "") for _ in range(100)])
    conn.execute("INSERT INTO t VALUES ('moonshot', ?)", (key,))
    conn.commit()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    for env in ({}, {"KIMI_SECRET_SCAN_WINDOW": "8192"}):  # in memory; from a temporary file
        run = run_cli("files", "wal.db", "--format", "json", cwd=tmp_path, env=env)
        assert list(located(run).values()) == [("wal.db!t[row 101].k", 1)], env
        assert _skipped(run) == []


def test_pre_receive_rejects_a_push_of_a_zip_holding_a_key(tmp_path: Path) -> None:
    """The server-side gate, with the README's hook, on a real push."""
    import os
    import subprocess

    from tests.remotes import install_hook, readme_block, scanner_path_env

    server = GitRepo(tmp_path / "server.git", bare=True)
    install_hook(server.path, "pre-receive", readme_block("hooks/pre-receive:", "sh"))
    work = GitRepo(tmp_path / "work")
    work.git("remote", "add", "origin", str(server.path))
    work.commit_file("README.md", "hello\n")
    env = {**os.environ, **scanner_path_env()}

    def push() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["git", "push", "origin", "main"],
            cwd=work.path,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )

    assert push().returncode == 0
    key = moonshot_key()
    work.commit_file(
        "backup.zip", zip_bytes({"config/.env": f"A=1\nKIMI_API_KEY={key}\n".encode()})
    )
    proc = push()
    assert proc.returncode != 0
    assert "backup.zip!config/.env:2:" in proc.stderr
    assert key not in proc.stdout + proc.stderr


def test_documented_limits_configuration_is_read(tmp_path: Path) -> None:
    """The docs/containers.md snippet, verbatim, as a project's configuration."""
    from tests.remotes import readme_block

    _limit(tmp_path, readme_block("max-unpack-ratio", "toml"))
    # 24 MiB of zeros: past the 16 MiB floor, a thousand times its size.
    (tmp_path / "bomb.zip").write_bytes(zip_bytes({"zeros.txt": bytes(24 << 20)}))
    run = run_cli("files", ".", "--format", "json", cwd=tmp_path)
    [skip] = _skipped(run)
    assert "500 times the size of bomb.zip" in skip["reason"]
