"""Odd repositories, through the real command line, for every command that applies.

Each oddity is a real repository built once per module. The same key layout is planted in
each: `base` (clean) is the branch tip, `head` adds the key and is left reachable only from
the reflog, and the index still stages the key. So every command has something to find:
staged (the index), files (the disk), history (the reflog), range / ci (base..head),
pre-push (a push of head over base) and pre-receive (head is on no ref yet).

Every run must give the expected exit code, never a traceback, and where the scan cannot
proceed, exactly one `kimi-secret-scan: error:` line saying why.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.gitrepo import GitRepo, Run, git, run_cli
from tests.keygen import kimi_code_key
from tests.remotes import install_hook, scanner_path_env
from tests.test_sarif import validate

ERROR = "kimi-secret-scan: error: "
COMMANDS = ("staged", "files", "history", "range", "ci", "pre-push", "pre-receive")
COMMIT_COMMANDS = ("history", "range", "ci", "pre-push", "pre-receive")


def invocation(command: str, base: str, head: str) -> tuple[list[str], bytes | None]:
    """The arguments and stdin that make `command` scan the planted layout."""
    return {
        "staged": (["staged"], None),
        "files": (["files", "."], None),
        "history": (["history"], None),
        "range": (["range", f"{base}..{head}"], None),
        "ci": (["ci", "--base", base, "--head", head], None),
        "pre-push": (
            ["pre-push", "origin", "unused-url"],
            f"refs/heads/main {head} refs/heads/main {base}\n".encode(),
        ),
        "pre-receive": (["pre-receive"], f"{base} {head} refs/heads/main\n".encode()),
    }[command]


def expect(run: Run, code: int, message: str | None = None) -> None:
    """The exit code, no traceback ever, and for exit 2 exactly one error line."""
    assert "Traceback" not in run.all, run.all
    assert run.code == code, run.all
    errors = [line for line in run.err.splitlines() if line.startswith(ERROR)]
    if code == 2:
        assert len(errors) == 1, run.err
        if message is not None:
            assert message in errors[0], run.err
    else:
        assert not errors, run.err


def report(run: Run) -> dict[str, Any]:
    """The JSON report, which must be valid UTF-8 whatever the file names."""
    data: dict[str, Any] = json.loads(run.out.encode("utf-8"))
    return data


def finding_paths(run: Run) -> set[str]:
    return {f["path"] for f in report(run)["findings"]}


def skipped(run: Run) -> list[dict[str, str]]:
    return list(report(run)["stats"]["skipped"])


@dataclass
class Layout:
    cwd: Path
    base: str
    head: str
    path: str  # the key's path as reports show it
    key: str
    env: dict[str, str] = field(default_factory=dict)

    def run(self, command: str, *extra: str, env: dict[str, str] | None = None) -> Run:
        args, stdin = invocation(command, self.base, self.head)
        return run_cli(*args, *extra, cwd=self.cwd, env={**self.env, **(env or {})}, input=stdin)

    def run_each(
        self, *extra: str, commands: tuple[str, ...] = COMMANDS, env: dict[str, str] | None = None
    ) -> dict[str, Run]:
        """Every command at once (separate processes, so the matrix stays fast)."""
        with ThreadPoolExecutor(max_workers=4) as pool:
            runs = {c: pool.submit(self.run, c, *extra, env=env) for c in commands}
            return {c: future.result() for c, future in runs.items()}


def plant(repo: GitRepo, name: str, data: bytes) -> tuple[str, str]:
    """base: a clean commit on the current branch; head: base + `name`; then the branch is
    moved back to base with the key still staged (head stays in the reflog only)."""
    repo.commit_file("README.md", "clean\n", "base")
    base = repo.head()
    target = repo.path / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    repo.git("add", "-A")
    head = repo.commit("add the key")
    repo.git("reset", "-q", "--soft", base)
    return base, head


def key_file(key: str, crlf: bool = False) -> bytes:
    text = f"import os\nKIMI_API_KEY = '{key}'\nprint(KIMI_API_KEY)\n"
    return (text.replace("\n", "\r\n") if crlf else text).encode()


# --- isolation for module-scoped repositories ---------------------------------------------


@pytest.fixture(scope="module", autouse=True)
def _module_git_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """What conftest's per-test isolation does, for repositories built once per module."""
    home = tmp_path_factory.mktemp("odd-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HOME", str(home))
        mp.setenv("GIT_CONFIG_NOSYSTEM", "1")
        mp.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
        for var in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "NO_COLOR"):
            mp.delenv(var, raising=False)
        for role in ("AUTHOR", "COMMITTER"):
            mp.setenv(f"GIT_{role}_NAME", "Ada Author")
            mp.setenv(f"GIT_{role}_EMAIL", "ada@example.com")
        yield


