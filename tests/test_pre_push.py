"""`kimi-secret-scan pre-push`: real pushes to real bare remotes, through git's own hook and
through the pre-commit framework."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.gitrepo import GitRepo, run_cli
from tests.remotes import (
    ZERO,
    cloned,
    install_hook,
    key_line,
    readme_block,
    scanner_path_env,
    with_origin,
)


def push(repo: GitRepo, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **scanner_path_env()}
    return subprocess.run(
        ["git", "push", *args], cwd=repo.path, env=env, capture_output=True, text=True, check=False
    )


def remote_tip(origin: GitRepo, branch: str) -> str | None:
    proc = subprocess.run(
        ["git", "rev-parse", "--verify", "-q", f"refs/heads/{branch}"],
        cwd=origin.path,
        capture_output=True,
        text=True,
        check=False,
    )
    return proc.stdout.strip() or None


@pytest.fixture
def pushed(tmp_path: Path) -> tuple[GitRepo, GitRepo, str]:
    """origin with main pushed (its history holds an old key), and the README's git hook."""
    origin, work = with_origin(tmp_path)
    line, _ = key_line()
    work.commit_file("legacy.py", line, "an old key, pushed before the hook existed")
    work.commit_file("README.md", "hi\n")
    work.git("push", "-q", "origin", "main")
    install_hook(work.path / ".git", "pre-push", readme_block(".git/hooks/pre-push:", "sh"))
    return origin, work, line


def test_new_branch_scans_what_no_old_tip_on_the_remote_holds(
    pushed: tuple[GitRepo, GitRepo, str],
) -> None:
    origin, work, _ = pushed
    work.git("checkout", "-q", "-b", "feature")
    work.commit_file("feature.txt", "clean\n")
    proc = push(work, "origin", "feature")
    # origin/main is what the remote held at the last fetch, not a fact about it now: the
    # whole branch is scanned, legacy.py's key with it.
    assert proc.returncode != 0
    assert "3 commits" in proc.stderr and "legacy.py" in proc.stdout + proc.stderr
    assert remote_tip(origin, "feature") is None

    # Pushed beside an update of main, main's old tip (the remote says it has it) is
    # excluded: only the new commits are scanned.
    work.git("checkout", "-q", "main")
    work.commit_file("main.txt", "clean\n")
    work.git("checkout", "-q", "feature")
    work.git("rebase", "-q", "main")
    proc = push(work, "origin", "main", "feature")
    assert proc.returncode == 0, proc.stderr
    assert "2 commits" in proc.stderr
    assert remote_tip(origin, "feature") == work.head()

    line, key = key_line()
    work.commit_file("secret.py", line)
    work.git("checkout", "-q", "-b", "feature2")
    proc = push(work, "origin", "feature2", "feature")
    assert proc.returncode != 0
    assert "secret.py:1:17" in proc.stderr or "secret.py:1:17" in proc.stdout
    assert key not in proc.stdout + proc.stderr
    assert remote_tip(origin, "feature2") is None


def test_a_stale_remote_tracking_branch_is_not_on_the_remote(tmp_path: Path) -> None:
    # A branch deleted on the server to take a leaked key away; a clone that never pruned
    # it still has origin/feature. Merging it, or branching from it, sends the key again.
    origin, work = with_origin(tmp_path)
    work.commit_file("README.md", "hi\n")
    work.git("push", "-q", "origin", "main")
    work.git("checkout", "-q", "-b", "feature")
    line, key = key_line()
    leak = work.commit_file("cfg.py", line)
    work.git("push", "-q", "--no-verify", "origin", "feature")
    other = cloned(origin.path, tmp_path / "other")
    origin.git("branch", "-D", "feature")
    origin.git("reflog", "expire", "--expire=now", "--all")
    origin.git("gc", "-q", "--prune=now")
    with pytest.raises(AssertionError):
        origin.git("cat-file", "-e", leak)
    install_hook(other.path / ".git", "pre-push", readme_block(".git/hooks/pre-push:", "sh"))

    other.git("branch", "again", "origin/feature")
    proc = push(other, "origin", "again")
    assert proc.returncode != 0, proc.stderr
    assert "cfg.py" in proc.stdout + proc.stderr and key not in proc.stdout + proc.stderr

    other.git("merge", "-q", "--no-edit", "origin/feature")
    proc = push(other, "origin", "main")
    assert proc.returncode != 0, proc.stderr
    assert "1 commit" in proc.stderr and "cfg.py" in proc.stdout + proc.stderr
    with pytest.raises(AssertionError):
        origin.git("cat-file", "-e", leak)


