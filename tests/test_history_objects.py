"""`kimi-secret-scan history` reads what the refs and reflogs reach, and only that: objects no
ref reaches are not history, a blob a tag points at is, objects borrowed from an alternate
are read, and a blob's path still decides how far the detectors read it."""

from __future__ import annotations

import base64
import gzip
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests import keygen
from tests.gitrepo import GitRepo, git, run_cli


def _audit(repo: Path, *args: str) -> tuple[int, dict[str, Any]]:
    run = run_cli("history", "--format", "json", *args, cwd=repo)
    assert run.code in (0, 1), run.all
    return run.code, json.loads(run.out)


def _dangling_blob(repo: GitRepo, text: str) -> str:
    return repo.git("hash-object", "-w", "--stdin", input=text.encode()).strip()


def test_unreachable_objects_are_not_history(repo: GitRepo) -> None:
    kept = keygen.moonshot_key()
    repo.commit_file("app.env", f"MOONSHOT_API_KEY={kept}\n")
    _dangling_blob(repo, f"KIMI_API_KEY={keygen.kimi_code_key()}\n")
    # A commit no ref or reflog reaches, whose message holds a key.
    tree = repo.git("rev-parse", "HEAD^{tree}").strip()
    repo.git("commit-tree", tree, "-m", f"kimi key {keygen.kimi_code_key()}\n")
    code, report = _audit(repo.path)
    assert code == 1
    assert [f["path"] for f in report["findings"]] == ["app.env"]
    assert report["stats"]["skipped"] == []


def test_blob_a_tag_points_at_is_reported(repo: GitRepo) -> None:
    repo.commit_file("a.txt", "a\n")
    blob = _dangling_blob(repo, f"MOONSHOT_API_KEY={keygen.moonshot_key()}\n")
    repo.git("tag", "raw-blob", blob)
    repo.git("tag", "-a", "-m", "a blob", "annotated-blob", blob)
    code, report = _audit(repo.path)
    assert code == 1
    # Located by the tags that point at it, not "on no ref".
    paths = [f["path"] for f in report["findings"]]
    assert sorted(paths) == ["refs/tags/annotated-blob", "refs/tags/raw-blob"]
    [group] = report["groups"]
    assert group["refs"] == ["refs/tags/annotated-blob", "refs/tags/raw-blob"]


def test_commit_only_in_a_reflog_is_reported(repo: GitRepo) -> None:
    repo.commit_file("a.txt", "a\n")
    key = keygen.moonshot_key()
    repo.commit_file("secret.env", f"MOONSHOT_API_KEY={key}\n", message="oops")
    repo.git("reset", "-q", "--hard", "HEAD~1")
    code, report = _audit(repo.path)
    assert code == 1
    assert [f["path"] for f in report["findings"]] == ["secret.env"]
    code, report = _audit(repo.path, "--no-reflog")
    assert code == 0
    assert report["findings"] == []


def test_path_dependent_detection_is_not_lost(repo: GitRepo) -> None:
    """Base64 is searched only in configuration files: the history scan must read each blob
    with its path, and report it at its real path, and only there."""
    key = keygen.moonshot_key()
    line = f"AUTH_BLOB={base64.b64encode(key.encode()).decode()}\n"
    repo.commit_file("deploy/.env", line)
    repo.commit_file("notes.md", line + "\n")  # not a configuration file: not searched
    code, report = _audit(repo.path)
    assert code == 1
    assert [f["path"] for f in report["findings"]] == ["deploy/.env"]


def test_objects_borrowed_from_an_alternate_are_read(repo: GitRepo, tmp_path: Path) -> None:
    key = keygen.kimi_code_key()
    repo.commit_file("cfg.yaml", f"kimi:\n  api_key: {key}\n")
    shared = tmp_path / "shared"
    git(tmp_path, "clone", "-q", "--shared", str(repo.path), str(shared))
    assert (shared / ".git" / "objects" / "info" / "alternates").exists()
    code, report = _audit(shared)
    assert code == 1
    assert [f["path"] for f in report["findings"]] == ["cfg.yaml"]
    assert report["stats"]["skipped"] == []


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_blob_is_judged_by_its_configuration_name_too(repo: GitRepo, jobs: str) -> None:
    """rev-list lists a blob at one path only; the same bytes at another, read further
    (base64 in a configuration file), are scanned as that path's are, and reported there
    and only there: the same blob at a.md and secret.yaml in one commit, and a file
    renamed from .env to notes.md (the newer name is the one listed)."""
    keys = [keygen.moonshot_key(), keygen.moonshot_key()]
    secret = "apiVersion: v1\nkind: Secret\ndata:\n  token: {}\n"
    for key, names in ((keys[0], ("a.md", "secret.yaml")), (keys[1], ("deploy/.env",))):
        for name in names:
            repo.write(name, secret.format(base64.b64encode(key.encode()).decode()))
    repo.add()
    first = repo.commit("add")
    repo.git("mv", "deploy/.env", "notes.md")
    repo.commit("rename")
    code, report = _audit(repo.path, "--jobs", jobs)
    assert code == 1
    where = sorted((f["path"], f["commit"]) for f in report["findings"])
    assert where == [("deploy/.env", first), ("secret.yaml", first)], report["findings"]
    assert report["stats"]["complete"] is True


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_compressed_blob_is_judged_by_its_inner_configuration_name_too(
    repo: GitRepo, jobs: str
) -> None:
    """A gzip stream's content is named after it (`secret.yaml.gz` holds `secret.yaml`):
    the same stream at notes.md.gz (listed first) is still searched as YAML."""
    key = keygen.moonshot_key()
    token = base64.b64encode(key.encode()).decode()
    packed = gzip.compress(f"kind: Secret\ndata:\n  token: {token}\n".encode(), mtime=0)
    for name in ("notes.md.gz", "secret.yaml.gz"):
        repo.write(name, packed)
    repo.add()
    first = repo.commit("add")
    code, report = _audit(repo.path, "--jobs", jobs)
    assert code == 1
    where = sorted((f["path"], f["commit"]) for f in report["findings"])
    assert where == [("secret.yaml.gz!secret.yaml", first)], report["findings"]


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_an_archive_member_is_judged_by_every_name_of_its_archive(repo: GitRepo, jobs: str) -> None:
    """A member at the top of an archive is judged with the archive's name (`b!token` is a
    file without a suffix, `a.zip!token` is not): the same zip at a.zip (listed first) and
    b is read as b's is."""
    key = keygen.moonshot_key()
    token = base64.b64encode(key.encode()).decode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("token", f"data:\n  token: {token}\n")
    for name in ("a.zip", "b"):
        repo.write(name, buffer.getvalue())
    repo.add()
    first = repo.commit("add")
    code, report = _audit(repo.path, "--jobs", jobs)
    assert code == 1
    where = sorted((f["path"], f["commit"]) for f in report["findings"])
    assert where == [("b!token", first)], report["findings"]
