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


def _crlf(text: bytes) -> bytes:
    return text.replace(b"\n", b"\r\n")


def _padded(text: bytes) -> bytes:
    # git-lfs's smudge filter decodes the first 1024 bytes of any blob: a pointer
    # padded with white space past them is one, whatever follows.
    return text + b" " * 1100 + b"not part of the pointer\n"


# Each way of writing a pointer that git-lfs's decoder (lfs/pointer.go) accepts.
LENIENT = {
    "crlf.ipynb": _crlf,
    "no-final-newline.ipynb": lambda t: t[:-1],
    "leading-blank-line.ipynb": lambda t: b"\n" + t,
    "surrounding-white-space.ipynb": lambda t: b" \t\r\n\x0b\x0c" + t + b"\n \t\n",
    "unicode-spaces.ipynb": lambda t: "\u00a0\u3000".encode() + t + "\u2028\u0085".encode(),
    "blank-lines-between.ipynb": lambda t: t.replace(b"\n", b"\n\n\r\n"),
    "git-media.ipynb": lambda t: t.replace(SPEC.encode(), b"version http://git-media.io/v/2\n"),
    "hawser.ipynb": lambda t: t.replace(b"git-lfs.github.com", b"hawser.github.com"),
    "signed-size.ipynb": lambda t: t.replace(b"size ", b"size +000"),
    "padded.ipynb": _padded,
    "cr-at-end-only.ipynb": lambda t: t[:-1] + b"\r",
}


def test_every_pointer_git_lfs_accepts_is_resolved(repo: GitRepo) -> None:
    # Regression (review 5, #1): pointers git-lfs smudges into content but the spec's
    # strict reading refused were scanned as text only: the key behind them passed.
    keys = {}
    for name, spell in LENIENT.items():
        keys[name] = moonshot_key()
        data = notebook(keys[name])
        text, oid = pointer(data)
        where = repo.path / ".git" / "lfs" / "objects" / oid[:2] / oid[2:4]
        where.mkdir(parents=True, exist_ok=True)
        (where / oid).write_bytes(data)
        blob = repo.git("hash-object", "-w", "--stdin", input=spell(text)).strip()
        repo.git("update-index", "--add", "--cacheinfo", f"100644,{blob},{name}")
    staged = run_cli("staged", "--format", "json", cwd=repo.path)
    assert sorted(_paths(staged)) == sorted(LENIENT), staged.all
    repo.commit("pointers")
    ranged = run_cli("range", "HEAD~1..HEAD", "--format", "json", cwd=repo.path)
    assert sorted(_paths(ranged)) == sorted(LENIENT), ranged.all
    for jobs in ("1", "2"):
        history = run_cli("history", "--jobs", jobs, "--format", "json", cwd=repo.path)
        assert sorted(_paths(history)) == sorted(LENIENT), (jobs, history.all)
        assert not any(key in history.all for key in keys.values())


def test_a_pointer_padded_past_a_window_is_resolved(repo: GitRepo) -> None:
    # A blob read in chunks (over the window) is still a pointer when its first 1024
    # bytes are one: git-lfs's smudge filter reads no more of it.
    small = {"KIMI_SECRET_SCAN_WINDOW": "4096"}
    key = moonshot_key()
    data = notebook(key)
    text, oid = pointer(data)
    where = repo.path / ".git" / "lfs" / "objects" / oid[:2] / oid[2:4]
    where.mkdir(parents=True)
    (where / oid).write_bytes(data)
    padded = text + b"\n" * 2000 + b"x" * 10000 + b"\n"
    blob = repo.git("hash-object", "-w", "--stdin", input=padded).strip()
    repo.git("update-index", "--add", "--cacheinfo", f"100644,{blob},nb.ipynb")
    assert _paths(run_cli("staged", "--format", "json", cwd=repo.path, env=small)) == ["nb.ipynb"]
    repo.commit("padded")
    ranged = run_cli("range", "HEAD~1..HEAD", "--format", "json", cwd=repo.path, env=small)
    assert _paths(ranged) == ["nb.ipynb"]
    for jobs in ("1", "2"):
        history = run_cli("history", "--jobs", jobs, "--format", "json", cwd=repo.path, env=small)
        assert _paths(history) == ["nb.ipynb"], (jobs, history.all)
        assert key not in history.all


