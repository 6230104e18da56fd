"""The hooks through the real pre-commit framework, in real repositories.

The framework installs this project from a git repository into its own virtual environment
(pip, from the package index). The hooks repository is a snapshot of this checkout's files,
uncommitted changes included, committed once per session, so `pre-commit try-repo` and a
`.pre-commit-config.yaml` pointing at it test exactly the code under test, and pre-commit
builds the environment once (PRE_COMMIT_HOME is shared by the session, see conftest.py).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.gitrepo import GitRepo, git
from tests.keygen import kimi_code_key, moonshot_key
from tests.remotes import scanner_path_env

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def hooks_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A git repository holding this checkout's files (tracked and untracked, not ignored)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode("utf-8", "surrogateescape")
    target = tmp_path_factory.mktemp("hooks-repo")
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if not source.is_file():
            continue  # deleted in the working tree
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target / name)
    env = _env()
    for args in (
        ["init", "-q", "--initial-branch=main"],
        ["add", "-A"],
        ["commit", "-q", "--no-verify", "-m", "snapshot of the checkout under test"],
    ):
        subprocess.run(["git", *args], cwd=target, env=env, check=True, capture_output=True)
    rev = git(target, "rev-parse", "HEAD").strip()
    return target, rev


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("NO_COLOR", None)
    env.update(PRE_COMMIT_COLOR="never", GIT_AUTHOR_NAME="Ada", GIT_COMMITTER_NAME="Ada")
    return env


def pre_commit(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", *args],
        cwd=cwd,
        env=_env(),
        capture_output=True,
        text=True,
        check=False,
    )


def _config(hooks_path: Path, rev: str) -> str:
    return (
        f"repos:\n"
        f"  - repo: {hooks_path}\n"
        f"    rev: {rev}\n"
        f"    hooks:\n"
        f"      - id: kimi-secret-scan\n"
        f"      - id: kimi-secret-scan-commit-msg\n"
    )


def git_commit(repo: GitRepo, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "commit", *args], cwd=repo.path, env=_env(), capture_output=True, text=True
    )


def test_installed_hooks_block_a_staged_key_and_a_key_in_the_message(
    repo: GitRepo, hooks_repo: tuple[Path, str]
) -> None:
    hooks_path, rev = hooks_repo
    repo.write(".pre-commit-config.yaml", _config(hooks_path, rev))
    repo.commit_file("app.py", "import os\n", message="start")
    repo.add(".pre-commit-config.yaml")
    repo.commit("add pre-commit")
    installed = pre_commit(
        "install", "--hook-type", "pre-commit", "--hook-type", "commit-msg", cwd=repo.path
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    start = repo.head()

    # A staged key blocks the commit, with its location; the key is not printed whole.
    key = kimi_code_key()
    repo.write("app.py", f"import os\nKIMI_API_KEY = '{key}'\n")
    repo.add("app.py")
    blocked = git_commit(repo, "-m", "add the client")
    output = blocked.stdout + blocked.stderr
    assert blocked.returncode != 0, output
    assert "app.py:2:17" in output
    assert "Kimi Code API key" in output
    assert key not in output
    assert repo.head() == start

    # The fixed file commits; a key left unstaged in another file does not block it.
    repo.write("app.py", "import os\nKIMI_API_KEY = os.environ['KIMI_API_KEY']\n")
    repo.add("app.py")
    repo.write("notes.txt", f"moonshot {moonshot_key()}\n")  # untracked, never staged
    passed = git_commit(repo, "-m", "add the client")
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert repo.head() != start
    assert (repo.path / "notes.txt").exists()

    # The commit-msg hook blocks a message holding a key.
    second = repo.head()
    repo.write("README.md", "readme\n")
    repo.add("README.md")
    blocked = git_commit(repo, "-m", f"docs\n\ntested with {kimi_code_key()}")
    output = blocked.stdout + blocked.stderr
    assert blocked.returncode != 0, output
    assert "COMMIT_EDITMSG:3:13" in output
    assert repo.head() == second

    # A merge whose conflict is resolved by keeping our side: pre-commit names the
    # conflicted file, which the commit does not change; its old key must not block.
    repo.git("reset", "-q", "--hard")
    repo.write("conf.py", f"MODE = 'base'\nKIMI_API_KEY = '{kimi_code_key()}'\n")
    repo.add("conf.py")
    repo.commit("an old key, committed before the hooks existed")
    repo.git("checkout", "-q", "-b", "side")
    repo.git("commit", "-q", "--no-verify", "--allow-empty", "-m", "side")
    repo.write("conf.py", repo.path.joinpath("conf.py").read_text().replace("base", "side"))
    repo.git("commit", "-q", "--no-verify", "-am", "side")
    repo.git("checkout", "-q", "main")
    repo.write("conf.py", repo.path.joinpath("conf.py").read_text().replace("base", "main"))
    repo.git("commit", "-q", "--no-verify", "-am", "main")
    subprocess.run(["git", "merge", "-q", "side"], cwd=repo.path, capture_output=True)
    repo.git("checkout", "--ours", "conf.py")
    repo.add("conf.py")
    merged = git_commit(repo, "--no-edit")
    assert merged.returncode == 0, merged.stdout + merged.stderr


def test_files_option_scans_the_named_files_whole(
    repo: GitRepo, hooks_repo: tuple[Path, str]
) -> None:
    """`pre-commit run --files` (as pre-commit.ci and CI jobs run it), with a config file:
    the environment built for the test above is reused (try-repo builds a new one each time)."""
    hooks_path, rev = hooks_repo
    repo.write(".pre-commit-config.yaml", _config(hooks_path, rev))
    body = "".join(f"x{n} = {n}\n" for n in range(10))
    repo.commit_file("clean.py", body)
    repo.commit_file("leak.py", body + f"KIMI_API_KEY = '{kimi_code_key()}'\n")
    repo.add(".pre-commit-config.yaml")
    repo.commit("add pre-commit")

    clean = pre_commit("run", "kimi-secret-scan", "--files", "clean.py", cwd=repo.path)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "Passed" in clean.stdout

    leak = pre_commit("run", "kimi-secret-scan", "--files", "leak.py", "clean.py", cwd=repo.path)
    assert leak.returncode == 1, leak.stdout + leak.stderr
    assert "leak.py:11:17" in leak.stdout
    assert "scanned 2 files, 21 lines (the named files, whole" in leak.stdout


def test_try_repo_all_files_catches_a_key_already_committed(
    repo: GitRepo, hooks_repo: tuple[Path, str]
) -> None:
    hooks_path, _ = hooks_repo
    body = "".join(f"x{n} = {n}\n" for n in range(10))
    repo.commit_file("clean.py", body)
    repo.commit_file("docs/setup.md", f"export MOONSHOT_API_KEY={moonshot_key()}\n")
    # Nothing is staged: without --all-files the hook would have no file to check.
    caught = pre_commit(
        "try-repo", str(hooks_path), "kimi-secret-scan", "--all-files", cwd=repo.path
    )
    output = caught.stdout + caught.stderr
    assert caught.returncode == 1, output
    assert "docs/setup.md:1:25" in output
    assert "scanned 2 files, 11 lines (the named files, whole" in output


def test_installed_hook_blocks_a_zip_member_it_cannot_unpack(
    repo: GitRepo, hooks_repo: tuple[Path, str]
) -> None:
    """A zip whose member is encrypted (or Deflate64) holding a key: the hook once said it
    with a note and let the commit through (exit 0), where range failed on the commit."""
    import io
    import zipfile

    hooks_path, rev = hooks_repo
    repo.write(".pre-commit-config.yaml", _config(hooks_path, rev))
    repo.add(".pre-commit-config.yaml")
    repo.commit("add pre-commit")
    installed = pre_commit("install", "--hook-type", "pre-commit", cwd=repo.path)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    start = repo.head()
    key = kimi_code_key()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(".env", f"KIMI_API_KEY={key}\n")
    data = bytearray(out.getvalue())
    data[6] |= 1  # the encrypted flag, in the local header and the central directory
    data[data.find(b"PK\x01\x02") + 8] |= 1
    repo.write("backup.zip", bytes(data))
    repo.add("backup.zip")
    blocked = git_commit(repo, "-m", "backup")
    output = blocked.stdout + blocked.stderr
    assert blocked.returncode != 0, output
    assert "backup.zip!.env" in output and "encrypted" in output
    assert key not in output
    assert repo.head() == start


def test_push_hook_says_what_pre_commit_hands_it_and_the_plain_hook_checks_every_ref(
    tmp_path: Path, hooks_repo: tuple[Path, str]
) -> None:
    """pre-commit hands its push hook the first pushed ref with commits only: the hook
    cannot scan the others, so it says so on every run (shown on a pass too). Installed
    before pre-commit, the plain git hook runs as pre-push.legacy with git's every ref."""
    hooks_path, rev = hooks_repo
    origin = GitRepo(tmp_path / "origin.git", bare=True)
    work = GitRepo(tmp_path / "work")
    work.git("remote", "add", "origin", str(origin.path))
    config = f"repos:\n  - repo: {hooks_path}\n    rev: {rev}\n    hooks:\n"
    work.commit_file(".pre-commit-config.yaml", config + "      - id: kimi-secret-scan-push\n")
    work.git("push", "-q", "--no-verify", "origin", "main")
    installed = pre_commit("install", "--hook-type", "pre-push", cwd=work.path)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    # `git push origin main zzz`: main (first, clean) is all pre-commit hands over.
    work.git("checkout", "-q", "-b", "zzz")
    work.commit_file("k.env", f"KEY={kimi_code_key()}\n")
    work.git("checkout", "-q", "main")
    work.commit_file("a.txt", "more\n")

    def push() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["git", "push", "origin", "main", "zzz"],
            cwd=work.path,
            env={**_env(), **scanner_path_env()},
            capture_output=True,
            text=True,
            check=False,
        )

    passed = push()
    output = passed.stdout + passed.stderr
    assert passed.returncode == 0, output  # pre-commit's range: a limit said, not hidden
    assert "as pre-commit handed it" in output
    assert "NOT checked under pre-commit: the other refs of the same push" in output
    assert 'the plain git hook `kimi-secret-scan pre-push "$@"` checks both' in output

    # The plain hook, then pre-commit's on top of it: git's refs reach the plain hook.
    work.git("push", "-q", "--no-verify", "origin", ":zzz")
    work.git("reset", "-q", "--hard", "HEAD~")
    work.git("push", "-q", "--no-verify", "--force", "origin", "main")
    work.commit_file("a.txt", "more\n")
    hook = work.path / ".git" / "hooks" / "pre-push"
    hook.unlink()
    hook.write_text('#!/bin/sh\nexec kimi-secret-scan pre-push "$@"\n')
    hook.chmod(0o755)
    installed = pre_commit("install", "--hook-type", "pre-push", cwd=work.path)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert (work.path / ".git" / "hooks" / "pre-push.legacy").exists()
    blocked = push()
    output = blocked.stdout + blocked.stderr
    assert blocked.returncode != 0, output
    assert "k.env:1:5" in output
    assert git(origin.path, "branch", "--list", "zzz").strip() == ""