# --- the oddities in which keys must still be found ---------------------------------------


def _plain(tmp: Path) -> Layout:
    repo = GitRepo(tmp / "plain")
    key = kimi_code_key()
    base, head = plant(repo, "app/config.py", key_file(key))
    return Layout(repo.path, base, head, "app/config.py", key)


def _detached(tmp: Path) -> Layout:
    repo = GitRepo(tmp / "detached")
    repo.commit_file("start.txt", "start\n", "start")
    repo.git("checkout", "-q", "--detach")
    key = kimi_code_key()
    base, head = plant(repo, "conf.py", key_file(key))
    assert repo.git("rev-parse", "--abbrev-ref", "HEAD").strip() == "HEAD"  # still detached
    return Layout(repo.path, base, head, "conf.py", key)


def _autocrlf(tmp: Path) -> Layout:
    repo = GitRepo(tmp / "autocrlf")
    repo.git("config", "core.autocrlf", "true")
    key = kimi_code_key()
    base, head = plant(repo, "win.py", key_file(key, crlf=True))
    return Layout(repo.path, base, head, "win.py", key)


def _hooks_path(tmp: Path) -> Layout:
    """A custom core.hooksPath and no .git/hooks at all: the scanner needs neither."""
    repo = GitRepo(tmp / "hookspath")
    shutil.rmtree(repo.path / ".git" / "hooks", ignore_errors=True)
    repo.git("config", "core.hooksPath", str(tmp / "shared-hooks"))
    key = kimi_code_key()
    base, head = plant(repo, "conf.py", key_file(key))
    return Layout(repo.path, base, head, "conf.py", key)


def _odd_repo_path(tmp: Path) -> Layout:
    # Spaces, quotes, a byte that is not UTF-8 and a newline, in the repository path itself.
    repo = GitRepo(tmp / os.fsdecode(b"a repo with 'q' \"dq\" \xff\nand a newline"))
    key = kimi_code_key()
    base, head = plant(repo, "conf.py", key_file(key))
    return Layout(repo.path, base, head, "conf.py", key)


# Spaces, quotes, a newline and a byte that is not UTF-8 (0xE9, Latin-1 "é").
ODD_NAME = os.fsdecode(b"dir with space/caf\xe9 \"q\" 'sq'\nnl.env")
ODD_NAME_SHOWN = "dir with space/caf\ufffd \"q\" 'sq'\nnl.env"


def _odd_file_name(tmp: Path) -> Layout:
    repo = GitRepo(tmp / "names")
    key = kimi_code_key()
    base, head = plant(repo, ODD_NAME, key_file(key))
    return Layout(repo.path, base, head, ODD_NAME_SHOWN, key)


def _binary(tmp: Path) -> Layout:
    repo = GitRepo(tmp / "binary")
    key = kimi_code_key()
    data = bytes(range(256)) + b"\0\0" + key.encode() + b"\0" + bytes(range(256))
    base, head = plant(repo, "blob.bin", data)
    return Layout(repo.path, base, head, "blob.bin", key)


def _linked_worktree(tmp: Path) -> Layout:
    """Planted inside a linked worktree: its own HEAD, index and reflog."""
    main = GitRepo(tmp / "wt-main")
    main.commit_file("start.txt", "start\n", "start")
    linked = tmp / "wt-linked"
    main.git("worktree", "add", "-q", "-b", "feature", str(linked))
    repo = GitRepo.__new__(GitRepo)
    repo.path = linked
    key = kimi_code_key()
    base, head = plant(repo, "conf.py", key_file(key))
    return Layout(linked, base, head, "conf.py", key)


def write_packed_refs(repo_path: Path, refs: dict[str, str]) -> None:
    """Many refs at once, written into packed-refs as `git pack-refs` would (sorted)."""
    packed = repo_path / ".git" / "packed-refs"
    assert not packed.exists()
    lines = "".join(f"{commit} {name}\n" for name, commit in sorted(refs.items()))
    packed.write_text("# pack-refs with: peeled fully-peeled sorted \n" + lines)


def _many_refs(tmp: Path) -> Layout:
    repo = GitRepo(tmp / "many-refs")
    key = kimi_code_key()
    base, head = plant(repo, "conf.py", key_file(key))
    # The remote's branches (pre-push excludes them) and pull-request refs (history walks them).
    refs = {f"refs/remotes/origin/b{i:05d}": base for i in range(5_000)}
    refs.update({f"refs/pull/{i:05d}/head": base for i in range(5_000)})
    write_packed_refs(repo.path, refs)
    assert len(repo.git("for-each-ref").splitlines()) >= 10_000
    return Layout(repo.path, base, head, "conf.py", key)