def test_update_force_push_and_delete(pushed: tuple[GitRepo, GitRepo, str]) -> None:
    origin, work, _ = pushed
    before = work.head()
    line, _ = key_line()
    work.commit_file("leak.py", line)
    assert push(work, "origin", "main").returncode != 0
    assert remote_tip(origin, "main") == before

    # Rewrite the commit without the key: a force push of what is new passes.
    work.git("reset", "-q", "--hard", "HEAD~2")  # drop README.md's pushed commit too
    fixed = work.commit_file("fixed.txt", "no key\n")
    proc = push(work, "-f", "origin", "main")
    assert proc.returncode == 0, proc.stderr
    assert remote_tip(origin, "main") == fixed

    # A force push that adds a key is blocked.
    work.git("reset", "-q", "--hard", "HEAD~1")
    work.commit_file("again.py", line)
    assert push(work, "-f", "origin", "main").returncode != 0
    assert remote_tip(origin, "main") == fixed

    work.git("push", "-q", "--no-verify", "origin", "main:doomed")
    proc = push(work, "origin", "--delete", "doomed")
    assert proc.returncode == 0, proc.stderr
    assert remote_tip(origin, "doomed") is None


def test_every_pushed_ref_is_scanned(pushed: tuple[GitRepo, GitRepo, str]) -> None:
    origin, work, _ = pushed
    work.git("checkout", "-q", "-b", "a")
    work.commit_file("a.txt", "a\n")
    work.git("checkout", "-q", "-b", "b", "main")
    line, _ = key_line()
    work.commit_file("b.py", line)
    proc = push(work, "origin", "a", "b")  # the key is on the second ref
    assert proc.returncode != 0
    assert "b.py" in proc.stdout + proc.stderr
    assert remote_tip(origin, "a") is None and remote_tip(origin, "b") is None


def test_stdin_protocol_directly(pushed: tuple[GitRepo, GitRepo, str]) -> None:
    origin, work, _ = pushed
    main = work.head()
    line, _ = key_line()
    work.git("checkout", "-q", "-b", "topic")
    topic = work.commit_file("t.py", line)
    lines = (
        f"refs/heads/topic {topic} refs/heads/topic {ZERO}\n(delete) {ZERO} refs/heads/old {main}\n"
    )
    run = run_cli(
        "pre-push",
        "origin",
        str(origin.path),
        "--format",
        "json",
        cwd=work.path,
        input=lines.encode(),
    )
    assert run.code == 1, run.all
    assert "new refs/heads/topic, delete refs/heads/old" in run.err
    only_delete = f"(delete) {ZERO} refs/heads/old {main}\n"
    run = run_cli("pre-push", "origin", "url", cwd=work.path, input=only_delete.encode())
    assert run.code == 0 and "0 commits" in run.err
    run = run_cli("pre-push", "origin", "url", cwd=work.path, input=b"garbage\n")
    assert run.code == 2


@pytest.mark.parametrize("annotated", [False, True])
def test_a_tag_of_a_tree_with_a_key_in_an_entry_name_is_blocked(
    pushed: tuple[GitRepo, GitRepo, str], annotated: bool
) -> None:
    # The names in a tagged tree (a file's, a directory's, at any depth) are pushed with
    # it, as a commit's path names are: they once passed with "0 commits".
    origin, work, _ = pushed
    key = key_line()[1]
    empty = work.git("hash-object", "-w", "--stdin", input=b"").strip()
    inner = work.git("mktree", input=f"100644 blob {empty}\tKIMI_API_KEY={key}\n".encode())
    tree = work.git("mktree", input=f"040000 tree {inner.strip()}\tdeep\n".encode()).strip()
    work.git("tag", *(["-a", "-m", "release"] if annotated else []), "t1", tree)
    proc = push(work, "origin", "refs/tags/t1")
    assert proc.returncode != 0, proc.stdout + proc.stderr
    assert "path name in refs/tags/t1:2:" in proc.stdout + proc.stderr
    assert key not in proc.stdout + proc.stderr
    refs = subprocess.run(
        ["git", "tag"], cwd=origin.path, capture_output=True, text=True, check=True
    ).stdout
    assert "t1" not in refs


def test_pre_commit_environment_variables(pushed: tuple[GitRepo, GitRepo, str]) -> None:
    _, work, _ = pushed
    main = work.head()
    line, _ = key_line()
    work.git("checkout", "-q", "-b", "topic")
    topic = work.commit_file("t.py", line)
    env = {
        "PRE_COMMIT_FROM_REF": main,
        "PRE_COMMIT_TO_REF": topic,
        "PRE_COMMIT_REMOTE_NAME": "origin",
        "PRE_COMMIT_REMOTE_BRANCH": "refs/heads/topic",
    }
    run = run_cli("pre-push", cwd=work.path, env=env, input=b"")
    assert run.code == 1, run.all
    # pre-commit's "all files" push (a root commit is pushed) sets no refs.
    env = {
        "PRE_COMMIT_REMOTE_NAME": "elsewhere",
        "PRE_COMMIT_LOCAL_BRANCH": "refs/heads/main",
        "PRE_COMMIT_FROM_REF": "",
        "PRE_COMMIT_TO_REF": "",
    }
    run = run_cli("pre-push", "--format", "json", cwd=work.path, env=env, input=b"")
    assert run.code == 1 and "legacy.py" in run.out  # nothing is on `elsewhere` yet


