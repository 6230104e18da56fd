"""`kimi-secret-scan pre-receive`: a real bare repository with the README's hook, and real
`git push`es against it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.gitrepo import GitRepo, run_cli
from tests.remotes import ZERO, install_hook, key_line, readme_block, scanner_path_env


def push(repo: GitRepo, *args: str) -> subprocess.CompletedProcess[str]:
    # The hook runs on the "server" with this environment: put our scanner on its PATH.
    env = {**os.environ, **scanner_path_env()}
    return subprocess.run(
        ["git", "push", *args], cwd=repo.path, env=env, capture_output=True, text=True, check=False
    )


def tip(server: GitRepo, branch: str) -> str | None:
    proc = subprocess.run(
        ["git", "rev-parse", "--verify", "-q", f"refs/heads/{branch}"],
        cwd=server.path,
        capture_output=True,
        text=True,
        check=False,
    )
    return proc.stdout.strip() or None


@pytest.fixture
def server(tmp_path: Path) -> tuple[GitRepo, GitRepo]:
    server = GitRepo(tmp_path / "server.git", bare=True)
    install_hook(server.path, "pre-receive", readme_block("hooks/pre-receive:", "sh"))
    work = GitRepo(tmp_path / "work")
    work.git("remote", "add", "origin", str(server.path))
    work.commit_file("README.md", "hello\n")
    proc = push(work, "origin", "main")
    assert proc.returncode == 0, proc.stderr
    return server, work


def test_push_adding_a_key_is_rejected_with_the_findings(server: tuple[GitRepo, GitRepo]) -> None:
    repo, work = server
    before = tip(repo, "main")
    line, key = key_line()
    work.commit_file("config.py", "x = 1\n" + line, "add config")
    work.commit_file("other.txt", "clean\n")
    proc = push(work, "origin", "main")
    assert proc.returncode != 0
    assert "pre-receive hook declined" in proc.stderr
    remote_lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("remote:")]
    shown = "\n".join(remote_lines)
    assert "config.py:2:17" in shown and "Kimi Code API key" in shown
    assert key[:12] in shown and key not in proc.stdout + proc.stderr  # redacted
    assert "push rejected" in shown
    assert tip(repo, "main") == before  # the ref did not move


def test_clean_push_and_key_deletion_pass(server: tuple[GitRepo, GitRepo]) -> None:
    repo, work = server
    clean = work.commit_file("notes.txt", "nothing secret\n")
    proc = push(work, "origin", "main")
    assert proc.returncode == 0, proc.stderr
    assert tip(repo, "main") == clean

    # A key that got in before the hook existed may be deleted.
    line, _ = key_line()
    work.commit_file("old.py", line)
    os.rename(repo.path / "hooks" / "pre-receive", repo.path / "hooks" / "off")
    assert push(work, "origin", "main").returncode == 0
    os.rename(repo.path / "hooks" / "off", repo.path / "hooks" / "pre-receive")
    work.git("rm", "-q", "old.py")
    removed = work.commit("remove the key")
    proc = push(work, "origin", "main")
    assert proc.returncode == 0, proc.stderr
    assert tip(repo, "main") == removed


def test_new_branch_force_push_and_deleted_ref(server: tuple[GitRepo, GitRepo]) -> None:
    repo, work = server
    # A new branch is scanned for its own commits only.
    work.git("checkout", "-q", "-b", "feature")
    line, _ = key_line()
    work.commit_file("f.py", line)
    assert push(work, "origin", "feature").returncode != 0
    assert tip(repo, "feature") is None
    work.git("reset", "-q", "--hard", "HEAD~1")
    work.commit_file("f.txt", "fine\n")
    assert push(work, "origin", "feature").returncode == 0

    # A force push that brings a key is rejected; one that does not passes.
    work.git("reset", "-q", "--hard", "HEAD~1")
    work.commit_file("forced.py", line)
    assert push(work, "-f", "origin", "feature").returncode != 0
    work.git("reset", "-q", "--hard", "HEAD~1")
    forced = work.commit_file("forced.txt", "fine\n")
    assert push(work, "-f", "origin", "feature").returncode == 0
    assert tip(repo, "feature") == forced

    # Deleting a ref adds nothing.
    assert push(work, "origin", "--delete", "feature").returncode == 0
    assert tip(repo, "feature") is None


def test_stdin_protocol_directly(server: tuple[GitRepo, GitRepo]) -> None:
    repo, _ = server
    main = tip(repo, "main")
    assert main
    run = run_cli("pre-receive", cwd=repo.path, input=f"{main} {ZERO} refs/heads/main\n".encode())
    assert run.code == 0 and "delete refs/heads/main" in run.err
    run = run_cli("pre-receive", cwd=repo.path, input=b"not a ref update\n")
    assert run.code == 2
    run = run_cli("pre-receive", cwd=repo.path, input=f"{ZERO} {'1' * 40} refs/heads/x\n".encode())
    assert run.code == 2  # an object it cannot read is an error, which rejects the push


@pytest.mark.parametrize("annotated", [False, True])
@pytest.mark.parametrize("target", ["blob", "tree"])
def test_a_tag_of_a_blob_or_tree_holding_a_key_is_rejected(
    server: tuple[GitRepo, GitRepo], target: str, annotated: bool
) -> None:
    # `git log` lists no commit for a tag that names a blob or a tree, so such a push once
    # passed with "0 commits" while it stored the key on the server.
    _repo, work = server
    line, key = key_line()
    blob = work.git("hash-object", "-w", "--stdin", input=line.encode()).strip()
    oid = blob
    if target == "tree":
        tree = work.git("mktree", input=f"100644 blob {blob}\tk.txt\n".encode()).strip()
        oid = work.git("mktree", input=f"040000 tree {tree}\tdir\n".encode()).strip()
    if annotated:
        work.git("tag", "-a", "-m", "release", "t1", oid)
    else:
        work.git("tag", "t1", oid)
    proc = push(work, "origin", "refs/tags/t1")
    assert proc.returncode != 0, proc.stderr
    assert "Kimi Code API key" in proc.stderr
    where = "refs/tags/t1:dir/k.txt" if target == "tree" else "refs/tags/t1:1:"
    assert where in proc.stderr
    assert key not in proc.stderr
    # A tag of a clean blob still goes through.
    clean = work.git("hash-object", "-w", "--stdin", input=b"hello\n").strip()
    work.git("tag", "t2", clean)
    assert push(work, "origin", "refs/tags/t2").returncode == 0


@pytest.mark.parametrize("annotated", [False, True])
@pytest.mark.parametrize("entry", ["file", "directory"])
def test_a_tag_of_a_tree_with_a_key_in_an_entry_name_is_rejected(
    server: tuple[GitRepo, GitRepo], entry: str, annotated: bool
) -> None:
    # A tree's entry names are published with the tag, as a commit's path names are: they
    # once passed with "0 commits ... scanned 1 file" while `history` found them.
    _repo, work = server
    key = key_line()[1]
    empty = work.git("hash-object", "-w", "--stdin", input=b"").strip()
    if entry == "file":
        oid = work.git("mktree", input=f"100644 blob {empty}\tKIMI_API_KEY={key}\n".encode())
    else:
        # Two levels down, naming a tree the server already has (its main's): rev-list
        # lists no object under the new name, the parent tree holds it.
        old = work.git("rev-parse", "HEAD^{tree}").strip()
        inner = work.git("mktree", input=f"040000 tree {old}\tconfig-{key}\n".encode())
        oid = work.git("mktree", input=f"040000 tree {inner.strip()}\tsrc\n".encode())
    work.git("tag", *(["-a", "-m", "release"] if annotated else []), "t1", oid.strip())
    proc = push(work, "origin", "refs/tags/t1")
    assert proc.returncode != 0, proc.stderr
    assert "path name in refs/tags/t1:" in proc.stderr and "Kimi Code API key" in proc.stderr
    assert key not in proc.stderr
    # A tag of a tree with clean names still goes through.
    clean = work.git("mktree", input=f"100644 blob {empty}\tnotes.txt\n".encode()).strip()
    work.git("tag", "t2", clean)
    assert push(work, "origin", "refs/tags/t2").returncode == 0


def test_a_key_in_a_tag_objects_header_is_rejected(server: tuple[GitRepo, GitRepo]) -> None:
    # The `tag <name>` line of a tag object need not be the ref's name, and a hand-made
    # object can carry other header lines: both are published, and were never scanned.
    _repo, work = server
    key, other = key_line()[1], key_line()[1]
    head = work.head()
    raw = (
        f"object {head}\ntype commit\ntag {key}\ntagger a <a@x> 1700000000 +0000\n"
        f"x-extra {other}\n\nrelease\n"
    )
    oid = work.git("hash-object", "-t", "tag", "-w", "--literally", "--stdin", input=raw.encode())
    work.git("update-ref", "refs/tags/v1", oid.strip())
    proc = push(work, "origin", "refs/tags/v1")
    assert proc.returncode != 0, proc.stderr
    assert proc.stderr.count("tag header of v1") >= 2
    assert key not in proc.stderr and other not in proc.stderr


# -- the way out of a false positive, on the server's terms --------------------------------


def _remote_text(proc: subprocess.CompletedProcess[str]) -> str:
    """What the pusher reads: the server's lines without git's `remote: ` prefix."""
    return "\n".join(
        ln.removeprefix("remote:").strip()
        for ln in proc.stderr.splitlines()
        if ln.startswith("remote:")
    )


def _shell(command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **scanner_path_env()}
    return subprocess.run(
        ["bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )


def test_false_positive_allow_comment_as_the_server_says(server: tuple[GitRepo, GitRepo]) -> None:
    repo, work = server
    line, _ = key_line()
    work.commit_file("fixture.py", "x = 1\n" + line, "add a fixture")
    work.commit_file("other.txt", "clean\n")
    proc = push(work, "origin", "main")
    assert proc.returncode != 0
    text = _remote_text(proc)
    plan, _, way_out = text.partition("Not a real key")
    assert "in fixture.py, add `# kimi-secret-scan: allow` at the end of line 2" in way_out
    assert "baseline = " in way_out  # the server names no baseline: how to give it one
    assert "$ " not in way_out  # nothing the pusher could run there without the server
    # As it says: the comment, staged, then the last step's commands, then push again.
    path = work.path / "fixture.py"
    rows = path.read_text().splitlines()
    rows[1] += "  # kimi-secret-scan: allow"
    path.write_text("\n".join(rows) + "\n")
    work.git("add", "fixture.py")
    last_step = plan.rsplit("\n3. ", 1)[1]
    for command in [ln.strip()[2:] for ln in last_step.splitlines() if ln.strip().startswith("$ ")]:
        done = _shell(command, work.path)
        assert done.returncode == 0, command + done.stderr
    again = push(work, "origin", "main")
    assert again.returncode == 0, again.stderr
    assert "hidden by suppressions this change added" in again.stderr
    assert tip(repo, "main") == work.head()


def test_false_positive_server_baseline_as_printed(
    server: tuple[GitRepo, GitRepo], tmp_path: Path
) -> None:
    repo, work = server
    outside = tmp_path / "server-baseline.toml"
    (repo.path / ".kimi-secret-scan.toml").write_text(
        f'new-suppressions = "fail"\nbaseline = "{outside}"\n'
    )
    line, _ = key_line()
    work.commit_file("fixture.py", line, "add a fixture")
    proc = push(work, "origin", "main")
    assert proc.returncode != 0
    way_out = _remote_text(proc).partition("Not a real key")[2]
    assert "refuses allow comments" in way_out and "add `#" not in way_out
    (add,) = [ln.strip()[2:] for ln in way_out.splitlines() if ln.strip().startswith("$ ")]
    assert add.startswith(f"kimi-secret-scan baseline add --file {outside} --hash ")
    # The administrators run it on the server, in the repository's directory.
    done = _shell(add, repo.path)
    assert done.returncode == 0, done.stderr
    assert "reads it from now on" in done.stdout and "commit it" not in done.stdout
    again = push(work, "origin", "main")
    assert again.returncode == 0, again.stderr
    assert tip(repo, "main") == work.head()


def test_a_server_baseline_inside_the_bare_repository_is_not_offered(
    server: tuple[GitRepo, GitRepo],
) -> None:
    repo, work = server
    (repo.path / ".kimi-secret-scan.toml").write_text('baseline = "allowed.toml"\n')
    line, _ = key_line()
    work.commit_file("fixture.py", line, "add a fixture")
    proc = push(work, "origin", "main")
    assert proc.returncode != 0
    way_out = _remote_text(proc).partition("Not a real key")[2]
    # It could not be written there: no command that would fail is printed.
    assert "$ " not in way_out
    assert "names no baseline outside the repository" in way_out


def test_no_report_is_written_into_the_bare_repository_from_its_hook(
    server: tuple[GitRepo, GitRepo],
) -> None:
    """In a hook git sets GIT_DIR=. in the bare repository; a report aimed into it (where it
    could be run as a hook or read as config) is still refused."""
    repo, _ = server
    main = tip(repo, "main")
    for target in ("report.json", "hooks/post-update"):
        run = run_cli(
            "pre-receive",
            "--output",
            target,
            cwd=repo.path,
            env={"GIT_DIR": "."},
            input=f"{ZERO} {main} refs/heads/other\n".encode(),
        )
        assert run.code == 2 and "inside a git directory" in run.err, run.all
        assert not (repo.path / "report.json").exists()
        assert not (repo.path / "hooks" / "post-update").exists()


@pytest.mark.parametrize("hidden", ["refs/merge-requests/1/head", "refs/pull/1/head"])
def test_a_commit_held_only_by_a_ref_no_push_set_is_scanned_when_pushed_as_a_branch(
    server: tuple[GitRepo, GitRepo], tmp_path: Path, hidden: str
) -> None:
    """The server fetched a fork's commit into a merge-request ref (no hook runs for a
    fetch); pushing that commit as a branch once counted it as already scanned."""
    repo, work = server
    fork = GitRepo(tmp_path / "fork.git", bare=True)
    work.git("checkout", "-q", "-b", "mr")
    line, _ = key_line()
    mr = work.commit_file("app.py", line, "merge request adds a key")
    work.git("push", "-q", str(fork.path), "mr")
    repo.git("fetch", "-q", str(fork.path), f"mr:{hidden}")
    proc = push(work, "origin", "mr:refs/heads/release")
    assert proc.returncode != 0, proc.stderr
    assert "app.py:1" in proc.stderr and "1 commit" in proc.stderr
    assert tip(repo, "release") is None
    # A commit already on a branch is not scanned again.
    work.git("checkout", "-q", "main")
    main = tip(repo, "main")
    proc = push(work, "origin", f"{main}:refs/heads/copy")
    assert proc.returncode == 0 and "0 commits" in proc.stderr, proc.stderr
    assert mr != main
