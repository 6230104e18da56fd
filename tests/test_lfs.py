"""Git LFS: the content behind a pointer blob is scanned from the clone's LFS store, and
content not in the clone fails every gate unless accepted (sources/lfs.py).

git-lfs is not needed: its clean filter's result is built by hand, exactly what `git lfs
track '*.ipynb'; git add nb.ipynb` stores (the pointer in git, the content under
.git/lfs/objects/<aa>/<bb>/<oid>).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest

from tests.gitrepo import GitRepo, Run, run_cli
from tests.keygen import moonshot_key
from tests.remotes import ZERO

SPEC = "version https://git-lfs.github.com/spec/v1\n"


def notebook(key: str) -> bytes:
    code = f'client = OpenAI(api_key=\\"{key}\\", base_url=\\"https://api.moonshot.cn/v1\\")'
    return ('{"cells":[{"source":["' + code + '"]}]}\n').encode()


def pointer(data: bytes) -> tuple[bytes, str]:
    oid = hashlib.sha256(data).hexdigest()
    return f"{SPEC}oid sha256:{oid}\nsize {len(data)}\n".encode(), oid


def stage_lfs(repo: GitRepo, name: str, data: bytes, store: bool = True) -> str:
    """Stage `name` as Git LFS does: the pointer in the index, the content in the store."""
    repo.write(
        ".gitattributes", f"*.{name.rsplit('.', 1)[1]} filter=lfs diff=lfs merge=lfs -text\n"
    )
    repo.add(".gitattributes")
    text, oid = pointer(data)
    if store:
        where = repo.path / ".git" / "lfs" / "objects" / oid[:2] / oid[2:4]
        where.mkdir(parents=True, exist_ok=True)
        (where / oid).write_bytes(data)
    blob = repo.git("hash-object", "-w", "--stdin", input=text).strip()
    repo.git("update-index", "--add", "--cacheinfo", f"100644,{blob},{name}")
    return oid


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    repo = GitRepo(tmp_path / "repo")
    repo.commit_file("a.txt", "hello\n", "init")
    return repo


def _paths(run: Run) -> list[str]:
    assert run.code == 1, run.all
    return [f["path"] for f in json.loads(run.out)["findings"]]


def test_staged_range_and_history_scan_the_content_behind_a_pointer(repo: GitRepo) -> None:
    key = moonshot_key()
    stage_lfs(repo, "nb.ipynb", notebook(key))
    staged = run_cli("staged", "--format", "json", cwd=repo.path)
    assert _paths(staged) == ["nb.ipynb"]
    repo.commit("notebook")
    assert _paths(run_cli("range", "HEAD~1..HEAD", "--format", "json", cwd=repo.path)) == [
        "nb.ipynb"
    ]
    for jobs in ("1", "2"):
        history = run_cli("history", "--jobs", jobs, cwd=repo.path)
        assert history.code == 1, history.all
        assert "nb.ipynb:1:" in history.out and key[-4:] in history.out
        assert key not in history.all


def test_content_not_in_this_clone_fails_every_gate_unless_accepted(
    repo: GitRepo, tmp_path: Path
) -> None:
    stage_lfs(repo, "nb.ipynb", notebook(moonshot_key()), store=False)
    said = "LFS object not in this clone, not scanned"
    staged = run_cli("staged", cwd=repo.path)
    assert staged.code == 2 and said in staged.all, staged.all
    repo.commit("notebook")
    for args in (["range", "HEAD~1..HEAD"], ["history"]):
        for fmt in ("json", "sarif", "github"):
            run = run_cli(*args, "--format", fmt, cwd=repo.path)
            assert run.code == 2 and said in run.out, (args, fmt, run.all)
        data = json.loads(run_cli(*args, "--format", "json", cwd=repo.path).out)
        assert data["stats"]["complete"] is False
        accepted = run_cli(*args, "--allow-missing-lfs", "--format", "json", cwd=repo.path)
        assert accepted.code == 0, accepted.all
        skipped = json.loads(accepted.out)["stats"]["skipped"]
        assert any(said in s["reason"] and "accepted" in s["reason"] for s in skipped), skipped

    # A server keeps no LFS objects: pre-receive fails the push, unless told to accept it.
    server = GitRepo(tmp_path / "server.git", bare=True)
    # The objects are there (as while pre-receive runs), the branch is not.
    repo.git("push", "-q", str(server.path), "main:refs/incoming/main")
    tip = repo.head()
    update = f"{ZERO} {tip} refs/heads/main\n".encode()
    run = run_cli("pre-receive", cwd=server.path, input=update)
    assert run.code == 2 and said in run.all, run.all
    run = run_cli("pre-receive", "--allow-missing-lfs", cwd=server.path, input=update)
    assert run.code == 0, run.all


def test_the_store_is_read_without_following_a_link(repo: GitRepo, tmp_path: Path) -> None:
    key = moonshot_key()
    data = notebook(key)
    outside = tmp_path / "outside"
    outside.mkdir()
    oid = stage_lfs(repo, "nb.ipynb", data, store=False)
    objects = repo.path / ".git" / "lfs" / "objects"
    # The object itself a link to a file outside the git directory.
    (objects / oid[:2] / oid[2:4]).mkdir(parents=True)
    (outside / oid).write_bytes(data)
    os.symlink(outside / oid, objects / oid[:2] / oid[2:4] / oid)
    run = run_cli("staged", cwd=repo.path)
    assert run.code == 2 and "link (not followed)" in run.all, run.all
    assert key[-4:] not in run.all
    # The store's directory a link.
    shutil.rmtree(repo.path / ".git" / "lfs")
    (outside / oid[:2] / oid[2:4]).mkdir(parents=True)
    (outside / oid[:2] / oid[2:4] / oid).write_bytes(data)
    (repo.path / ".git" / "lfs").mkdir()
    os.symlink(outside, objects)
    run = run_cli("staged", cwd=repo.path)
    assert run.code == 2 and "lfs/objects is a link (not followed)" in run.all, run.all
    # A file of another size than the pointer names is not its content.
    os.unlink(objects)
    (objects / oid[:2] / oid[2:4]).mkdir(parents=True)
    (objects / oid[:2] / oid[2:4] / oid).write_bytes(data + b"more")
    run = run_cli("staged", cwd=repo.path)
    assert run.code == 2 and "does not match its pointer" in run.all, run.all


def test_pointers_are_recognised_by_the_spec_only() -> None:
    from kimi_secret_scan.sources.lfs import parse_pointer

    oid = "a" * 64
    good = f"{SPEC}oid sha256:{oid}\nsize 12\n".encode()
    found = parse_pointer(good)
    assert found is not None and (found.oid, found.size) == (oid, 12)
    extension = f"{SPEC}ext-0-foo sha256:{'b' * 64}\noid sha256:{oid}\nsize 12\n".encode()
    assert parse_pointer(extension) is not None
    legacy = f"version https://hawser.github.com/spec/v1\noid sha256:{oid}\nsize 1\n"
    assert parse_pointer(legacy.encode()) is not None
    for bad in (
        good[:-1],  # no final line feed
        good.replace(b"\n", b"\r\n"),
        f"{SPEC}size 12\noid sha256:{oid}\n".encode(),  # keys out of order
        f"{SPEC}oid sha256:{oid.upper()}\nsize 12\n".encode(),
        f"{SPEC}oid sha1:{oid[:40]}\nsize 12\n".encode(),
        f"{SPEC}oid sha256:{oid}\nsize -12\n".encode(),
        f"{SPEC}oid sha256:{oid}\n".encode(),
        f"version https://git-lfs.github.com/spec/v2\noid sha256:{oid}\nsize 12\n".encode(),
        f"{SPEC}oid  sha256:{oid}\nsize 12\n".encode(),
        good + b"x" * 1024,
        b"hello\n",
    ):
        assert parse_pointer(bad) is None, bad


def test_a_repository_without_lfs_starts_no_process_for_it(repo: GitRepo) -> None:
    # Only a pointer makes the store be looked for (one `git rev-parse`): with GIT_TRACE on,
    # a history of plain blobs asks git nothing about it.
    repo.commit_file("b.txt", "plain\n", "plain")
    trace = repo.path.parent / "trace"
    run = run_cli("history", cwd=repo.path, env={"GIT_TRACE": str(trace)})
    assert run.code == 0, run.all
    # (history's own `rev-parse --absolute-git-dir --git-common-dir` finds the other
    # worktrees' refs: sources/hidden_refs.py.)
    text = trace.read_text(encoding="utf-8", errors="replace")
    assert "git rev-parse --git-common-dir" not in text
