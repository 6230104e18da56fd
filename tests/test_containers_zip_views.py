"""Zips whose readers disagree on what they hold (hostile review 6, findings 1, 2, 4, 10).

zipfile reads a zip through its central directory and stops at the size it declares;
`unzip` follows the local header's method and inflates a deflate stream to its end; Java's
ZipInputStream walks the local headers and never reads the central directory. A zip built
so that one of them extracts a key the others do not passed every gate with exit 0. Each
case here is read as the readers that extract the most read it, and said (exit 2 in a
gate when no key is found); a zip behind a prefix is opened whatever its entry counts,
disk numbers or comment length say, as zipfile ignores them.

Every archive is built at run time, with keys from tests/keygen.py; the real CLI runs on
real repositories.
"""

from __future__ import annotations

import io
import random
import struct
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.gitrepo import GitRepo, Run, run_cli
from tests.keygen import kimi_code_key
from tests.test_containers import report, zip_bytes

PNG = b"\x89PNG\r\n\x1a\n"


def env_of(key: str) -> bytes:
    return f"KIMI_API_KEY={key}\n".encode()


def central(raw: bytes | bytearray, nth: int = 0) -> int:
    """Offset of the nth central directory entry."""
    at = raw.find(b"PK\x01\x02")
    for _ in range(nth):
        at = raw.find(b"PK\x01\x02", at + 1)
    return at


def method_mismatch(key: str) -> bytes:
    """The directory says stored (with the CRC of the compressed bytes), the local header
    deflated: zipfile returns the compressed bytes, unzip the key."""
    raw = bytearray(zip_bytes({"app.env": env_of(key) * 3}))
    name_len, extra_len = struct.unpack_from("<HH", raw, 26)
    size = struct.unpack_from("<I", raw, 18)[0]
    start = 30 + name_len + extra_len
    at = central(raw)
    struct.pack_into("<H", raw, at + 10, 0)
    struct.pack_into("<I", raw, at + 16, zlib.crc32(raw[start : start + size]))
    struct.pack_into("<I", raw, at + 24, size)
    return bytes(raw)


def short_size(key: str, local_too: bool = False) -> bytes:
    """The directory (and the local header too, if asked) declares the size and CRC of
    the first 6 bytes: zipfile stops there, unzip and Java inflate the key after them."""
    raw = bytearray(zip_bytes({"app.env": b"hello\n" + env_of(key)}))
    for at in [central(raw), *([0] if local_too else [])]:
        skip = 2 if at else 0  # the central entry has "version made by" first
        struct.pack_into("<I", raw, at + 14 + skip, zlib.crc32(b"hello\n"))
        struct.pack_into("<I", raw, at + 22 + skip, 6)
    return bytes(raw)


def missing_from_directory(key: str) -> bytes:
    """Two local entries, a central directory listing the first only."""
    raw = zip_bytes({"README.txt": b"hello\n", "app/.env": env_of(key)})
    end = raw.rfind(b"PK\x05\x06")
    cd_offset = struct.unpack_from("<I", raw, end + 16)[0]
    first = 46 + sum(struct.unpack_from("<HHH", raw, cd_offset + 28))
    entry = raw[cd_offset : cd_offset + first]
    record = struct.pack("<HHHHIIH", 0, 0, 1, 1, len(entry), cd_offset, 0)
    return raw[:cd_offset] + entry + b"PK\x05\x06" + record


def directory_named(key: str) -> bytes:
    """The directory names the deflated member `config.env/` (a directory), its local
    header `config.envv`: skipped as a directory, read by Java under the local name."""
    raw = bytearray(zip_bytes({"configX.env": env_of(key)}))
    at = raw.find(b"configX.env", central(raw))
    raw[at : at + 11] = b"config.env/"
    at = raw.find(b"configX.env")
    raw[at : at + 11] = b"config.envv"
    return bytes(raw)


def stored_zip(name: bytes, data: bytes, local: tuple[int, int, bytes], listed: bytes) -> bytes:
    """One stored member: its local header gives (CRC, both sizes, extra fields), the
    directory `listed`'s CRC and size."""
    crc, size, extra = local
    head = struct.pack(
        "<4sHHHHHIIIHH", b"PK\x03\x04", 45, 0, 0, 0, 0, crc, size, size, len(name), len(extra)
    )
    first = head + name + extra + data
    entry = struct.pack(
        "<4sHHHHHHIIIHHHHHII",
        *(b"PK\x01\x02", 45, 45, 0, 0, 0, 0, zlib.crc32(listed), len(listed), len(listed)),
        *(len(name), 0, 0, 0, 0, 0o100644 << 16, 0),
    )
    entry += name
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, 1, 1, len(entry), len(first), 0)
    return first + entry + end