def test_under_pre_commit_every_format_says_what_it_cannot_check(
    pushed: tuple[GitRepo, GitRepo, str],
) -> None:
    """pre-commit passes one range (the other refs of the push never reach the hook): the
    scope, in every format, says what was given and what was not checked."""
    _, work, _ = pushed
    main = work.head()
    topic = work.commit_file("t.txt", "clean\n")
    env = {
        "PRE_COMMIT_FROM_REF": main,
        "PRE_COMMIT_TO_REF": topic,
        "PRE_COMMIT_REMOTE_NAME": "origin",
        "PRE_COMMIT_REMOTE_BRANCH": "refs/heads/main",
        "PRE_COMMIT_LOCAL_BRANCH": "refs/heads/main",
    }
    said = "NOT checked under pre-commit: the other refs of the same push"
    for fmt in ("text", "json", "sarif", "github"):
        run = run_cli("pre-push", "--format", fmt, cwd=work.path, env=env, input=b"")
        assert run.code == 0, run.all
        assert said in run.all, fmt
        assert f"as pre-commit handed it: {main[:12]}..{topic[:12]}" in run.all, fmt
        assert "commits pre-commit counted as on origin" in run.all, fmt
    # No range (pre-commit's "all files" push): the other refs are still said.
    env = {"PRE_COMMIT_REMOTE_NAME": "origin", "PRE_COMMIT_LOCAL_BRANCH": "refs/heads/main"}
    run = run_cli("pre-push", "--format", "json", cwd=work.path, env=env, input=b"")
    assert run.code == 1, run.all  # the old key in main's history
    assert said in run.all and "every commit of refs/heads/main" in run.all
    # The plain hook's stdin: no such words.
    line = f"refs/heads/main {topic} refs/heads/main {main}\n"
    run = run_cli("pre-push", "origin", "url", cwd=work.path, input=line.encode())
    assert run.code == 0 and said not in run.all, run.all


def test_under_the_pre_commit_framework(tmp_path: Path) -> None:
    origin, work = with_origin(tmp_path)
    config = (
        "repos:\n- repo: local\n  hooks:\n"
        "  - id: kimi-secret-scan-push\n    name: kimi-secret-scan-push\n"
        f"    entry: {sys.executable} -m kimi_secret_scan pre-push\n"
        "    language: system\n    stages: [pre-push]\n    pass_filenames: false\n"
        "    always_run: true\n"
    )
    work.commit_file(".pre-commit-config.yaml", config)
    subprocess.run(
        [sys.executable, "-m", "pre_commit", "install", "--hook-type", "pre-push"],
        cwd=work.path,
        check=True,
        capture_output=True,
    )
    proc = push(work, "origin", "main")  # a root commit: pre-commit runs with no refs
    assert proc.returncode == 0, proc.stdout + proc.stderr
    line, key = key_line()
    work.commit_file("k.py", line)
    proc = push(work, "origin", "main")
    assert proc.returncode != 0
    assert "k.py:1:17" in proc.stdout and key not in proc.stdout + proc.stderr
    assert remote_tip(origin, "main") != work.head()


def test_pre_commit_hooks_file_declares_the_push_and_history_hooks() -> None:
    import yaml

    hooks = {
        h["id"]: h
        for h in yaml.safe_load(
            (Path(__file__).resolve().parent.parent / ".pre-commit-hooks.yaml").read_text()
        )
    }
    push_hook = hooks["kimi-secret-scan-push"]
    assert push_hook["entry"] == "kimi-secret-scan pre-push"
    assert push_hook["stages"] == ["pre-push"] and push_hook["pass_filenames"] is False
    history = hooks["kimi-secret-scan-history"]
    assert history["entry"] == "kimi-secret-scan history"
    assert history["stages"] == ["manual"] and history["pass_filenames"] is False


def test_a_push_to_a_url_with_a_token_never_prints_the_token(
    pushed: tuple[GitRepo, GitRepo, str],
) -> None:
    """Review h9a, finding 8: `git push https://bob:TOKEN@host/r.git` passes that URL to the
    hook as the remote; the token was printed in every format. A real push (insteadOf points
    the URL at the local origin, and git still hands the hook the URL as typed)."""
    origin, work, line = pushed
    token = "ghp_" + "T0KEN" * 6
    url = f"https://bob:{token}@example.invalid/r.git"
    work.git("config", f"url.{origin.path}.insteadOf", url)
    work.commit_file("new.py", line.replace("legacy", "new") + "# more\n", "a key")
    hook = readme_block(".git/hooks/pre-push:", "sh")
    for fmt in ("text", "json", "github", "sarif"):
        script = hook.replace('pre-push "$@"', f'pre-push "$@" --format {fmt}')
        install_hook(work.path / ".git", "pre-push", script)
        proc = push(work, url, "HEAD:refs/heads/other")
        assert proc.returncode != 0, (fmt, proc.stderr)
        out = proc.stdout + proc.stderr
        assert "new.py" in out and token not in out and "bob" not in out, (fmt, out)
        assert "https://example.invalid/r.git" in out, (fmt, out)
    assert remote_tip(origin, "other") is None