def _shallow_clone(tmp: Path) -> Layout:
    """Work on top of a depth-1 clone: the new commits are whole, the old history absent."""
    src = GitRepo(tmp / "shallow-src")
    for n in range(3):
        src.commit_file("old.txt", f"version {n}\n", f"old {n}")
    clone = tmp / "shallow"
    git(tmp, "clone", "-q", "--depth", "1", f"file://{src.path}", str(clone))
    repo = GitRepo.__new__(GitRepo)
    repo.path = clone
    key = kimi_code_key()
    base, head = plant(repo, "conf.py", key_file(key))
    return Layout(clone, base, head, "conf.py", key)


LAYOUTS = {
    "plain": _plain,
    "detached-head": _detached,
    "autocrlf": _autocrlf,
    "custom-hooks-path": _hooks_path,
    "odd-repository-path": _odd_repo_path,
    "odd-file-name": _odd_file_name,
    "binary-file": _binary,
    "linked-worktree": _linked_worktree,
    "10000-refs": _many_refs,
    "shallow-clone": _shallow_clone,
}


@pytest.fixture(scope="module")
def layouts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Layout]:
    tmp = tmp_path_factory.mktemp("odd")
    return {name: build(tmp) for name, build in LAYOUTS.items()}


@pytest.mark.parametrize("layout", LAYOUTS)
def test_key_is_found_by_every_command(layouts: dict[str, Layout], layout: str) -> None:
    planted = layouts[layout]
    for command, run in planted.run_each("--format", "json").items():
        expect(run, 1)
        assert finding_paths(run) == {planted.path}, (command, run.all)
        if layout == "shallow-clone" and command == "history":
            assert any(s["path"] == "(shallow clone)" for s in skipped(run))
        if layout == "autocrlf" and command in ("staged", "files"):
            assert {f["line"] for f in report(run)["findings"]} == {2}, command


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "github"])
@pytest.mark.parametrize("command", ["staged", "files", "history", "range"])
def test_odd_file_name_in_every_format(layouts: dict[str, Layout], command: str, fmt: str) -> None:
    planted = layouts["odd-file-name"]
    run = planted.run(command, "--format", fmt)
    expect(run, 1)
    if fmt == "text":
        # One line per finding: the newline in the name is escaped, the odd byte replaced.
        assert '"dir with space/caf\ufffd \\"q\\" \'sq\'\\nnl.env":2:' in run.out
    elif fmt == "sarif":
        validate(json.loads(run.out))
        uris = {
            loc["physicalLocation"]["artifactLocation"]["uri"]
            for result in json.loads(run.out)["runs"][0]["results"]
            for loc in result["locations"]
        }
        # The name's own bytes, percent-encoded (history reads names as text: U+FFFD).
        assert uris <= {
            "dir%20with%20space/caf%E9%20%22q%22%20%27sq%27%0Anl.env",
            "dir%20with%20space/caf%EF%BF%BD%20%22q%22%20%27sq%27%0Anl.env",
        }, uris
    elif fmt == "github":
        assert "file=dir with space/caf\ufffd \"q\" 'sq'%0Anl.env," in run.out
    assert planted.key not in run.all


def test_odd_file_name_in_an_output_file(layouts: dict[str, Layout], tmp_path: Path) -> None:
    planted = layouts["odd-file-name"]
    for fmt in ("json", "sarif", "text"):
        out = tmp_path / f"report.{fmt}"
        run = planted.run("files", "--format", fmt, "--output", str(out))
        expect(run, 1)
        text = out.read_bytes().decode("utf-8")  # valid UTF-8
        if fmt != "text":
            json.loads(text)


def test_linked_worktree_scans_its_own_index(layouts: dict[str, Layout]) -> None:
    """The main worktree stages nothing; the linked one stages the key."""
    main = layouts["linked-worktree"].cwd.parent / "wt-main"
    run = run_cli("staged", cwd=main)
    expect(run, 0)
    assert "nothing to scan" in run.out


def test_plain_hooks_work_with_a_custom_hooks_path(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "repo")
    shutil.rmtree(repo.path / ".git" / "hooks", ignore_errors=True)
    hooks = tmp_path / "team-hooks"
    repo.git("config", "core.hooksPath", str(hooks))
    install_hook(hooks.parent, "pre-commit", "#!/bin/sh\nexec kimi-secret-scan staged\n")
    (hooks.parent / "hooks").rename(hooks)
    repo.write("conf.py", key_file(kimi_code_key()))
    repo.add()
    env = {**os.environ, **scanner_path_env()}
    proc = subprocess.run(
        ["git", "commit", "-q", "-m", "leak"], cwd=repo.path, env=env, capture_output=True
    )
    assert proc.returncode != 0
    assert b"conf.py:2:" in proc.stdout + proc.stderr
    assert b"Traceback" not in proc.stderr
    assert not (repo.path / ".git" / "hooks").exists()  # nothing was installed or written