def _installed(repo: GitRepo, hooks_repo: tuple[Path, str]) -> None:
    hooks_path, rev = hooks_repo
    repo.write(".pre-commit-config.yaml", _config(hooks_path, rev))
    repo.commit_file("r.txt", "hi\n", message="start")
    repo.add(".pre-commit-config.yaml")
    repo.commit("add pre-commit")
    installed = pre_commit("install", cwd=repo.path)
    assert installed.returncode == 0, installed.stdout + installed.stderr


def test_a_file_named_like_an_option_is_a_path_not_an_option(
    repo: GitRepo, hooks_repo: tuple[Path, str]
) -> None:
    """Hostile review 8: pre-commit appends the names after the hook's arguments; a staged
    file named `--help` made click print the help and exit 0, the key committed."""
    _installed(repo, hooks_repo)
    start = repo.head()
    repo.write("k.env", f"K={moonshot_key()}\n")
    repo.write("--help", "")
    repo.write("-q", "")
    repo.git("add", "--", "k.env", "--help", "-q")
    blocked = git_commit(repo, "-m", "key and --help")
    assert blocked.returncode != 0, blocked.stdout + blocked.stderr
    assert "k.env:1:3" in blocked.stderr, blocked.stdout + blocked.stderr
    assert repo.head() == start
    repo.git("commit", "-q", "--no-verify", "-m", "committed past the hook")
    # pre-commit.ci's run: every tracked file, `--help` among them, is scanned whole.
    everything = pre_commit("run", "kimi-secret-scan", "--all-files", cwd=repo.path)
    assert everything.returncode == 1, everything.stdout + everything.stderr
    assert "k.env:1:3" in everything.stdout