def test_a_pointer_with_extensions_is_said_not_scanned(repo: GitRepo) -> None:
    # git-lfs runs the repository's extension programs on such content; none is run here.
    data = notebook(moonshot_key())
    text, _ = pointer(data)
    ext = f"ext-0-shrink sha256:{'b' * 64}\n".encode()
    blob = repo.git("hash-object", "-w", "--stdin", input=ext + text).strip()
    repo.git("update-index", "--add", "--cacheinfo", f"100644,{blob},nb.ipynb")
    said = "LFS pointer with extensions (shrink)"
    staged = run_cli("staged", cwd=repo.path)
    assert staged.code == 2 and said in staged.all, staged.all
    repo.commit("pointer")
    for args in (["range", "HEAD~1..HEAD"], ["history", "--jobs", "1"], ["history", "--jobs", "2"]):
        run = run_cli(*args, "--format", "json", cwd=repo.path)
        assert run.code == 2 and said in run.out, (args, run.all)
        assert json.loads(run.out)["stats"]["complete"] is False


def test_an_empty_pointer_is_empty_content(repo: GitRepo) -> None:
    # size 0: git-lfs writes an empty file without looking for an object.
    text = f"{SPEC}oid sha256:{'c' * 64}\nsize 0\n".encode()
    blob = repo.git("hash-object", "-w", "--stdin", input=text).strip()
    repo.git("update-index", "--add", "--cacheinfo", f"100644,{blob},empty.ipynb")
    assert run_cli("staged", cwd=repo.path).code == 0
    repo.commit("empty")
    run = run_cli("history", "--format", "json", cwd=repo.path)
    assert run.code == 0 and json.loads(run.out)["stats"]["complete"] is True, run.all


def test_pointers_are_recognised_as_git_lfs_recognises_them() -> None:
    from kimi_secret_scan.sources.lfs import parse_pointer

    oid = "a" * 64
    good = f"{SPEC}oid sha256:{oid}\nsize 12\n".encode()
    found = parse_pointer(good)
    assert found is not None and (found.oid, found.size, found.extensions) == (oid, 12, ())
    extension = f"{SPEC}ext-0-foo sha256:{'b' * 64}\noid sha256:{oid}\nsize 12\n".encode()
    found = parse_pointer(extension)
    assert found is not None and found.extensions == ("foo",)
    for spell in LENIENT.values():
        found = parse_pointer(spell(good))
        assert found is not None and (found.oid, found.size) == (oid, 12), spell(good)
    ext_first = f"ext-1-x sha256:{'b' * 64}\n".encode() + good
    assert parse_pointer(ext_first) is not None  # extensions anywhere before size
    assert parse_pointer(good.replace(b"size 12", b"size -0")) is not None
    for bad in (
        f"{SPEC}size 12\noid sha256:{oid}\n".encode(),  # keys out of order
        f"{SPEC}oid sha256:{oid.upper()}\nsize 12\n".encode(),
        f"{SPEC}oid sha1:{oid[:40]}\nsize 12\n".encode(),
        f"{SPEC}oid sha256:{oid}\nsize -12\n".encode(),
        f"{SPEC}oid sha256:{oid}\nsize {1 << 63}\n".encode(),
        f"{SPEC}oid sha256:{oid}\nsize 1_2\n".encode(),
        f"{SPEC}oid sha256:{oid}\n".encode(),
        f"version https://git-lfs.github.com/spec/v2\noid sha256:{oid}\nsize 12\n".encode(),
        f"{SPEC}oid  sha256:{oid}\nsize 12\n".encode(),
        f"{SPEC}oid sha256:{oid} \nsize 12\n".encode(),  # inner white space stays
        f"{SPEC} \noid sha256:{oid}\nsize 12\n".encode(),  # a line of spaces is not blank
        f"{SPEC}oid sha256:{oid}\r\r\nsize 12\n".encode(),  # one CR dropped, not two
        good + f"ext-0-foo sha256:{'b' * 64}\n".encode(),  # nothing after size
        good.replace(
            b"oid", b"ext-0-a sha256:" + b"b" * 64 + b"\next-0-b sha256:" + b"b" * 64 + b"\noid"
        ),
        good.replace(b"oid", b"ext-0-a sha256:" + b"B" * 64 + b"\noid"),
        good + b"x" * 1024,
        "\ufeff".encode() + good,  # a byte-order mark is not space
        b"\xa0" + good,  # nor half a UTF-8 space
        b"hello\n",
        b"",
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