# --- empty repositories and unborn branches -----------------------------------------------

EMPTY_EXPECTED = {
    "staged": (0, "nothing to scan"),
    "files": (0, "nothing to scan"),
    "history": (0, "nothing to scan: no commits yet"),
    "range": (2, "HEAD is on main, which has no commits yet"),
    "ci": (2, "HEAD is on main, which has no commits yet"),
    "pre-push": (0, "nothing to scan"),
    "pre-receive": (0, "nothing to scan"),
}


@pytest.mark.parametrize("command", COMMANDS)
def test_empty_repository(tmp_path: Path, command: str) -> None:
    repo = GitRepo(tmp_path / "empty")
    args = {
        "range": ["range", "main..HEAD"],
        "ci": ["ci", "--base", "HEAD"],
        "pre-push": ["pre-push", "origin", "url"],
        "files": ["files", "."],
    }.get(command, [command])
    run = run_cli(*args, cwd=repo.path, input=b"")
    code, message = EMPTY_EXPECTED[command]
    expect(run, code, message)
    if code == 0:
        assert message in run.out, run.all


def test_unborn_branch_in_a_repository_with_history(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "repo")
    key = kimi_code_key()
    repo.commit_file("old.py", key_file(key))
    repo.git("checkout", "-q", "--orphan", "fresh")
    repo.git("rm", "-q", "--cached", "old.py")
    (repo.path / "old.py").unlink()
    repo.write("new.py", key_file(kimi_code_key()))
    repo.add("new.py")
    run = run_cli("staged", "--format", "json", cwd=repo.path)
    expect(run, 1)
    assert finding_paths(run) == {"new.py"}
    assert "the empty tree (first commit)" in report(run)["scope"]
    run = run_cli("history", "--format", "json", cwd=repo.path)
    expect(run, 1)
    assert finding_paths(run) == {"old.py"}  # main's history, from the unborn branch
    expect(run_cli("range", "main..HEAD", cwd=repo.path), 2, "HEAD is on fresh")


# --- bare repositories ---------------------------------------------------------------------


def test_bare_repository(tmp_path: Path) -> None:
    work = GitRepo(tmp_path / "work")
    key = kimi_code_key()
    base, _ = plant(work, "conf.py", key_file(key))
    work.commit("commit the key")
    head = work.head()
    bare = tmp_path / "bare.git"
    git(tmp_path, "clone", "-q", "--bare", str(work.path), str(bare))

    run = run_cli("history", "--format", "json", cwd=bare)
    expect(run, 1)
    assert finding_paths(run) == {"conf.py"}
    run = run_cli("range", f"{base}..{head}", "--format", "json", cwd=bare)
    expect(run, 1)
    expect(run_cli("staged", cwd=bare), 2, "bare repository")

    # pre-receive: a pushed commit that no ref holds yet.
    git(bare, "update-ref", "refs/heads/main", base)
    run = run_cli("pre-receive", cwd=bare, input=f"{base} {head} refs/heads/main\n".encode())
    expect(run, 1)
    assert "push rejected" in run.err


# --- submodules: always said, never passed over silently ----------------------------------


@pytest.fixture(scope="module")
def with_submodule(tmp_path_factory: pytest.TempPathFactory) -> Layout:
    tmp = tmp_path_factory.mktemp("submodule")
    sub = GitRepo(tmp / "sub")
    key = kimi_code_key()
    sub.commit_file("inner.py", key_file(key), "key inside the submodule")
    repo = GitRepo(tmp / "super")
    repo.commit_file("README.md", "clean\n", "base")
    base = repo.head()
    repo.git("-c", "protocol.file.allow=always", "submodule", "add", "-q", str(sub.path), "sub/mod")
    head = repo.commit("add a submodule")
    repo.git("reset", "-q", "--soft", base)
    return Layout(repo.path, base, head, "", key)


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_submodule_is_reported_as_not_scanned(with_submodule: Layout, fmt: str) -> None:
    for command, run in with_submodule.run_each("--format", fmt).items():
        expect(run, 0)
        if fmt == "text":
            assert "submodule" in run.out and "1 skipped" in run.out, (command, run.all)
            continue
        notes = [s for s in skipped(run) if s["path"].endswith("sub/mod")]
        assert notes and all("submodule" in s["reason"] for s in notes), (command, run.out)


def test_submodule_notice_in_sarif_and_github(with_submodule: Layout) -> None:
    run = with_submodule.run("history", "--format", "sarif")
    expect(run, 0)
    validate(json.loads(run.out))
    invocation = json.loads(run.out)["runs"][0]["invocations"][0]
    assert invocation["executionSuccessful"] is True
    texts = [n["message"]["text"] for n in invocation["toolExecutionNotifications"]]
    assert any("sub/mod" in t and "submodule" in t for t in texts), texts
    run = with_submodule.run("range", "--format", "github")
    assert "::notice title=skipped::" in run.out and "sub/mod" in run.out


