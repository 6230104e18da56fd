"""The history purge where `--replace-text` cannot reach the key (round-8 review A, #4-#6):
an encoded, escaped, split or UTF-16 spelling, a binary file, a file name, an author, a tag
at a blob or a tree, a Git LFS object, a key only another remote holds. Every command the
plan prints is run as printed (tests/test_remedy.py's helpers), and afterwards no object of
the rewritten mirror, nor of the remote, holds the key in any spelling."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import urllib.parse
from pathlib import Path

from tests.gitrepo import GitRepo, git, run_cli
from tests.keygen import kimi_code_key, moonshot_key
from tests.remotes import with_origin
from tests.test_remedy import HAS_FILTER_REPO, plan_commands, run_ok, sh


def _spellings(key: str) -> list[bytes]:
    """The bytes a key leaves in an object under each spelling used below."""
    body = key.removeprefix("sk-")
    return [
        body[:24].encode(),
        base64.b64encode(key.encode())[4:28],
        key.encode("utf-16-le")[6:40],
        body[:14].encode(),  # the notebook's first half
        body[-14:].encode(),  # and its second
    ]


def _objects(repo: Path) -> bytes:
    args = ["git", "cat-file", "--batch-all-objects", "--batch"]
    return subprocess.run(args, cwd=repo, capture_output=True, check=True).stdout


def _holds(repo: Path, keys: list[str]) -> list[str]:
    """The keys any stored object of `repo` still holds, in any of their spellings."""
    raw = _objects(repo)
    return [k for k in keys if any(s in raw for s in _spellings(k))]


def _purge(cmds: list[str]) -> list[str]:
    first = next(i for i, c in enumerate(cmds) if "--write-replacements" in c)
    return cmds[first:]


def test_purge_reaches_encoded_binary_names_identities_and_tags(tmp_path: Path) -> None:
    """Review A #5: 7 of 9 keys stayed in the rewritten mirror, and step d exited 1."""
    assert HAS_FILTER_REPO, "git-filter-repo is missing: pip install -e '.[test]'"
    origin, work = with_origin(tmp_path)
    keys = [moonshot_key() for _ in range(13)] + [kimi_code_key()]
    work.commit_file(".env", f"MOONSHOT_API_KEY={keys[0]}\n", "plain")
    b64 = base64.b64encode(keys[1].encode()).decode()
    work.commit_file("secret.yaml", f"MOONSHOT_API_KEY: {b64}\n", "base64")
    cell = {
        "cell_type": "code",
        "metadata": {},
        "outputs": [],
        "execution_count": None,
        "source": [
            f'client = OpenAI(api_key="{keys[2][:20]}',
            f'{keys[2][20:]}", base_url="https://api.moonshot.cn/v1")\n',
        ],
    }
    notebook = {"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    work.commit_file("nb.ipynb", json.dumps(notebook), "notebook")
    work.commit_file("win.env", f"MOONSHOT_API_KEY={keys[3]}\n".encode("utf-16"), "utf-16")
    pct = urllib.parse.quote(keys[4], safe="").replace("-", "%2D")
    work.commit_file(
        "call.sh", f"curl -H 'Authorization: Bearer {pct}' https://api.moonshot.cn/v1/models\n"
    )
    esc = "sk\\u002d" + keys[5].removeprefix("sk-")
    work.commit_file("esc.py", f'KIMI_API_KEY = "{esc}"\n', "escaped")
    mixed = "sk-kimi\\u002d" + keys[13].removeprefix("sk-kimi-")  # one hyphen of two
    work.commit_file("esc.js", f'const KIMI_API_KEY = "{mixed}";\n', "escaped once")
    work.commit_file(f"dir/{keys[6]}.txt", "x\n", "a key in a name")
    work.git(
        "commit", "-q", "--allow-empty", "--author", f"Ada {keys[7]} <ada@example.com>", "-m", "id"
    )
    bearer = keys[12].replace("-", "%2D")
    work.git("commit", "-q", "--allow-empty", "-m", f"curl -H 'Authorization: Bearer {bearer}'")
    binary = b"\0\0\x01MOONSHOT_API_KEY=" + keys[8].encode() + b"\0\0"
    work.commit_file("blob.bin", binary, "binary")
    blob = work.git("hash-object", "-w", "--stdin", input=f"K={keys[9]}\n".encode()).strip()
    work.git("tag", "blobtag", blob)
    held = f"MOONSHOT_API_KEY={keys[10]}\n".encode()
    inner = work.git("hash-object", "-w", "--stdin", input=held)
    tree = work.git("mktree", input=f"100644 blob {inner.strip()}\tsecret.env\n".encode()).strip()
    work.git("tag", "treetag", tree)
    work.git("branch", f"fix/{keys[11]}")
    work.git("tag", f"leak/{keys[11]}", blob)  # its name holds a key: no command prints it
    refs = ["main", "blobtag", "treetag", f"fix/{keys[11]}", f"leak/{keys[11]}"]
    work.git("push", "-q", "origin", *refs)

    run = run_cli("history", cwd=work.path)
    assert run.code == 1, run.all
    assert "stripped by id too" in run.out and "--filename-callback" in run.out
    purge = _purge(plan_commands(run.out))
    # Read by worker processes, the history gives the same plan.
    assert _purge(plan_commands(run_cli("history", "--jobs", "2", cwd=work.path).out)) == purge
    mirror = tmp_path / "work-purge.git"
    assert f"git -C {mirror} update-ref -d refs/tags/blobtag" in purge, purge
    assert f"git -C {mirror} update-ref -d refs/tags/treetag" in purge, purge
    assert f"git -C {mirror} for-each-ref --format='%(refname)' --points-at {blob} | awk " in (
        "".join(purge)
    )
    # No printed command holds a key: the callbacks read the replacements file.
    assert not any(k[3:] in run.all for k in keys)
    *before, last = purge
    for command in before:  # the check of the mirror (step d) among them: exit 0
        run_ok(command, work.path)
    assert _holds(mirror, keys) == []
    assert run_cli("history", "--repo", str(mirror), cwd=tmp_path).code == 0
    assert _holds(origin.path, keys) == []
    assert run_cli("history", "--repo", str(origin.path), cwd=tmp_path).code == 0
    assert "blobtag" not in git(origin.path, "tag")
    run_ok(last, work.path)
    # The plain key was replaced, its file kept; the name renamed, the author kept.
    clean = tmp_path / "work-clean"
    assert "***REMOVED-KIMI-KEY***" in (clean / ".env").read_text()
    assert (clean / "dir" / "REMOVED-KIMI-KEY.txt").exists()
    assert "refs/heads/fix/REMOVED-KIMI-KEY" in git(origin.path, "for-each-ref")
    assert "Ada ***REMOVED-KIMI-KEY***" in git(clean, "log", "--format=%an")
    # The escaped, percent-encoded and base64 spellings were replaced as written: those
    # files stay; the binary, UTF-16 and split ones were stripped.
    for name in ("call.sh", "esc.py", "esc.js", "secret.yaml"):
        assert "***REMOVED-KIMI-KEY***" in (clean / name).read_text(), name
    for name in ("blob.bin", "win.env", "nb.ipynb"):
        assert not (clean / name).exists(), name


def test_purge_of_a_key_in_a_git_lfs_object(tmp_path: Path) -> None:
    """Review A #6: the pointer blob holds no key, so --replace-text changed nothing, and
    the plan never said the object stays on the LFS server."""
    assert HAS_FILTER_REPO, "git-filter-repo is missing: pip install -e '.[test]'"
    origin, work = with_origin(tmp_path)
    key = moonshot_key()
    content = f"MOONSHOT_API_KEY={key}\n".encode()
    oid = hashlib.sha256(content).hexdigest()
    store = work.path / ".git" / "lfs" / "objects" / oid[:2] / oid[2:4]
    store.mkdir(parents=True)
    (store / oid).write_bytes(content)
    # As if git-lfs had pushed it: the object in the server's LFS store.
    served = origin.path / "lfs" / "objects" / oid[:2] / oid[2:4]
    served.mkdir(parents=True)
    (served / oid).write_bytes(content)
    work.write(".gitattributes", "secret.env filter=lfs diff=lfs merge=lfs -text\n")
    pointer = f"version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize {len(content)}\n"
    work.write("secret.env", pointer)
    work.add()
    work.commit("lfs")
    old = work.git("rev-parse", "HEAD:secret.env").strip()
    work.git("push", "-q", "origin", "main")

    run = run_cli("history", cwd=work.path)
    assert run.code == 1, run.all
    assert f"LFS object sha256:{oid}" in run.out, run.out
    purge = _purge(plan_commands(run.out))
    assert any(c.endswith(f"lfs/objects/{oid[:2]}/{oid[2:4]}/{oid}") for c in purge), purge
    for command in purge:
        run_ok(command, work.path)
    assert sh(f"git cat-file -e {old}", origin.path).code != 0
    assert not (served / oid).exists()
    assert run_cli("history", "--repo", str(origin.path), cwd=tmp_path).code == 0


def test_lfs_object_on_github_says_how_it_is_deleted(tmp_path: Path) -> None:
    work = GitRepo(tmp_path / "work")
    work.git("remote", "add", "origin", "https://github.com/example/service.git")
    content = f"MOONSHOT_API_KEY={moonshot_key()}\n".encode()
    oid = hashlib.sha256(content).hexdigest()
    store = work.path / ".git" / "lfs" / "objects" / oid[:2] / oid[2:4]
    store.mkdir(parents=True)
    (store / oid).write_bytes(content)
    pointer = f"version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize {len(content)}\n"
    work.commit_file("secret.env", pointer, "lfs")
    out = run_cli("history", cwd=work.path).out
    assert f"LFS object sha256:{oid}" in out, out
    assert "only by deleting the repository" in out and "GitHub Support" in out, out
    assert "removing-files-from-git-large-file-storage" in out


def test_purge_names_every_remote_that_holds_the_key(tmp_path: Path) -> None:
    """Review A #4: a key only upstream's refs reach: the plan purged origin only, and
    every check said clean."""
    assert HAS_FILTER_REPO, "git-filter-repo is missing: pip install -e '.[test]'"
    fork = GitRepo(tmp_path / "fork.git", bare=True)
    main = GitRepo(tmp_path / "main.git", bare=True)
    work = GitRepo(tmp_path / "work")
    work.git("remote", "add", "origin", str(fork.path))
    work.git("remote", "add", "upstream", str(main.path))
    work.commit_file("README", "hi\n", "init")
    work.git("push", "-q", "origin", "main")
    work.git("push", "-q", "upstream", "main")
    work.git("checkout", "-q", "-b", "hotfix")
    key = moonshot_key()
    work.commit_file(".env", f"MOONSHOT_API_KEY={key}\n", "hotfix")
    work.git("push", "-q", "upstream", "hotfix")
    work.git("checkout", "-q", "main")
    work.git("branch", "-q", "-D", "hotfix")
    work.git("fetch", "-q", "upstream")

    run = run_cli("history", cwd=work.path)
    assert run.code == 1, run.all
    assert "Remote upstream holds a key too (refs/remotes/upstream/hotfix)" in run.out, run.out
    purge = _purge(plan_commands(run.out))
    other = tmp_path / "work-upstream-purge.git"
    assert f"git clone --mirror {main.path} {other}" in purge
    assert f"git -C {other} push --force --mirror origin" in purge
    for command in purge:
        run_ok(command, work.path)
    assert _holds(main.path, [key]) == [] and _holds(fork.path, [key]) == []
    assert run_cli("history", "--repo", str(main.path), cwd=tmp_path).code == 0
    assert not other.exists()


def test_purge_plan_unchanged_for_a_kimi_code_key_in_plain_text(tmp_path: Path) -> None:
    """A plain key in a text file is still replaced, not stripped: no blob ids."""
    _origin, work = with_origin(tmp_path)
    work.commit_file("client.py", f'KIMI_API_KEY = "{kimi_code_key()}"\n', "client")
    work.git("push", "-q", "origin", "main")
    out = run_cli("history", cwd=work.path).out
    assert "--strip-blobs-with-ids" not in out and "callback" not in out, out


def test_another_remote_on_a_host_is_named_without_its_token(tmp_path: Path) -> None:
    _origin, work = with_origin(tmp_path)
    work.commit_file("README", "hi\n", "init")
    work.git("push", "-q", "origin", "main")
    token = "glpat-" + "x" * 20
    work.git("remote", "add", "upstream", f"https://ci:{token}@gitlab.example.com/g/s.git")
    work.commit_file(".env", f"MOONSHOT_API_KEY={moonshot_key()}\n", "hotfix")
    work.git("update-ref", "refs/remotes/upstream/hotfix", "HEAD")
    work.git("reset", "-q", "--hard", "HEAD^")
    out = run_cli("history", "--no-reflog", cwd=work.path).out
    assert "Remote upstream holds a key too (refs/remotes/upstream/hotfix)" in out, out
    assert token not in out
    other = tmp_path / "work-upstream-purge.git"
    # The URL read from this clone when the command runs: the token works, unprinted.
    source = f'"$(git -C {work.path} remote get-url --push upstream)"'
    assert f"$ git clone --mirror {source} {other}" in out, out
    assert f"$ git -C {other} push --force --mirror origin" in out