def zip64(size: int) -> bytes:
    return struct.pack("<HHQQ", 1, 16, size, size)


def zip64_local_longer(key: str) -> bytes:
    """The directory lists `hello` (and its CRC); the local header's sizes are 0xFFFFFFFF
    and its zip64 extra covers the key line after it, which Java and unzip extract."""
    data = b"hello\n" + env_of(key)
    crc = zlib.crc32(b"hello\n")
    return stored_zip(b"app.env", data, (crc, 0xFFFFFFFF, zip64(len(data))), b"hello\n")


def zip64_local_gzip(key: str) -> bytes:
    """The directory lists an empty app.env.gz; the local zip64 extra a gzip of the key."""
    import gzip

    data = gzip.compress(env_of(key), mtime=0)
    return stored_zip(b"app.env.gz", data, (0, 0xFFFFFFFF, zip64(len(data))), b"")


def zip64_local_directory(key: str) -> bytes:
    """The directory lists an empty directory `conf/`; its local zip64 extra the key."""
    data = env_of(key)
    return stored_zip(b"conf/", data, (0, 0xFFFFFFFF, zip64(len(data))), b"")


def ffff_without_zip64(key: str) -> bytes:
    """Sizes 0xFFFFFFFF in the local header and no zip64 extra: a streaming reader reads
    on past the `hello` the directory lists."""
    data = b"hello\n" + env_of(key)
    return stored_zip(b"app.env", data, (zlib.crc32(b"hello\n"), 0xFFFFFFFF, b""), b"hello\n")


def hidden_in_stored_span(key: str) -> bytes:
    """README's directory size covers an unlisted local header and a deflated app.env;
    README's local CRC is 0xFFFFFFFF and its zip64 extra covers README's text only."""
    text = b"# project\n"
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    packed = deflate.compress(env_of(key)) + deflate.flush()
    hidden = struct.pack(
        "<4sHHHHHIIIHH",
        *(b"PK\x03\x04", 20, 0, 8, 0, 0, zlib.crc32(env_of(key)), len(packed)),
        *(len(env_of(key)), 7, 0),
    )
    span = text + hidden + b"app.env" + packed
    return stored_zip(b"README", span, (0xFFFFFFFF, 0xFFFFFFFF, zip64(len(text))), span)


def end_record(fmt: str, offset: int, *values: int) -> Callable[[str], bytes]:
    """A zip behind a PNG signature, with end-record fields zipfile does not look at."""

    def build(key: str) -> bytes:
        raw = bytearray(zip_bytes({"app.env": env_of(key)}))
        struct.pack_into(fmt, raw, raw.rfind(b"PK\x05\x06") + offset, *values)
        return PNG + bytes(raw)

    return build


def commit_range(repo: GitRepo, name: str, data: bytes) -> tuple[Run, Run]:
    """`staged`, then `range` on the commit, each in JSON."""
    repo.commit_file("README", "base\n", "base")
    repo.write(name, data)
    repo.add(name)
    staged = run_cli("staged", "--format", "json", cwd=repo.path)
    repo.commit("add the archive")
    ranged = run_cli("range", "HEAD~1..HEAD", "--format", "json", cwd=repo.path)
    return staged, ranged


def skipped(run: Run) -> list[dict[str, Any]]:
    skips: list[dict[str, Any]] = report(run)["stats"]["skipped"]
    return skips


@pytest.mark.parametrize(
    ("build", "said", "where"),
    [
        (method_mismatch, "method 8 in the local header, 0 in the directory", "app.env"),
        (short_size, "size 92 in the local header, 6 in the directory", "app.env"),
        (lambda key: short_size(key, local_too=True), "92 bytes read, 6 declared", "app.env"),
        (directory_named, "the local header names another file", "config.env/"),
        (zip64_local_longer, "compressed size 92 in the local header, 6", "app.env"),
        (zip64_local_gzip, "in the local header, 0 in the directory", "app.env.gz!app.env"),
        (zip64_local_directory, "in the local header, 0 in the directory", "conf/"),
        (ffff_without_zip64, "sizes 0xFFFFFFFF in the local header and no zip64", "app.env"),
    ],
    ids=[
        "method",
        "short-size",
        "short-size-both-headers",
        "directory-name",
        "local-zip64-size",
        "local-zip64-gzip",
        "local-zip64-directory",
        "ffff-no-zip64",
    ],
)
def test_a_key_unzip_or_java_extracts_is_found_and_the_disagreement_said(
    repo: GitRepo, build: Callable[[str], bytes], said: str, where: str
) -> None:
    key = kimi_code_key()
    data = build(key)
    for run in commit_range(repo, "bundle.zip", data):
        assert run.code == 1, run.all
        assert {f["path"] for f in report(run)["findings"]} == {f"bundle.zip!{where}"}
        assert report(run)["stats"]["complete"] is False
        reasons = [s["reason"] for s in skipped(run)]
        assert len(reasons) == 1 and said in reasons[0] and "readers differ" in reasons[0]
        assert key not in run.all