# --- replace refs and grafts: what history shows is not what is stored --------------------


@pytest.mark.parametrize("use_replace_refs", [None, "true"])
def test_key_hidden_behind_a_replace_ref_is_found(
    tmp_path: Path, use_replace_refs: str | None
) -> None:
    """Also when the repository's own config says core.useReplaceRefs=true: git reads it
    after the GIT_NO_REPLACE_OBJECTS variable, so the variable alone lost to it."""
    repo = GitRepo(tmp_path / "repo")
    repo.commit_file("README.md", "clean\n", "base")
    base = repo.head()
    repo.commit_file("conf.py", key_file(kimi_code_key()), "key")
    leaky = repo.head()
    repo.git("rm", "-q", "conf.py")
    tip = repo.commit("remove it")
    # A clean stand-in for the leaky commit: `git log` now shows it instead.
    tree = repo.git("rev-parse", f"{base}^{{tree}}").strip()
    stand_in = repo.git("commit-tree", tree, "-p", base, "-m", "key").strip()
    repo.git("replace", leaky, stand_in)
    if use_replace_refs is not None:
        repo.git("config", "core.useReplaceRefs", use_replace_refs)
    assert "conf.py" not in repo.git("log", "--all", "--name-only", "--format=")
    for args in (["history"], ["range", f"{base}..{tip}"], ["ci", "--base", base]):
        run = run_cli(*args, "--format", "json", cwd=repo.path)
        expect(run, 1)
        assert finding_paths(run) == {"conf.py"}, args
    out = tmp_path / "out"
    run = run_cli(
        "audit", "--format", "json", "--output-dir", str(out), str(repo.path), cwd=tmp_path
    )
    expect(run, 1)
    [found] = json.loads(run.out)["keys"]
    assert found["repositories"][0]["first_appearance"]["path"] == "conf.py"


