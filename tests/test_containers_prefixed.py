"""Containers behind something else: an executable jar (a launch script, then the zip), a
makeself-style installer (a shell script, then a tar.gz), a zip after a PNG header or a
single byte. zipfile reads a zip from its end record, so the first bytes alone missed
them all, and a key inside passed every command with exit 0 (hostile review 3).

Every archive is built at run time, with keys from tests/keygen.py.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import random
import tarfile
import zipfile
from pathlib import Path

from tests.gitrepo import GitRepo, Run, run_cli
from tests.keygen import kimi_code_key, moonshot_key
from tests.test_containers import report, tar_gz_bytes, zip_bytes

LAUNCHER = b'#!/bin/bash\n# launch script\nexec java -jar "$0" "$@"\nexit 0\n'
INSTALLER = b'#!/bin/sh\n# makeself-style installer\ntail -n +4 "$0" | tar xz\nexit 0\n'
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(64)


def tar_bytes(members: dict[str, bytes], mode: str = "w") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as archive:  # type: ignore[call-overload]
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def env_of(key: str) -> bytes:
    return f"KIMI_API_KEY={key}\n".encode()


def zip_with_comment(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
        archive.comment = b"built by a release script " * 40
    return buf.getvalue()


def write_prefixed(root: Path) -> dict[str, str]:
    """Every prefixed carrier, each with its own key; path inside -> key."""
    keys = {}

    def put(name: str, data: bytes) -> None:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)

    k = kimi_code_key()
    props = f"spring.ai.moonshot.api-key={k}\n".encode()
    put("app.jar", LAUNCHER + zip_bytes({"BOOT-INF/classes/application.properties": props}))
    keys["app.jar!BOOT-INF/classes/application.properties"] = k
    k = moonshot_key()
    put("install.run", INSTALLER + tar_gz_bytes({"app/.env": env_of(k)}))
    keys["install.run!(gzip content)!app/.env"] = k
    k = moonshot_key()
    put("logo.png", PNG + zip_bytes({".env": env_of(k)}))
    keys["logo.png!.env"] = k
    k = moonshot_key()
    put("p.zip", b"\n" + zip_bytes({".env": env_of(k)}))
    keys["p.zip!.env"] = k
    # A comment, and a byte after the end record: found by a search of the last 64 KiB.
    k = moonshot_key()
    put("tools.exe", b"MZ" + bytes(200) + zip_with_comment({"cfg/.env": env_of(k)}) + b"\n")
    keys["tools.exe!cfg/.env"] = k
    k = moonshot_key()
    put("setup-xz.sh", INSTALLER + lzma.compress(env_of(k)))
    keys["setup-xz.sh!(xz content)"] = k
    k = moonshot_key()
    put("setup-bz2.sh", INSTALLER + bz2.compress(env_of(k)))
    keys["setup-bz2.sh!(bzip2 content)"] = k
    # Smaller than any zip: a one-line script and a gzip of one line.
    k = moonshot_key()
    put("tiny.sh", b"#!/bin/sh\n" + gzip.compress(env_of(k)))
    keys["tiny.sh!(gzip content)"] = k
    # A plain tar behind a script, holding a compressed member.
    k = moonshot_key()
    put("setup-tar.sh", INSTALLER + tar_bytes({"conf.env.gz": gzip.compress(env_of(k))}))
    keys["setup-tar.sh!conf.env.gz!conf.env"] = k
    # Nested: an executable jar inside a zip.
    k = kimi_code_key()
    inner = LAUNCHER + zip_bytes({"application.yml": f"api-key: {k}\n".encode()})
    put("dist.zip", zip_bytes({"bin/app.jar": inner}))
    keys["dist.zip!bin/app.jar!application.yml"] = k
    return keys


def assert_located(run: Run, keys: dict[str, str]) -> None:
    import hashlib

    data = report(run)
    got = {(f["path"], f["line"]): f["secret_sha256"] for f in data["findings"]}
    want = {(p, 1): hashlib.sha256(k.encode()).hexdigest() for p, k in keys.items()}
    assert got == want, (got, want, data["stats"]["skipped"])
    assert data["stats"]["skipped"] == []
    for key in keys.values():
        assert key not in run.all


def test_files_opens_containers_behind_a_prefix(tmp_path: Path) -> None:
    keys = write_prefixed(tmp_path)
    run = run_cli("files", ".", "--format", "json", cwd=tmp_path)
    assert run.code == 1, run.all
    assert_located(run, keys)


def test_gates_and_history_open_containers_behind_a_prefix(repo: GitRepo) -> None:
    repo.commit_file("README.md", "demo\n", "start")
    base = repo.head()
    keys = write_prefixed(repo.path)
    repo.add()
    run = run_cli("staged", "--format", "json", cwd=repo.path)
    assert run.code == 1, run.all
    assert_located(run, keys)
    repo.commit("add the installers")
    run = run_cli("range", f"{base}..HEAD", "--format", "json", cwd=repo.path)
    assert run.code == 1, run.all
    assert_located(run, keys)
    for jobs in ("1", "2"):
        run = run_cli("history", "--jobs", jobs, "--format", "json", cwd=repo.path)
        assert run.code == 1, run.all
        assert {f["path"] for f in report(run)["findings"]} == set(keys), jobs


def test_larger_than_a_window_behind_a_prefix(repo: GitRepo) -> None:
    """Content read in chunks (the window made small here): its end is read for the zip's
    end record, a script is kept to be unpacked; in files, staged, range and history."""
    noise = random.Random(3).randbytes(30_000)
    k1, k2, k3 = kimi_code_key(), moonshot_key(), moonshot_key()
    repo.commit_file("README.md", "demo\n", "start")
    base = repo.head()
    repo.write("app.jar", LAUNCHER + zip_bytes({"noise.bin": noise, "a.yml": env_of(k1)}))
    repo.write("logo.png", PNG + noise + zip_bytes({"noise.bin": noise, ".env": env_of(k2)}))
    repo.write("install.run", INSTALLER + tar_gz_bytes({"noise.bin": noise, ".env": env_of(k3)}))
    repo.add()
    want = {"app.jar!a.yml", "logo.png!.env", "install.run!(gzip content)!.env"}
    env = {"KIMI_SECRET_SCAN_WINDOW": "8192"}
    run = run_cli("staged", "--format", "json", cwd=repo.path, env=env)
    assert {f["path"] for f in report(run)["findings"]} == want, run.all
    repo.commit("add")
    for args in (
        ("range", f"{base}..HEAD"),
        ("history",),
        ("history", "--jobs", "2"),
        ("files", "app.jar", "logo.png", "install.run"),
    ):
        run = run_cli(*args, "--format", "json", cwd=repo.path, env=env)
        assert run.code == 1, (args, run.all)
        assert {f["path"] for f in report(run)["findings"]} == want, args


def test_look_alikes_are_not_taken_for_containers(tmp_path: Path) -> None:
    """A script that names the magic bytes in its text, binaries holding the end record's
    bytes or a gzip header by chance: scanned as they are, no skip, nothing opened."""
    rng = random.Random(11)
    (tmp_path / "check.sh").write_text(
        "#!/bin/sh\n# tar's magic is ustar at byte 257; bzip2 starts BZh91AY&SY\n"
        "printf 'PK\\003\\004' | cmp - \"$1\"\n" + "echo ok\n" * 50,
        encoding="utf-8",
    )
    blob = bytearray(rng.randbytes(200_000))
    blob[-5000:-4996] = b"PK\x05\x06"  # a zip's end record's bytes, naming no directory
    (tmp_path / "noise.bin").write_bytes(bytes(blob))
    script = bytearray(b"#!/bin/sh\nexit 0\n" + rng.randbytes(100_000))
    script[500:504] = b"\x1f\x8b\x08\x00"  # a gzip header's bytes, then no deflate stream
    script[504:520] = b"\xff" * 16
    (tmp_path / "run.sh").write_bytes(bytes(script))
    run = run_cli("files", ".", "--format", "json", cwd=tmp_path)
    assert run.code == 0, run.all
    assert report(run)["stats"]["skipped"] == []


def test_limits_hold_behind_a_prefix(tmp_path: Path) -> None:
    # 24 MiB of zeros deflates to about 24 KiB: a bomb behind a launch script.
    (tmp_path / "bomb.jar").write_bytes(LAUNCHER + zip_bytes({"zeros.txt": bytes(24 << 20)}))
    run = run_cli("files", ".", "--format", "json", cwd=tmp_path)
    [skip] = report(run)["stats"]["skipped"]
    assert skip["path"] == "bomb.jar!zeros.txt"
    assert "max-unpack-ratio" in skip["reason"]
    # Nested deeper than max-unpack-depth, every level behind a byte.
    key = moonshot_key()
    data = zip_bytes({".env": env_of(key)})
    for level in range(7):
        data = b"\n" + zip_bytes({f"level{level}.zip": data})
    (tmp_path / "bomb.jar").unlink()
    (tmp_path / "deep.zip").write_bytes(data)
    run = run_cli("files", ".", "--format", "json", cwd=tmp_path)
    skips = report(run)["stats"]["skipped"]
    assert [s for s in skips if "max-unpack-depth 5" in s["reason"]], skips


def test_a_gate_fails_on_what_it_cannot_unpack_behind_a_prefix(repo: GitRepo) -> None:
    """An encrypted member in an executable jar: exit 2, as at the start of a file."""
    key = kimi_code_key()
    data = bytearray(zip_bytes({".env": env_of(key) + b"x" * 300}))
    data[6] |= 1
    data[data.find(b"PK\x01\x02") + 8] |= 1
    repo.commit_file("README.md", "demo\n", "start")
    base = repo.head()
    repo.write("app.jar", LAUNCHER + bytes(data))
    repo.add("app.jar")
    run = run_cli("staged", "--format", "json", cwd=repo.path)
    assert run.code == 2, run.all
    assert report(run)["stats"]["complete"] is False
    repo.commit("jar")
    run = run_cli("range", f"{base}..HEAD", cwd=repo.path)
    assert run.code == 2, run.all
    assert "app.jar!.env" in run.all and key not in run.all


def test_recognition_never_raises_on_garbage() -> None:
    """find_container runs on every blob outside any reader's error handling: cut and
    shuffled headers must give an answer, never an exception; what it takes for a
    container is then read or said to be unreadable, never raised."""
    from kimi_secret_scan.content import Content
    from kimi_secret_scan.unpack import expand, find_container

    rng = random.Random(5)
    whole = LAUNCHER + zip_bytes({".env": b"A=1\n" * 20})
    marks = [b"PK\x05\x06", b"PK\x03\x04", b"\x1f\x8b\x08", b"\xfd7zXZ\x00", b"1AY&SY", b"ustar"]
    for n in range(3000):
        data = bytearray(rng.randbytes(rng.randrange(0, 700)))
        for _ in range(rng.randrange(4)):
            mark = rng.choice(marks)
            at = rng.randrange(len(data) + 1)
            data[at:at] = mark
        if n % 3 == 0:
            data[0:0] = b"#!"
        if n % 5 == 0:
            data = bytearray(whole[: rng.randrange(len(whole) + 1)]) + data[:10]
        where = find_container(bytes(data))
        if where is not None:
            list(expand(Content("x", bytes(data)), found=where))
