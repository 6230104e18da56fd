"""A committed git bundle or pack file is said as not opened (hostile review h10c,
finding 10: `git bundle create backup.bundle --all` of a repository whose .env held a key,
and its .pack, passed `staged` with exit 0 and nothing said, while `git clone
backup.bundle` gave the key back). Their objects are zlib streams behind pack headers,
mostly deltas: not unpacked here, so a gate that finds no key exits 2."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

from tests.gitrepo import GitRepo, run_cli
from tests.keygen import kimi_code_key


def _bundle_and_pack(tmp_path: Path) -> tuple[bytes, bytes]:
    src = GitRepo(tmp_path / "src")
    src.commit_file(".env", f"KIMI_API_KEY={kimi_code_key()}\n", "config")
    src.git("bundle", "create", str(tmp_path / "backup.bundle"), "--all")
    src.git("gc", "-q")
    [pack] = (src.path / ".git" / "objects" / "pack").glob("*.pack")
    return (tmp_path / "backup.bundle").read_bytes(), pack.read_bytes()


def _skipped(out: str) -> dict[str, str]:
    return {s["path"]: s["reason"] for s in json.loads(out)["stats"]["skipped"]}


def test_a_git_bundle_or_pack_fails_a_gate_as_not_opened(tmp_path: Path, repo: GitRepo) -> None:
    bundle, pack = _bundle_and_pack(tmp_path)
    repo.commit_file("README.md", "demo\n", "start")
    base = repo.head()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("backup.bundle", bundle)
    repo.write("backup.bundle", bundle)
    repo.write("objects.pack", pack)
    repo.write("backups.zip", buf.getvalue())
    repo.add("backup.bundle", "objects.pack", "backups.zip")
    staged = run_cli("staged", "--format", "json", cwd=repo.path)
    repo.commit("add backups")
    ranged = run_cli("range", f"{base}..HEAD", "--format", "json", cwd=repo.path)
    for run in (staged, ranged):
        assert run.code == 2, run.all
        skipped = _skipped(run.out)
        assert "a git bundle file" in skipped["backup.bundle"], skipped
        assert "not opened" in skipped["backup.bundle"], skipped
        assert "a git pack file" in skipped["objects.pack"], skipped
        assert "a git bundle file" in skipped["backups.zip!backup.bundle"], skipped
        assert json.loads(run.out)["stats"]["complete"] is False
    history = run_cli("history", cwd=repo.path)
    assert "skipped objects.pack (blob " in history.out, history.all
    assert "a git pack file (`git clone` or `git index-pack` reads it), not opened" in history.out