def test_key_hidden_by_a_graft_is_found(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.commit_file("README.md", "clean\n", "base")
    base = repo.head()
    repo.commit_file("conf.py", key_file(kimi_code_key()), "key")
    repo.git("rm", "-q", "conf.py")
    tip = repo.commit("remove it")
    (repo.path / ".git" / "info").mkdir(exist_ok=True)
    (repo.path / ".git" / "info" / "grafts").write_text(f"{tip} {base}\n")
    for args in (["history"], ["range", f"{base}..{tip}"]):
        run = run_cli(*args, "--format", "json", cwd=repo.path)
        expect(run, 1)
        assert finding_paths(run) == {"conf.py"}, args


def _forge_commit_graph(repo: GitRepo, commit: str, tree: str | None, cut: bool) -> None:
    """Write the commit-graph git would, then give `commit` another root tree (`tree`) or
    no parent (`cut`) in it, with a valid checksum: what a downloaded repository can hold."""
    import hashlib
    import struct

    repo.git("commit-graph", "write", "--reachable")
    path = repo.path / ".git" / "objects" / "info" / "commit-graph"
    data = bytearray(path.read_bytes())
    chunks = {}
    for i in range(data[6] + 1):
        name, offset = struct.unpack(">4sQ", data[8 + 12 * i : 20 + 12 * i])
        chunks[name] = offset
    count = struct.unpack(">I", data[chunks[b"OIDF"] + 1020 : chunks[b"OIDF"] + 1024])[0]
    ids_at = chunks[b"OIDL"]
    ids = [data[ids_at + 20 * i : ids_at + 20 * i + 20].hex() for i in range(count)]
    at = chunks[b"CDAT"] + 36 * ids.index(commit)
    if tree is not None:
        data[at : at + 20] = bytes.fromhex(tree)
    if cut:
        data[at + 20 : at + 24] = struct.pack(">I", 0x70000000)  # no parent
    data[-20:] = hashlib.sha1(bytes(data[:-20])).digest()
    path.chmod(0o644)
    path.write_bytes(bytes(data))
    check = subprocess.run(["git", "commit-graph", "verify"], cwd=repo.path, capture_output=True)
    assert check.returncode != 0  # git's own check sees the forgery; its walks do not


@pytest.mark.parametrize("forgery", ["tree", "parent"])
def test_key_hidden_by_a_forged_commit_graph_is_found(tmp_path: Path, forgery: str) -> None:
    # git takes a commit's root tree and parents from the commit-graph file unchecked:
    # every command reads the commit objects themselves (core.commitGraph=false).
    repo = GitRepo(tmp_path / "repo")
    repo.commit_file("README.md", "clean\n", "base")
    base = repo.head()
    clean_tree = repo.git("rev-parse", "HEAD^{tree}").strip()
    leaky = repo.commit_file("conf.py", key_file(kimi_code_key()), "key")
    if forgery == "tree":
        tip = leaky
        _forge_commit_graph(repo, leaky, clean_tree, cut=False)
    else:
        repo.git("rm", "-q", "conf.py")
        tip = repo.commit("remove it")
        repo.git("reflog", "expire", "--expire=now", "--all")
        _forge_commit_graph(repo, tip, None, cut=True)
    assert "conf.py" not in repo.git("log", "--all", "--name-only", "--format=")
    for args in (
        ["history", "--jobs", "1"],
        ["history", "--jobs", "2"],
        ["range", f"{base}..{tip}"],
        ["ci", "--base", base],
    ):
        run = run_cli(*args, "--format", "json", cwd=repo.path)
        expect(run, 1)
        assert finding_paths(run) == {"conf.py"}, args


# --- missing and corrupt objects: never reported clean ------------------------------------


@pytest.fixture(scope="module")
def partial_clone(tmp_path_factory: pytest.TempPathFactory) -> Layout:
    tmp = tmp_path_factory.mktemp("partial")
    src = GitRepo(tmp / "src")
    src.git("config", "uploadpack.allowFilter", "true")
    key = kimi_code_key()
    src.commit_file("README.md", "clean\n", "base")
    base = src.head()
    src.commit_file("conf.py", key_file(key), "key")
    head = src.head()
    clone = tmp / "clone"
    git(tmp, "clone", "-q", "--no-checkout", "--filter=blob:none", f"file://{src.path}", "clone")
    return Layout(clone, base, head, "conf.py", key)


def test_partial_clone_history_names_the_missing_objects(partial_clone: Layout) -> None:
    blob = git(partial_clone.cwd, "rev-parse", f"{partial_clone.head}:conf.py").strip()
    run = partial_clone.run("history", "--format", "json")
    expect(run, 2, "the scan is incomplete")
    notes = {s["path"]: s["reason"] for s in skipped(run)}
    assert f"object {blob}" in notes, notes
    assert "partial clone" in notes[f"object {blob}"]
    text = partial_clone.run("history")
    assert f"skipped object {blob}: object not in this clone (partial clone)" in text.out
    assert "INCOMPLETE" in text.out and "no Kimi keys found" in text.out
    # Nothing was fetched: the blob is still absent.
    assert git(partial_clone.cwd, "rev-list", "--objects", "--all", "--missing=print").count("?")


@pytest.mark.parametrize("command", ["range", "ci", "pre-push"])
def test_partial_clone_commit_scans_say_which_object(partial_clone: Layout, command: str) -> None:
    blob = git(partial_clone.cwd, "rev-parse", f"{partial_clone.head}:conf.py").strip()
    if command == "pre-push":
        # A push to another remote, which has none of these commits.
        stdin = f"refs/heads/main {partial_clone.head} refs/heads/main {'0' * 40}\n".encode()
        run = run_cli("pre-push", "mirror", "url", cwd=partial_clone.cwd, input=stdin)
    else:
        run = partial_clone.run(command)
    expect(run, 2, "a promisor object of this partial clone, never downloaded")
    if command != "pre-push":  # the push also sends the root commit, read first
        assert blob in run.err


def test_corrupt_objects_are_errors_not_clean(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.commit_file("README.md", "clean\n", "base")
    base = repo.head()
    repo.commit_file("conf.py", key_file(kimi_code_key()), "key")
    head = repo.head()
    blob = repo.git("rev-parse", "HEAD:conf.py").strip()
    loose = repo.path / ".git" / "objects" / blob[:2] / blob[2:]
    loose.chmod(0o644)
    loose.write_bytes(b"this is not a zlib stream")

    run = run_cli("history", "--format", "json", cwd=repo.path)
    expect(run, 2, blob)
    assert any("missing or corrupt" in s["reason"] for s in skipped(run))
    run = run_cli("history", "--format", "sarif", cwd=repo.path)
    expect(run, 2, blob)
    validate(json.loads(run.out))
    assert json.loads(run.out)["runs"][0]["invocations"][0]["executionSuccessful"] is False
    for args in (["range", f"{base}..{head}"], ["ci", "--base", base]):
        expect(run_cli(*args, cwd=repo.path), 2, blob[:12])

    tree = repo.git("rev-parse", "HEAD^{tree}").strip()
    (repo.path / ".git" / "objects" / tree[:2] / tree[2:]).unlink()
    repo.write("more.py", "x = 1\n")
    repo.add("more.py")
    expect(run_cli("staged", cwd=repo.path), 2, "git diff failed")


# --- symbolic links out of the tree ---------------------------------------------------------


@pytest.fixture(scope="module")
def symlink_out(tmp_path_factory: pytest.TempPathFactory) -> Layout:
    tmp = tmp_path_factory.mktemp("symlink")
    outside = tmp / "outside"
    outside.mkdir()
    key = kimi_code_key()
    (outside / "secret.env").write_bytes(key_file(key))
    repo = GitRepo(tmp / "repo")
    repo.commit_file("README.md", "clean\n", "base")
    base = repo.head()
    (repo.path / "escape.env").symlink_to(outside / "secret.env")
    (repo.path / "escape-dir").symlink_to(outside)
    repo.add()
    head = repo.commit("links out of the tree")
    repo.git("reset", "-q", "--soft", base)
    return Layout(repo.path, base, head, "", key)


def test_symbolic_links_out_of_the_tree_are_not_followed(symlink_out: Layout) -> None:
    for command, run in symlink_out.run_each("--format", "json").items():
        expect(run, 0)
        assert not report(run)["findings"], command
        if command == "files":
            notes = {s["path"]: s["reason"] for s in skipped(run)}
            assert notes == {
                "escape.env": "symbolic link, not followed",
                "escape-dir": "symbolic link, not followed",
            }
        else:
            assert report(run)["stats"]["files"] >= 1, command  # the links' own text


# --- the size limit: configurable, and said ------------------------------------------------


@pytest.fixture(scope="module")
def big_file(tmp_path_factory: pytest.TempPathFactory) -> Layout:
    tmp = tmp_path_factory.mktemp("big")
    repo = GitRepo(tmp / "repo")
    key = kimi_code_key()
    base, head = plant(repo, "big.py", key_file(key) + b"# padding\n" * 300)
    (tmp / "limit.toml").write_text("max-file-size = 1000\n")
    return Layout(repo.path, base, head, "big.py", key)


@pytest.mark.parametrize("how", ["option", "config"])
def test_size_limit_skips_and_says_so(big_file: Layout, how: str) -> None:
    limit = (
        ["--max-file-size", "1000"]
        if how == "option"
        else ["--config", str(big_file.cwd.parent / "limit.toml")]
    )
    for command, run in big_file.run_each("--format", "json", *limit).items():
        expect(run, 0)
        notes = [s for s in skipped(run) if "big.py" in s["path"]]
        assert notes and all("size limit" in s["reason"] for s in notes), (command, run.out)


def test_size_limit_in_text_sarif_and_github(big_file: Layout) -> None:
    run = big_file.run("range", "--max-file-size", "1000")
    assert "skipped" in run.out and "big.py" in run.out and "size limit" in run.out
    run = big_file.run("history", "--max-file-size", "1000", "--format", "sarif")
    validate(json.loads(run.out))
    notes = json.loads(run.out)["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert any("big.py" in n["message"]["text"] for n in notes)
    # A limit the user set skips knowingly, and is still a warning in every format.
    assert all(n["level"] == "warning" for n in notes)
    run = big_file.run("staged", "--max-file-size", "1000", "--format", "github")
    assert "::warning title=skipped::big.py: larger than the size limit" in run.out
    # Without the limit the key is found: the skip was the limit's doing.
    expect(big_file.run("staged"), 1)


def test_bad_size_limit_is_a_usage_error(big_file: Layout, tmp_path: Path) -> None:
    run = big_file.run("staged", "--max-file-size", "-1")
    assert run.code == 2 and "Traceback" not in run.all
    config = tmp_path / "bad.toml"
    config.write_text('max-file-size = "big"\n')
    expect(big_file.run("staged", "--config", str(config)), 2, "max-file-size")


# --- git itself: missing, too old; and a path that is not a repository --------------------


def test_git_missing_from_path(layouts: dict[str, Layout], tmp_path: Path) -> None:
    empty_bin = tmp_path / "bin"
    empty_bin.mkdir()
    for run in layouts["plain"].run_each(env={"PATH": str(empty_bin)}).values():
        expect(run, 2, "git was not found on PATH")


def fake_git(tmp_path: Path, version: str) -> dict[str, str]:
    """PATH with a `git` that reports `version` and hands every other call to the real git."""
    real = shutil.which("git")
    assert real
    bin_dir = tmp_path / "fake-git"
    bin_dir.mkdir()
    script = bin_dir / "git"
    script.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = "--version" ]; then echo "{version}"; exit 0; fi\n'
        f'exec "{real}" "$@"\n'
    )
    script.chmod(0o755)
    return {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}


def test_too_old_git_is_refused(layouts: dict[str, Layout], tmp_path: Path) -> None:
    env = fake_git(tmp_path, "git version 2.17.1")
    for run in layouts["plain"].run_each(env=env).values():
        expect(run, 2, "git version 2.17.1 is too old: kimi-secret-scan needs git 2.20 or later")


@pytest.mark.parametrize("version", ["git version 2.20.0", "git version 2.45.1.windows.1"])
def test_new_enough_git_builds_pass(layouts: dict[str, Layout], tmp_path: Path, version: str):
    run = layouts["plain"].run("staged", env=fake_git(tmp_path, version))
    expect(run, 1)


NOT_A_REPO = {
    "staged": "is not inside a git repository",
    "history": "is not inside a git repository",
    "range": "is not a git repository",
    "ci": "is not a git repository",
    "pre-push": "is not a git repository",
    "pre-receive": "is not a git repository",
}


@pytest.mark.parametrize("command", sorted(NOT_A_REPO))
def test_not_a_repository(tmp_path: Path, command: str) -> None:
    plain = tmp_path / "plain dir"
    plain.mkdir()
    args, stdin = invocation(command, "HEAD~1", "HEAD")
    expect(run_cli(*args, cwd=plain, input=stdin), 2, NOT_A_REPO[command])
    if command != "pre-push":
        # --repo pointing at a plain directory, and at nothing.
        run = run_cli(*args, "--repo", str(plain), cwd=tmp_path, input=stdin)
        expect(run, 2, NOT_A_REPO[command])
        run = run_cli(*args, "--repo", str(tmp_path / "nowhere"), cwd=tmp_path, input=stdin)
        assert run.code == 2 and "Traceback" not in run.all


def test_files_outside_a_repository_walks_the_directory(tmp_path: Path) -> None:
    (tmp_path / "a.env").write_bytes(key_file(kimi_code_key()))
    run = run_cli("files", ".", "--format", "json", cwd=tmp_path)
    expect(run, 1)
    assert finding_paths(run) == {"a.env"}


# --- what a directory walk meets: unreadable directories, FIFOs -----------------------------


@pytest.mark.parametrize("in_repo", [True, False], ids=["in-a-repository", "plain-directory"])
def test_unreadable_directory_is_never_reported_clean(tmp_path: Path, in_repo: bool) -> None:
    from tests.test_files import run_unprivileged

    tree = tmp_path / "tree"
    if in_repo:
        GitRepo(tree)
    locked = tree / "locked"
    locked.mkdir(parents=True)
    (locked / "conf.py").write_bytes(key_file(kimi_code_key()))
    (tree / "ok.txt").write_text("nothing here\n")
    locked.chmod(0)
    try:
        run = run_unprivileged("files", ".", "--format", "json", cwd=tree)
        (tree / "leak.py").write_bytes(key_file(kimi_code_key()))
        with_key = run_unprivileged("files", ".", cwd=tree)
    finally:
        locked.chmod(0o755)
    expect(run, 2, "the scan is incomplete: locked")
    assert [s["path"] for s in skipped(run)] == ["locked"]
    assert "directory could not be read" in skipped(run)[0]["reason"]
    expect(with_key, 1)  # keys found still fail as findings; the gap is listed too
    assert "skipped locked: directory could not be read" in with_key.out


def test_fifo_is_listed_and_never_read(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "a.env").write_bytes(key_file(kimi_code_key()))
    run = run_cli("files", ".", "--format", "json", cwd=tmp_path)  # would hang if it read
    expect(run, 1)
    assert {s["path"]: s["reason"] for s in skipped(run)} == {
        "pipe": "not a regular file (FIFO, socket or device), not read"
    }


def test_repository_this_git_cannot_read(tmp_path: Path) -> None:
    """git refuses the repository (here an unknown extension; dubious ownership is alike):
    every command that needs it says git's reason, in one line."""
    repo = GitRepo(tmp_path / "repo")
    repo.git("config", "core.repositoryformatversion", "1")
    repo.git("config", "extensions.kimiFuture", "true")
    layout = Layout(repo.path, "HEAD~1", "HEAD", "", "")
    commands = tuple(c for c in COMMANDS if c != "files")  # files walks the disk without git
    for run in layout.run_each(commands=commands).values():
        expect(run, 2, "cannot read the repository at .: unknown repository extension")
        assert "kimifuture" in run.err.lower()


def test_pre_push_by_hand_on_an_unborn_branch(tmp_path: Path) -> None:
    """Run from a terminal (no refs on stdin), pre-push scans what pushing HEAD would send."""
    import pty

    repo = GitRepo(tmp_path / "empty")
    master, terminal = pty.openpty()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "kimi_secret_scan", "pre-push"],
            cwd=repo.path,
            stdin=terminal,
            capture_output=True,
            check=False,
        )
    finally:
        os.close(master)
        os.close(terminal)
    run = Run(proc.returncode, proc.stdout.decode(), proc.stderr.decode())
    expect(run, 2, "HEAD is on main, which has no commits yet")