@pytest.mark.parametrize("method", [zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA], ids=["bzip2", "lzma"])
def test_a_bzip2_or_lzma_stream_longer_than_declared_fails_a_gate(
    repo: GitRepo, method: int
) -> None:
    # Both headers declare 6 bytes: zipfile stops there, so the key after them is not
    # read, and the gate says so instead of passing.
    raw = bytearray(zip_bytes({"app.env": b"hello\n" + env_of(kimi_code_key())}, method))
    for at, skip in ((central(raw), 2), (0, 0)):
        struct.pack_into("<I", raw, at + 14 + skip, zlib.crc32(b"hello\n"))
        struct.pack_into("<I", raw, at + 22 + skip, 6)
    for run in commit_range(repo, "bundle.zip", bytes(raw)):
        assert run.code == 2, run.all
        assert [s["path"] for s in skipped(run)] == ["bundle.zip!app.env"]
        assert "holds more than the 6 bytes declared" in skipped(run)[0]["reason"]


def test_a_member_missing_from_the_central_directory_is_read_and_said(repo: GitRepo) -> None:
    key = kimi_code_key()
    data = missing_from_directory(key)
    assert zipfile.ZipFile(io.BytesIO(data)).namelist() == ["README.txt"]
    for run in commit_range(repo, "site.zip", data):
        assert run.code == 1, run.all
        assert [f["path"] for f in report(run)["findings"]] == ["site.zip!app/.env"]
        assert [s["path"] for s in skipped(run)] == ["site.zip!app/.env"]
        assert "does not list" in skipped(run)[0]["reason"]
    # Said in text too, and a gate that finds no key there exits 2, not 0.
    text = run_cli("range", "HEAD~1..HEAD", cwd=repo.path)
    assert "site.zip!app/.env" in text.out and "Java's ZipInputStream" in text.out


def test_a_member_hidden_in_a_stored_members_span_is_read_when_the_headers_disagree(
    repo: GitRepo,
) -> None:
    # Java reads README by its local zip64 size, then the next local header: app.env.
    data = hidden_in_stored_span(kimi_code_key())
    assert zipfile.ZipFile(io.BytesIO(data)).namelist() == ["README"]
    for run in commit_range(repo, "bundle.zip", data):
        assert run.code == 1, run.all
        assert [f["path"] for f in report(run)["findings"]] == ["bundle.zip!app.env"]
        reasons = {s["path"]: s["reason"] for s in skipped(run)}
        assert "CRC 4294967295 in the local header" in reasons["bundle.zip!README"]
        assert "does not list" in reasons["bundle.zip!app.env"]


def test_a_member_only_a_streaming_reader_sees_fails_a_gate_when_unreadable(
    repo: GitRepo,
) -> None:
    # The unlisted member is bzip2-compressed: not read, so the gate cannot pass.
    raw = bytearray(missing_from_directory(kimi_code_key()))
    second = raw.find(b"PK\x03\x04", 1)
    struct.pack_into("<H", raw, second + 8, 12)
    for run in commit_range(repo, "site.zip", bytes(raw)):
        assert run.code == 2, run.all
        assert report(run)["findings"] == []
        assert [s["path"] for s in skipped(run)] == ["site.zip!app/.env"]
    for fmt, said in (("sarif", '"executionSuccessful": false'), ("github", "::warning")):
        run = run_cli("range", "HEAD~1..HEAD", "--format", fmt, cwd=repo.path)
        assert run.code == 2 and said in run.out and "site.zip!app/.env" in run.out, run.all


