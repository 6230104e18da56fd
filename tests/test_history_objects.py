"""`kimi-secret-scan history` by default reads the object store whole, not what the refs
reach: objects no ref or reflog reaches must not be reported as history, objects borrowed
from an alternate must be read, and narrowed audits and partial clones keep the walk."""

from __future__ import annotations

import base64
import json
import os
import threading
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kimi_secret_scan.sources.history import _StreamReader
from tests import keygen
from tests.gitrepo import GitRepo, git, run_cli

NOTE = "unreachable objects"


def _audit(repo: Path, *args: str) -> tuple[int, dict[str, Any]]:
    run = run_cli("history", "--format", "json", *args, cwd=repo)
    assert run.code in (0, 1), run.all
    return run.code, json.loads(run.out)


def _notes(report: dict[str, Any]) -> list[dict[str, str]]:
    return [s for s in report["stats"]["skipped"] if NOTE in s["path"]]


def _dangling_blob(repo: GitRepo, text: str) -> str:
    return repo.git("hash-object", "-w", "--stdin", input=text.encode()).strip()


def test_dangling_blob_with_a_key_is_noted_not_reported(repo: GitRepo) -> None:
    kept = keygen.moonshot_key()
    repo.commit_file("app.env", f"MOONSHOT_API_KEY={kept}\n")
    blob = _dangling_blob(repo, f"KIMI_API_KEY={keygen.kimi_code_key()}\n")
    code, report = _audit(repo.path)
    assert code == 1
    assert [f["path"] for f in report["findings"]] == ["app.env"]
    (note,) = _notes(report)
    assert note["path"] == f"(1 {NOTE}: {blob[:12]})"
    assert "git gc --prune=now" in note["reason"]


def test_only_unreachable_keys_exit_clean_with_the_note(repo: GitRepo) -> None:
    repo.commit_file("a.txt", "a\n")
    _dangling_blob(repo, f"MOONSHOT_API_KEY={keygen.moonshot_key()}\n")
    # A commit no ref or reflog reaches, whose message holds a key.
    tree = repo.git("rev-parse", "HEAD^{tree}").strip()
    message = f"kimi key {keygen.kimi_code_key()}\n"
    orphan = repo.git("commit-tree", tree, "-m", message).strip()
    code, report = _audit(repo.path)
    assert code == 0
    assert report["findings"] == []
    (note,) = _notes(report)
    assert note["path"].startswith(f"(2 {NOTE}: ")
    assert orphan[:12] in note["path"]


def test_blob_a_tag_points_at_is_reported(repo: GitRepo) -> None:
    repo.commit_file("a.txt", "a\n")
    blob = _dangling_blob(repo, f"MOONSHOT_API_KEY={keygen.moonshot_key()}\n")
    repo.git("tag", "raw-blob", blob)
    code, report = _audit(repo.path)
    assert code == 1
    assert [f["path"] for f in report["findings"]] == [blob]
    assert _notes(report) == []


def test_commit_only_in_a_reflog_is_reported(repo: GitRepo) -> None:
    repo.commit_file("a.txt", "a\n")
    key = keygen.moonshot_key()
    repo.commit_file("secret.env", f"MOONSHOT_API_KEY={key}\n", message="oops")
    repo.git("reset", "-q", "--hard", "HEAD~1")
    code, report = _audit(repo.path)
    assert code == 1
    assert [f["path"] for f in report["findings"]] == ["secret.env"]
    # Without the reflogs it is unreachable: the walk then does not read it at all.
    code, report = _audit(repo.path, "--no-reflog")
    assert code == 0
    assert report["findings"] == [] and _notes(report) == []


def test_narrowed_audit_and_partial_clone_walk_the_refs(repo: GitRepo) -> None:
    repo.commit_file("a.txt", "a\n")
    _dangling_blob(repo, f"MOONSHOT_API_KEY={keygen.moonshot_key()}\n")
    for args in (["main"], ["--since", "HEAD"]):
        code, report = _audit(repo.path, *args)
        assert code == 0 and _notes(report) == [], args
    # A promisor pack marks a partial clone: only a walk sees what it lacks.
    (repo.path / ".git" / "objects" / "pack" / "marker.promisor").write_text("")
    code, report = _audit(repo.path)
    assert code == 0 and _notes(report) == []


def test_path_dependent_detection_is_not_lost(repo: GitRepo) -> None:
    """Base64 is searched only in configuration files: read without its path, the blob must
    still be scanned as one, and reported at its real path, and only there."""
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


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(st.sampled_from(["blob", "tree", "commit"]), st.binary(max_size=300)),
        max_size=8,
    ),
    st.sampled_from([8, 64, 200, 4096]),
)
def test_stream_reader_on_small_buffers(objects: list[tuple[str, bytes]], size: int) -> None:
    """Objects and headers larger than the buffer, and split anywhere across reads."""
    stream = b"".join(
        f"{i:040x} {kind} {len(data)}\n".encode() + data + b"\n"
        for i, (kind, data) in enumerate(objects)
    )
    read, write = os.pipe()
    writer = threading.Thread(target=lambda: (os.write(write, stream), os.close(write)))
    writer.start()
    reader = _StreamReader(read, size)
    try:
        for i, (kind, data) in enumerate(objects):
            assert reader.header() == [f"{i:040x}".encode(), kind.encode(), str(len(data)).encode()]
            if kind == "tree":
                reader.skip(len(data))
            else:
                assert reader.data(len(data)) == data
        assert reader.header() is None
    finally:
        writer.join()
        os.close(read)
