"""Archives read as GNU tar, xz and gzip read them (hostile review 6): tar members of an
unknown type, damaged headers mid-archive, v7 tars, LZMA-alone and Unix compress files
(and the formats only `gzip -d` reads, said as not opened: review 7 #3), SQLite schema
text and containers stored in SQLite values, notebook sources split in two.

Every file is built at run time, with keys from tests/keygen.py, and run through the real
command line on real repositories (the gates: `staged`, then `range` on the commit).
"""

from __future__ import annotations

import gzip
import io
import json
import sqlite3
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.gitrepo import GitRepo, Run, run_cli
from tests.keygen import moonshot_key


def _json(run: Run) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(run.out)
    return data


def _paths(run: Run) -> list[str]:
    return sorted(f["path"] for f in _json(run)["findings"])


def _skips(run: Run) -> list[tuple[str, str]]:
    return [(s["path"], s["reason"]) for s in _json(run)["stats"]["skipped"]]


def _gates(repo: GitRepo, name: str, data: bytes) -> tuple[Run, Run]:
    """`staged` with the file staged, then `range` over the commit that adds it."""
    repo.commit_file("README.md", "demo\n", "start")
    base = repo.head()
    repo.write(name, data)
    repo.add(name)
    staged = run_cli("staged", "--format", "json", cwd=repo.path)
    repo.commit("add " + name)
    ranged = run_cli("range", f"{base}..HEAD", "--format", "json", cwd=repo.path)
    return staged, ranged


def _tar(members: list[tuple[str, bytes]], fmt: int = tarfile.USTAR_FORMAT) -> bytearray:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as archive:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return bytearray(buf.getvalue())


def _reseal(raw: bytearray, at: int) -> None:
    """Write the checksum of the header at `at` again (after an edit of its fields)."""
    raw[at + 148 : at + 156] = b" " * 8
    raw[at + 148 : at + 156] = b"%06o\0 " % sum(raw[at : at + 512])


def test_a_tar_member_of_an_unknown_type_is_read_as_a_file(repo: GitRepo) -> None:
    # POSIX and GNU tar extract a type they do not know as a regular file.
    key = moonshot_key()
    raw = _tar([("app/.env", f"KIMI_API_KEY={key}\n".encode())])
    raw[156:157] = b"Z"
    _reseal(raw, 0)
    for run in _gates(repo, "release.tar.gz", gzip.compress(bytes(raw))):
        assert run.code == 1, run.all
        assert _paths(run) == ["release.tar.gz!release.tar!app/.env"]
        assert _skips(run) == []
        assert key not in run.all


def test_a_damaged_tar_header_midway_is_skipped_as_gnu_tar_does_and_said(
    repo: GitRepo,
) -> None:
    key = moonshot_key()
    raw = _tar(
        [
            ("README.txt", b"hello\n"),
            ("junk.bin", b"x" * 10),
            ("app/.env", f"KIMI_API_KEY={key}\n".encode()),
        ]
    )
    raw[1024 + 148 : 1024 + 156] = b"0000000\0"  # the second header's checksum is wrong
    for run in _gates(repo, "release.tar.gz", gzip.compress(bytes(raw))):
        assert run.code == 1, run.all
        # The member after the damaged header is read, as GNU tar extracts it ...
        assert _paths(run) == ["release.tar.gz!release.tar!app/.env"]
        # ... and what could not be read is said: the gate is incomplete.
        [(path, reason)] = _skips(run)
        assert path == "release.tar.gz!release.tar"
        assert "bytes 1024-2048 of the tar are not a readable member" in reason
        assert _json(run)["stats"]["complete"] is False


def test_a_tar_that_does_not_end_cleanly_fails_the_gate(repo: GitRepo) -> None:
    # No key anywhere that can be read: bytes after the last member that are neither a
    # header nor the end-of-archive zeros make the gate exit 2, not 0.
    raw = _tar([("README.txt", b"hello\n")])
    end = 1024
    raw[end : end + 512] = b"not a header, something hidden".ljust(512, b"!")
    for run in _gates(repo, "docs.tar", bytes(raw)):
        assert run.code == 2, run.all
        [(path, reason)] = _skips(run)
        assert path == "docs.tar"
        assert f"bytes {end}-" in reason