@pytest.mark.parametrize(
    "build",
    [
        end_record("<HH", 8, 0, 0),  # no entries, it says
        end_record("<HH", 8, 0xFFFF, 0xFFFF),  # zip64's marks, no zip64 locator
        end_record("<H", 20, 500),  # a comment running past the end
        end_record("<HH", 4, 1, 1),  # disk numbers
    ],
    ids=["zero-entries", "ffff-entries", "comment-past-end", "disk-1"],
)
def test_a_zip_behind_a_prefix_is_opened_whatever_its_counts_say(
    repo: GitRepo, build: Callable[[str], bytes]
) -> None:
    key = kimi_code_key()
    data = build(key)
    assert zipfile.ZipFile(io.BytesIO(data)).read("app.env") == env_of(key)
    for run in commit_range(repo, "logo.png", data):
        assert run.code == 1, run.all
        assert [f["path"] for f in report(run)["findings"]] == ["logo.png!app.env"]


def test_ordinary_zips_are_read_without_a_word(tmp_path: Path) -> None:
    """What zip writers make (directories, stored and deflated members, data descriptors
    after the data, a zip stored in a zip, a comment) is not taken for a disagreement."""
    key = kimi_code_key()
    inner = zip_bytes({"lib/a.txt": b"a\n" * 100}, zipfile.ZIP_STORED)

    class Unseekable(io.RawIOBase):
        """A stream zipfile cannot seek back in: it writes data descriptors."""

        def __init__(self) -> None:
            self.out = bytearray()

        def writable(self) -> bool:
            return True

        def write(self, data: Any) -> int:
            self.out += bytes(data)
            return len(data)

    stream = Unseekable()
    with zipfile.ZipFile(stream, "w", zipfile.ZIP_DEFLATED) as archive:  # type: ignore[arg-type]
        archive.writestr("dir/", b"")
        archive.writestr(zipfile.ZipInfo("deflated-dir/"), b"", zipfile.ZIP_DEFLATED)
        archive.writestr("empty.txt", b"")
        archive.writestr("app/.env", env_of(key))
        archive.writestr("lib.jar", inner, zipfile.ZIP_STORED)
        archive.comment = b"release 1.0"
    (tmp_path / "streamed.zip").write_bytes(bytes(stream.out))
    (tmp_path / "plain.zip").write_bytes(zip_bytes({"d/": b"", "a.env": env_of(key)}))
    # zip64 sizes in the local header (0xFFFFFFFF, then the zip64 extra), stored or not.
    with zipfile.ZipFile(tmp_path / "zip64.zip", "w") as archive:
        for name, method in (("s.env", zipfile.ZIP_STORED), ("d.env", zipfile.ZIP_DEFLATED)):
            info = zipfile.ZipInfo(name)
            info.compress_type = method
            with archive.open(info, "w", force_zip64=True) as handle:
                handle.write(env_of(key))
    run = run_cli("files", ".", "--format", "json", cwd=tmp_path)
    assert run.code == 1, run.all
    assert report(run)["stats"]["skipped"] == []
    assert sorted(f["path"] for f in report(run)["findings"]) == [
        "plain.zip!a.env",
        "streamed.zip!app/.env",
        "zip64.zip!d.env",
        "zip64.zip!s.env",
    ]


def test_zips_larger_than_a_window_are_checked_the_same(tmp_path: Path) -> None:
    """Through temporary files (the window is made small so a small test gets there)."""
    noise = random.Random(7).randbytes(20_000)

    def commented(data: bytes) -> bytes:  # a long comment makes the zip outgrow the window
        raw = bytearray(data)
        struct.pack_into("<H", raw, raw.rfind(b"PK\x05\x06") + 20, len(noise))
        return bytes(raw) + noise

    for name, build in (
        ("method.zip", method_mismatch),
        ("short.zip", short_size),
        ("unlisted.zip", missing_from_directory),
        ("zip64.zip", zip64_local_longer),
        ("span.zip", hidden_in_stored_span),
    ):
        (tmp_path / name).write_bytes(commented(build(kimi_code_key())))
    (tmp_path / "logo.png").write_bytes(noise + end_record("<HH", 8, 0, 0)(kimi_code_key()))
    env = {"KIMI_SECRET_SCAN_WINDOW": "8192"}
    run = run_cli("files", ".", "--format", "json", cwd=tmp_path, env=env)
    assert run.code == 1, run.all
    assert sorted(f["path"] for f in report(run)["findings"]) == [
        "logo.png!app.env",
        *["method.zip!app.env"] * 3,
        "short.zip!app.env",
        "span.zip!app.env",
        "unlisted.zip!app/.env",
        "zip64.zip!app.env",
    ]
    assert sorted(s["path"] for s in skipped(run)) == [
        "method.zip!app.env",
        "short.zip!app.env",
        "span.zip!README",
        "span.zip!app.env",
        "unlisted.zip!app/.env",
        "zip64.zip!app.env",
    ]
