"""A committed git bundle or pack file is opened (hostile review h10c, finding 10:
`git bundle create backup.bundle --all` of a repository whose .env held a key, and its
.pack, passed `staged` with exit 0 and nothing said, while `git clone backup.bundle` gave
the key back). Their objects are read from the bytes alone (unpack/gitpack.py), deltas
applied; a delta whose base is not in a thin bundle is said, its added bytes scanned."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

from tests.gitrepo import GitRepo, run_cli
from tests.keygen import kimi_code_key

# Lines that make git store one version of the file as a delta against the other.
_LINES = "".join(f"setting_{n} = {n * 7919 % 1000003}\n" for n in range(300))


def _source(tmp_path: Path, key: str) -> GitRepo:
    """A repository whose first commit holds the key in config.py and whose second
    removes it and makes the file larger: `git gc` keeps the larger version whole and the
    key's version as a delta against it."""
    src = GitRepo(tmp_path / "src")
    src.commit_file("config.py", _LINES[:4000] + f"KIMI_API_KEY = '{key}'\n", "one")
    src.commit_file("config.py", _LINES + "x = 1\n", "two")
    return src


def _findings(out: str) -> list[str]:
    return sorted(str(f["path"]) for f in json.loads(out)["findings"])


def _skipped(out: str) -> dict[str, str]:
    return {s["path"]: s["reason"] for s in json.loads(out)["stats"]["skipped"]}


def test_a_key_in_a_git_bundle_or_pack_is_found(tmp_path: Path, repo: GitRepo) -> None:
    key = kimi_code_key()
    src = _source(tmp_path, key)
    src.git("bundle", "create", str(tmp_path / "backup.bundle"), "--all")
    src.git("gc", "-q", "--aggressive")
    [pack] = (src.path / ".git" / "objects" / "pack").glob("*.pack")
    verified = src.git("verify-pack", "-v", str(pack.with_suffix(".idx")))
    assert "chain length = 1: 1 object" in verified  # the key's version is a delta
    bundle = (tmp_path / "backup.bundle").read_bytes()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("backup.bundle", bundle)
    repo.commit_file("README.md", "demo\n", "start")
    base = repo.head()
    repo.write("backup.bundle", bundle)
    repo.write("objects.pack", pack.read_bytes())
    repo.write("backups.zip", buf.getvalue())
    repo.add("backup.bundle", "objects.pack", "backups.zip")
    staged = run_cli("staged", "--format", "json", cwd=repo.path)
    repo.commit("add backups")
    ranged = run_cli("range", f"{base}..HEAD", "--format", "json", cwd=repo.path)
    history = run_cli("history", "--format", "json", cwd=repo.path)
    for run in (staged, ranged, history):
        assert run.code == 1, run.all
        paths = _findings(run.out)
        assert len(paths) == 3, paths
        assert paths[0].startswith("backup.bundle!(blob "), paths
        assert paths[1].startswith("backups.zip!backup.bundle!(blob "), paths
        assert paths[2].startswith("objects.pack!(blob "), paths
        assert _skipped(run.out) == {}
        assert key not in run.all


def test_a_thin_bundles_unresolved_delta_is_said_and_its_added_bytes_scanned(
    tmp_path: Path, repo: GitRepo
) -> None:
    key = kimi_code_key()
    src = GitRepo(tmp_path / "src")
    src.commit_file("config.py", _LINES, "one")
    src.commit_file("config.py", _LINES + f"KIMI_API_KEY = '{key}'\n", "two")
    src.git("bundle", "create", str(tmp_path / "thin.bundle"), "HEAD~1..HEAD")
    repo.write("thin.bundle", (tmp_path / "thin.bundle").read_bytes())
    repo.add("thin.bundle")
    run = run_cli("staged", "--format", "json", cwd=repo.path)
    assert run.code == 1, run.all
    [path] = _findings(run.out)
    [(where, why)] = _skipped(run.out).items()
    assert path == where and where.startswith("thin.bundle!(object at byte "), (path, where)
    assert "is not in the pack" in why and "the bytes it adds were scanned" in why
    assert json.loads(run.out)["stats"]["complete"] is False


def _entry(kind: int, size: int) -> bytes:
    """A pack object's header: its type and its (inflated) size."""
    out = [(kind << 4) | (size & 15)]
    size >>= 4
    while size:
        out[-1] |= 0x80
        out.append(size & 0x7F)
        size >>= 7
    return bytes(out)


def _varint(n: int) -> bytes:
    out = []
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def test_a_pack_whose_delta_unpacks_past_the_limit_is_said(repo: GitRepo) -> None:
    import struct
    import zlib

    # A 64 KiB blob, then a delta against it (by offset) copying it 20,000 times: 1.3 GB
    # from a pack of a few KiB. Stopped at the limit before anything is built.
    blob = b"\x00" * 0x10000
    first = _entry(3, len(blob)) + zlib.compress(blob)
    target = len(blob) * 20_000
    delta = _varint(len(blob)) + _varint(target) + b"\x80" * 20_000
    back = len(first)  # from the delta back to the blob
    second = _entry(6, len(delta)) + bytes((back & 0x7F,)) + zlib.compress(delta)
    assert back < 0x80
    pack = b"PACK" + struct.pack(">II", 2, 2) + first + second + b"\x00" * 20
    repo.write("bomb.pack", pack)
    repo.add("bomb.pack")
    run = run_cli("staged", "--format", "json", cwd=repo.path)
    assert run.code == 2, run.all
    [(where, why)] = _skipped(run.out).items()
    assert where.startswith("bomb.pack!(object at byte "), where
    assert "(limit: max-unpack" in why, why