def test_a_v7_tar_is_opened(repo: GitRepo) -> None:
    key = moonshot_key()
    member = gzip.compress(f"KIMI_API_KEY={key}\n".encode())
    raw = _tar([("app/.env.gz", member)], fmt=tarfile.USTAR_FORMAT)
    # The v7 format: no magic, no version, no owner names (what `tar --format=v7` writes).
    raw[257:512] = bytes(255)
    _reseal(raw, 0)
    assert raw[257:262] != b"ustar"
    with tarfile.open(fileobj=io.BytesIO(raw)) as archive:  # tarfile reads it, as GNU tar does
        assert archive.getnames() == ["app/.env.gz"]
    for run in _gates(repo, "bundle.tar", bytes(raw)):
        assert run.code == 1, run.all
        assert _paths(run) == ["bundle.tar!app/.env.gz!.env"]
        assert key not in run.all


def lzw_compress(data: bytes, maxbits: int = 16) -> bytes:
    """Unix compress (.Z, block mode) as ncompress writes it: codes low bit first, the rest
    of a group of eight codes skipped when the width grows or the table is cleared. (The
    machine has no `compress`; `gzip -dc` reads what this writes, checked below.)"""
    table = {bytes((i,)): i for i in range(256)}
    free, n_bits, maxmax = 257, 9, 1 << maxbits
    maxcode = (1 << n_bits) - 1
    acc = pos = group = 0

    def emit(code: int, clear: bool = False) -> None:
        nonlocal acc, pos, group, n_bits, maxcode
        acc |= code << pos
        pos += n_bits
        if clear or free > maxcode:
            size = n_bits * 8
            pos = group + -(-(pos - group) // size) * size
            group = pos
            n_bits = 9 if clear else n_bits + 1
            maxcode = maxmax if n_bits == maxbits else (1 << n_bits) - 1

    word = b""
    for c in data:
        longer = word + bytes((c,))
        if longer in table:
            word = longer
            continue
        emit(table[word])
        if free < maxmax:
            table[longer] = free
            free += 1
        else:
            emit(256, clear=True)
            table = {bytes((i,)): i for i in range(256)}
            free = 257
        word = bytes((c,))
    if word:
        emit(table[word])
    return b"\x1f\x9d" + bytes((0x80 | maxbits,)) + acc.to_bytes((pos + 7) // 8, "little")


def _settings(key: str, lines: int) -> bytes:
    text = "".join(f"OPTION_{n}=value_{n * 7919 % 1000}\n" for n in range(lines))
    return (text + f"KIMI_API_KEY={key}\n").encode()


def test_unix_compress_files_are_opened(repo: GitRepo) -> None:
    import shutil
    import subprocess

    key = moonshot_key()
    # Long enough for the codes to widen past 9 bits, and (12 bits at most) for the table
    # to fill and be cleared: every path of the reader.
    data = _settings(key, 3000)
    packed = lzw_compress(data, maxbits=12)
    if shutil.which("gzip"):
        assert subprocess.run(["gzip", "-dc"], input=packed, capture_output=True).stdout == data
    for run in _gates(repo, "app.env.Z", packed):
        assert run.code == 1, run.all
        assert _paths(run) == ["app.env.Z!app.env"]
        assert _skips(run) == []
        assert key not in run.all


def test_a_damaged_unix_compress_file_fails_the_gate(repo: GitRepo) -> None:
    packed = bytearray(lzw_compress(_settings("no key here", 50)))
    packed[3:6] = b"\xff\xff\xff"  # the first code is not a byte: gzip -d says corrupt input
    for run in _gates(repo, "notes.Z", bytes(packed)):
        assert run.code == 2, run.all
        [(path, reason)] = _skips(run)
        assert path == "notes.Z"
        assert "could not be read as compress" in reason


def pack_file(text: bytes) -> bytes:
    """The old `pack` format (.z, magic 1f 1e) that `gzip -d` reads: a flat 7-bit Huffman
    code (byte v is code v, 127 ends the data); bytes below 127 only."""
    head = b"\x1f\x1e" + len(text).to_bytes(4, "big") + bytes([7, 0, 0, 0, 0, 0, 0, 126])
    bits = "".join(format(b, "07b") for b in text) + format(127, "07b")
    bits += "0" * (-len(bits) % 8)
    return head + bytes(range(127)) + int(bits, 2).to_bytes(len(bits) // 8, "big")


def old_gzip(data: bytes) -> bytes:
    raw = bytearray(gzip.compress(data))
    raw[1] = 0x9E  # the magic gzip -d still reads as gzip
    return bytes(raw)


@pytest.mark.parametrize(
    ("build", "kind"),
    [
        (pack_file, "pack"),
        (old_gzip, "old gzip"),
        # gzip -d's LZH: the magic, then a bit stream (here opaque bytes: not decoded)
        (lambda data: b"\x1f\xa0" + bytes(b ^ 0x55 for b in data), "lzh"),
    ],
    ids=["pack", "old-gzip", "lzh"],
)
def test_files_only_gzip_d_reads_are_said_not_opened(
    tmp_path: Path, build: Callable[[bytes], bytes], kind: str
) -> None:
    import shutil
    import subprocess

    text = _settings(moonshot_key(), 3)
    data = build(text)
    if kind != "lzh" and shutil.which("gzip"):
        assert subprocess.run(["gzip", "-dc"], input=data, capture_output=True).stdout == text
    tar = gzip.compress(bytes(_tar([("app/.env.z", data)])))
    for name, where in (("app.env.z", "app.env.z"), ("b.tgz", "b.tgz!b.tar!app/.env.z")):
        for run in _gates(GitRepo(tmp_path / name), name, data if name == "app.env.z" else tar):
            assert run.code == 2, run.all
            [(path, reason)] = _skips(run)
            assert path == where
            assert f"a {kind} file (`gzip -d` reads it), not opened" in reason


def test_bytes_that_only_start_like_a_pack_file_are_not_taken_for_one(tmp_path: Path) -> None:
    # 1f 1e, then no Huffman tree gzip -d would read (25 leaves of length 1; no length).
    (tmp_path / "a.bin").write_bytes(b"\x1f\x1e\0\0\0\x05\x01\x19" + bytes(300))
    (tmp_path / "b.bin").write_bytes(b"\x1f\x1e\0\0\0\x05\x00" + bytes(300))
    (tmp_path / "c.bin").write_bytes(b"\x1f\x9e\x07" + bytes(300))  # not deflate
    run = run_cli("files", ".", "--format", "json", cwd=tmp_path)
    assert run.code == 0, run.all
    assert _skips(run) == []


def test_legacy_lzma_files_are_opened(repo: GitRepo) -> None:
    import lzma

    keys = [moonshot_key(), moonshot_key()]
    plain = lzma.compress(_settings(keys[0], 40), format=lzma.FORMAT_ALONE)
    # Other properties (lc/lp/pb) and a dictionary of 2^n + 2^(n-1): `xz -d` reads them.
    odd = [{"id": lzma.FILTER_LZMA1, "lc": 0, "lp": 1, "pb": 4, "dict_size": 3 << 15}]
    other = lzma.compress(_settings(keys[1], 5), format=lzma.FORMAT_ALONE, filters=odd)
    tar = _tar([("conf/app.env.lzma", other)])
    repo.commit_file("README.md", "demo\n", "start")
    base = repo.head()
    repo.write("app.env.lzma", plain)
    repo.write("bundle.tar", bytes(tar))
    repo.add()
    staged = run_cli("staged", "--format", "json", cwd=repo.path)
    repo.commit("add")
    ranged = run_cli("range", f"{base}..HEAD", "--format", "json", cwd=repo.path)
    for run in (staged, ranged):
        assert run.code == 1, run.all
        assert _paths(run) == ["app.env.lzma!app.env", "bundle.tar!conf/app.env.lzma!app.env"]
        assert _skips(run) == []


def _db(tmp: Path, build: Callable[[sqlite3.Connection], None]) -> bytes:
    path = tmp / "build.db"
    conn = sqlite3.connect(path)
    build(conn)
    conn.commit()
    conn.close()
    data = path.read_bytes()
    path.unlink()
    return data


def test_sqlite_schema_text_is_scanned(repo: GitRepo, tmp_path: Path) -> None:
    keys = [moonshot_key(), moonshot_key()]

    def build(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE users (name TEXT)")
        conn.execute("INSERT INTO users VALUES ('alice')")
        # Held only by the schema: no row holds them.
        conn.execute(f"CREATE VIEW settings_v AS SELECT 'kimi' AS provider, '{keys[0]}' AS k")
        conn.execute(f"CREATE TABLE config (k TEXT, v TEXT DEFAULT '{keys[1]}')")

    for run in _gates(repo, "app.db.gz", gzip.compress(_db(tmp_path, build))):
        assert run.code == 1, run.all
        assert _paths(run) == [
            "app.db.gz!app.db!sqlite_master[row 2].sql",
            "app.db.gz!app.db!sqlite_master[row 3].sql",
        ]
        assert _skips(run) == []


def test_containers_stored_in_sqlite_values_are_opened(repo: GitRepo, tmp_path: Path) -> None:
    import zipfile

    keys = [moonshot_key(), moonshot_key()]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("app.env", f"KIMI_API_KEY={keys[0]}\n")

    def build(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE files (name TEXT, data BLOB)")
        conn.execute("INSERT INTO files VALUES (?, ?)", ("bundle.zip", buf.getvalue()))
        env = gzip.compress(f"KIMI_API_KEY={keys[1]}\n".encode())
        conn.execute("INSERT INTO files VALUES (?, ?)", ("env.gz", env))

    for run in _gates(repo, "app.db", _db(tmp_path, build)):
        assert run.code == 1, run.all
        assert _paths(run) == [
            "app.db!files[row 1].data!app.env",
            "app.db!files[row 2].data!(gzip content)",
        ]
        assert _skips(run) == []


def test_a_container_in_a_sqlite_value_counts_against_the_depth_limit(tmp_path: Path) -> None:
    key = moonshot_key()
    data = f"KIMI_API_KEY={key}\n".encode()
    for _ in range(6):
        data = gzip.compress(data)

    def build(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE t (v BLOB)")
        conn.execute("INSERT INTO t VALUES (?)", (data,))

    (tmp_path / "deep.db").write_bytes(_db(tmp_path, build))
    run = run_cli("files", "deep.db", "--format", "json", cwd=tmp_path)
    [(path, reason)] = _skips(run)
    assert path.startswith("deep.db!t[row 1].v!(gzip content)!")
    assert "max-unpack-depth 5" in reason


def test_a_key_split_between_strings_of_a_notebook_cell_is_joined(repo: GitRepo) -> None:
    from tests.keygen import kimi_code_key

    keys = [kimi_code_key(), moonshot_key()]
    cells = [
        # Cut mid-line, and then inside the prefix itself: Jupyter joins the strings with "".
        ["import os\n", f"os.environ['KIMI_API_KEY'] = '{keys[0][:30]}", f"{keys[0][30:]}'\n"],
        ["# Moonshot\n", "MOONSHOT_API_KEY = 's", f"{keys[1][1:]}'\n"],
    ]
    notebook = {
        "cells": [
            {"cell_type": "code", "execution_count": n, "metadata": {}, "outputs": [], "source": s}
            for n, s in enumerate(cells, 1)
        ],
        "metadata": {"tags": ["a", "b"]},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    text = json.dumps(notebook, indent=1) + "\n"
    assert all(key not in text for key in keys)
    lines = text.splitlines()
    first = next(n for n, line in enumerate(lines, 1) if keys[0][:30] in line)
    second = next(n for n, line in enumerate(lines, 1) if "MOONSHOT_API_KEY = 's" in line)
    for run in _gates(repo, "demo.ipynb", text.encode()):
        assert run.code == 1, run.all
        found = sorted((f["path"], f["line"]) for f in _json(run)["findings"])
        assert found == [("demo.ipynb", first), ("demo.ipynb", second)]
        assert {f["encoding"] for f in _json(run)["findings"]} == {None}
        assert all("Written in pieces" in f["note"] for f in _json(run)["findings"])
        assert all(key not in run.all for key in keys)


def test_tars_of_every_format_are_read_without_a_word(repo: GitRepo, tmp_path: Path) -> None:
    # What `git archive` writes (a pax global header first), pax and GNU long names, and
    # the zero blocks after the last member: nothing skipped, nothing said.
    key = moonshot_key()
    long = "deep/" * 30 + ".env"
    repo.commit_file(long, f"KIMI_API_KEY={key}\n", "a file")
    out = tmp_path / "out"
    out.mkdir()
    (out / "release.tar").write_bytes(_git_archive(repo))
    for fmt, name in ((tarfile.PAX_FORMAT, "pax.tar"), (tarfile.GNU_FORMAT, "gnu.tar")):
        (out / name).write_bytes(bytes(_tar([(long, f"KIMI_API_KEY={key}\n".encode())], fmt)))
    run = run_cli("files", ".", "--format", "json", cwd=out)
    assert _paths(run) == [f"{name}!{long}" for name in ("gnu.tar", "pax.tar", "release.tar")]
    assert _skips(run) == []


def _git_archive(repo: GitRepo) -> bytes:
    import subprocess

    return subprocess.run(
        ["git", "archive", "--format=tar", "HEAD"], cwd=repo.path, capture_output=True, check=True
    ).stdout


def test_a_unix_compress_file_is_read_in_bounded_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    """The LZW reader holds its output and input whole: past lzw.py's caps it stops with an
    error (the gate then says the file could not be read), never holding more. The caps are
    made small here; the whole CLI path of an unreadable .Z is the test above."""
    from kimi_secret_scan.unpack import lzw

    packed = lzw_compress(b"0" * 200_000, maxbits=12)
    assert lzw.LZWReader(packed).read() == b"0" * 200_000
    monkeypatch.setattr(lzw, "MAX_OUTPUT", 100_000)
    with pytest.raises(ValueError, match="decompressed: read in memory, so not read"):
        lzw.LZWReader(packed).read()
    monkeypatch.setattr(lzw, "MAX_INPUT", len(packed) - 1)
    with pytest.raises(ValueError, match="compressed: read in memory, so not read"):
        lzw.read_input(io.BytesIO(packed))


def _tar_meta(key: str, what: str) -> bytes:
    """A pax tar holding `key` in its metadata only: a link target, an xattr, a name."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as archive:
        line = f"KIMI_API_KEY={key}"
        if what == "link":
            info = tarfile.TarInfo("app/key")
            info.type = tarfile.SYMTYPE
            info.linkname = line
            archive.addfile(info)
        else:
            info = tarfile.TarInfo("app/x" if what == "xattr" else f"app/{line}")
            info.size = 3
            if what == "xattr":
                info.pax_headers = {"SCHILY.xattr.user.kimi": line}
            archive.addfile(info, io.BytesIO(b"hi\n"))
    return buf.getvalue()


@pytest.mark.parametrize("what", ["link", "xattr", "name", "zip-name"])
def test_names_links_and_pax_records_of_a_nested_archive_are_scanned(
    repo: GitRepo, what: str
) -> None:
    # `tar --xattrs -x` of a .tar.gz writes these to disk as they are (readlink, getxattr,
    # ls show the key); they are given as text of their own, located at the member (and
    # the nested archive's raw bytes are scanned too, a key found there reported at the
    # member only).
    import zipfile

    key = moonshot_key()
    if what == "zip-name":
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(f"KIMI_API_KEY={key}", "hi\n")
        name, raw, member = "b.zip.gz", buf.getvalue(), "b.zip!KIMI_API_KEY="
    else:
        name, raw = "bundle.tar.gz", _tar_meta(key, what)
        member = {"link": "!app/key", "xattr": "!app/x", "name": "!app/KIMI_API_KEY="}[what]
        member = "bundle.tar" + member
    for run in _gates(repo, name, gzip.compress(raw)):
        assert run.code == 1, run.all
        [path] = [p for p in _paths(run) if p.startswith(f"{name}!{member}")]
        raw_bytes = [p for p in _paths(run) if p != path]
        # A zip's raw bytes hold the name right before `PK` (its directory's next record):
        # the key itself is read there (a key glued to what follows it in binary data is
        # judged whole: detect/tokens.py), and is reported at the member only.
        assert raw_bytes == [], raw_bytes
        assert key not in run.all
        assert _skips(run) == []


@pytest.mark.parametrize("fmt", ["ustar", "v7"])
def test_a_tar_behind_junk_blocks_is_opened_as_gnu_tar_skips_to_it(repo: GitRepo, fmt: str) -> None:
    # GNU tar: "This does not look like a tar archive", "Skipping to next header", and
    # it extracts the member after the junk.
    key = moonshot_key()
    raw = _tar([("app/.env.gz", gzip.compress(f"KIMI_API_KEY={key}\n".encode()))])
    if fmt == "v7":
        raw[257:512] = bytes(255)
        _reseal(raw, 0)
    junk = (b"backup of app, see README\n" * 60)[: 512 * 3]
    for run in _gates(repo, "bundle.tar", junk + bytes(raw)):
        assert run.code == 1, run.all
        assert _paths(run) == ["bundle.tar!app/.env.gz!.env"]
        assert key not in run.all


def test_a_v7_tar_with_a_base256_checksum_is_opened(repo: GitRepo) -> None:
    # tarfile reads a checksum field written base-256 (0x80, then the sum), as any number
    # field: `python -m tarfile -e` extracts the member.
    key = moonshot_key()
    raw = _tar([("app/.env.gz", gzip.compress(f"KIMI_API_KEY={key}\n".encode()))])
    raw[257:512] = bytes(255)
    raw[148:156] = b" " * 8
    raw[148:156] = b"\x80" + sum(raw[:512]).to_bytes(7, "big")
    with tarfile.open(fileobj=io.BytesIO(raw)) as archive:
        assert archive.getnames() == ["app/.env.gz"]
    for run in _gates(repo, "bundle.tar", bytes(raw)):
        assert run.code == 1, run.all
        assert _paths(run) == ["bundle.tar!app/.env.gz!.env"]


def test_a_binary_block_with_an_empty_checksum_field_is_no_tar(repo: GitRepo) -> None:
    # tarfile reads an empty checksum field as 0, which a block whose signed byte sum is 0
    # matches; shared libraries and .mo files hold such blocks. GNU tar refuses it: no tar.
    block = bytearray(512)
    block[16:18] = b"\x80\x80"  # 256 (the field as spaces) + 256 - 2 * 256 = 0
    binary = b"\x7fELF\x02\x01\x01" + bytes(505) + bytes(block) + bytes(1024)
    for run in _gates(repo, "lib.so", binary):
        assert run.code == 0, run.all
        assert _skips(run) == []


def test_history_opens_a_large_tar_behind_a_junk_block(repo: GitRepo) -> None:
    # A blob over the scan window is read in pieces: the tar after the junk is told from
    # the first piece, as a container's first bytes are.
    from kimi_secret_scan.windows import WINDOW

    key = moonshot_key()
    raw = _tar(
        [
            ("app/.env.gz", gzip.compress(f"KIMI_API_KEY={key}\n".encode())),
            ("pad.bin", bytes(WINDOW + (1 << 20))),
        ]
    )
    repo.write("bundle.tar", b"J" * 1024 + bytes(raw))
    repo.add("bundle.tar")
    repo.commit("add bundle.tar")
    run = run_cli("history", "--format", "json", cwd=repo.path)
    assert run.code == 1, run.all
    assert _paths(run) == ["bundle.tar!app/.env.gz!.env"]