def test_option_looking_names_are_refused_when_not_after_double_dash(
    repo: GitRepo, hooks_repo: tuple[Path, str]
) -> None:
    """A hook of the user's own (`repo: local`, or `args:` without `--`): the name would be
    read as an option, so it is refused, exit 2, rather than passed."""
    repo.write(
        ".pre-commit-config.yaml",
        "repos:\n- repo: local\n  hooks:\n  - id: kimi-secret-scan\n"
        "    name: local\n    entry: kimi-secret-scan staged\n    language: system\n",
    )
    repo.commit_file("r.txt", "hi\n", message="start")
    repo.write("k.env", f"K={moonshot_key()}\n")
    repo.write("--help", "")
    repo.git("add", "--", "k.env", "--help")
    env = {**_env(), **scanner_path_env()}
    run = subprocess.run(
        [sys.executable, "-m", "pre_commit", "run", "kimi-secret-scan"],
        cwd=repo.path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 1 and "Failed" in run.stdout, run.stdout + run.stderr
    assert "`--help` is an option and also a file here" in run.stdout, run.stdout
    assert "exit code: 2" in run.stdout


def test_a_staged_symlink_or_gitlink_is_scanned_under_pre_commit(
    repo: GitRepo, hooks_repo: tuple[Path, str]
) -> None:
    """Hostile review 8: pre-commit's default `types: [file]` never passed a symbolic link,
    and it never lists a gitlink: alone they skipped the hook, beside a clean file they
    passed (`staged` narrowed the scan to the names it was given)."""
    _installed(repo, hooks_repo)
    start = repo.head()
    (repo.path / "lnk").symlink_to(f"/etc/{moonshot_key()}")
    repo.add("lnk")
    alone = git_commit(repo, "-m", "link")
    assert alone.returncode != 0 and "lnk:1:6" in alone.stderr, alone.stdout + alone.stderr
    repo.write("c.txt", "clean\n")
    repo.add("c.txt")
    both = git_commit(repo, "-m", "link and a clean file")
    assert both.returncode != 0 and "lnk:1:6" in both.stderr, both.stdout + both.stderr
    assert repo.head() == start
    repo.git("rm", "-q", "--cached", "lnk", "c.txt")
    name = moonshot_key()
    repo.git("update-index", "--add", "--cacheinfo", f"160000,{start},{name}")
    gitlink = git_commit(repo, "-m", "gitlink")
    assert gitlink.returncode != 0, gitlink.stdout + gitlink.stderr
    assert name not in gitlink.stdout + gitlink.stderr and repo.head() == start
