"""Where `history`'s purge plan puts what it writes, and what its printed commands name.

Review h8a: in a submodule (or a clone inside a clone) the plan wrote the whole-key
replacements file and the mirror next to the repository, i.e. inside the superproject's
work tree, one `git add -A` from committing every key; `--write-replacements` accepted any
path outside the scanned repository itself. The plans here are pasted as printed.
"""

from __future__ import annotations

import base64
import functools
import http.server
import threading
from pathlib import Path

import pytest

from tests.gitrepo import GitRepo, git, run_cli
from tests.keygen import moonshot_key
from tests.remotes import with_origin
from tests.test_lfs import stage_lfs
from tests.test_remedy import HAS_FILTER_REPO, plan_commands, run_ok

KEY_LINE = "MOONSHOT_API_KEY={}\n"


def _library(tmp_path: Path, key: str) -> Path:
    """A bare `lib.git` whose history (not its HEAD) holds `key`."""
    server = GitRepo(tmp_path / "lib.git", bare=True)
    src = GitRepo(tmp_path / "libsrc")
    src.commit_file(".env", KEY_LINE.format(key), "env")
    src.git("rm", "-q", ".env")
    src.commit_file("lib.py", "x = 1\n", "code")
    src.git("push", "-q", str(server.path), "main")
    return server.path


def _superproject_with(tmp_path: Path, server: Path) -> GitRepo:
    app = GitRepo(tmp_path / "app")
    app.commit_file("README", "app\n", "init")
    app.git("-c", "protocol.file.allow=always", "submodule", "add", "-q", str(server), "vendor/lib")
    app.commit("submodule")
    return app


def test_purge_plan_in_a_submodule_writes_nothing_into_the_superproject(tmp_path: Path) -> None:
    assert HAS_FILTER_REPO, "git-filter-repo is missing: pip install -e '.[test]'"
    key = moonshot_key()
    server = _library(tmp_path, key)
    app = _superproject_with(tmp_path, server)
    sub = app.path / "vendor" / "lib"
    run = run_cli("history", cwd=sub)
    assert run.code == 1, run.all
    cmds = plan_commands(run.out)
    outside = tmp_path.resolve()
    replacements = outside / "lib-kimi-replacements.txt"
    mirror = outside / "lib-purge.git"
    assert f"kimi-secret-scan history --repo {sub} --write-replacements {replacements}" in cmds, (
        run.out
    )
    assert f"git clone --mirror {server} {mirror}" in cmds, run.out
    assert "outside the work tree this repository sits in" in run.out
    assert str(app.path / "vendor" / "lib-") not in run.out
    for command in cmds:
        if command.startswith("rm "):
            # Before the clean-up: nothing of the purge is in the superproject's work tree.
            assert app.git("status", "--porcelain", "--ignored", "--untracked-files=all") == ""
        run_ok(command, sub)
    assert app.git("status", "--porcelain", "--ignored", "--untracked-files=all") == ""
    app.git("add", "-A")
    assert key not in app.git("diff", "--cached")
    assert run_cli("history", "--repo", str(server), cwd=tmp_path).code == 0
    assert key not in git(server, "log", "-p", "--all")


def test_purge_plan_of_a_clone_inside_a_clone_goes_above_both(tmp_path: Path) -> None:
    outer = GitRepo(tmp_path / "outer")
    outer.commit_file("README", "outer\n", "init")
    server = _library(tmp_path, moonshot_key())
    git(outer.path, "clone", "-q", str(server), "deps/lib")
    run = run_cli("history", cwd=outer.path / "deps" / "lib")
    assert run.code == 1, run.all
    assert f"--write-replacements {tmp_path.resolve() / 'lib-kimi-replacements.txt'}" in run.out
    assert f"git clone --mirror {server} {tmp_path.resolve() / 'lib-purge.git'}" in run.out


@pytest.mark.parametrize("where", ["superproject", "other checkout"])
def test_write_replacements_refuses_any_work_tree(tmp_path: Path, where: str) -> None:
    key = moonshot_key()
    app = _superproject_with(tmp_path, _library(tmp_path, key))
    other = GitRepo(tmp_path / "other")
    inside = (app.path if where == "superproject" else other.path) / "keys.txt"
    run = run_cli("history", "--write-replacements", str(inside), cwd=app.path / "vendor" / "lib")
    assert run.code == 2, run.all
    assert "inside the git work tree" in run.err and "git add -A" in run.err, run.err
    assert not inside.exists()
    assert key not in run.all
    # The place it suggests is outside every work tree, and accepted.
    suggested = tmp_path.resolve() / "kimi-replacements.txt"
    assert str(suggested) in run.err
    run = run_cli("history", "--write-replacements", str(suggested), cwd=app.path / "vendor/lib")
    assert run.code == 0, run.all
    assert key in suggested.read_text()


# -- the options the audit needed, and an incomplete scan behind the replacements file ------


def _with_an_unread_lfs_object(tmp_path: Path) -> tuple[GitRepo, str]:
    """A pushed history holding a key in `.env` and an LFS pointer whose object this clone
    does not have: an audit of it is incomplete unless --allow-missing-lfs accepts it."""
    _, work = with_origin(tmp_path)
    key = moonshot_key()
    work.commit_file(".env", KEY_LINE.format(key), "env")
    work.git("rm", "-q", ".env")
    work.commit("no env")
    stage_lfs(work, "data.bin", b"payload nobody fetched\n", store=False)
    work.commit("lfs")
    work.git("push", "-q", "origin", "main")
    return work, key


def test_write_replacements_from_an_incomplete_scan_exits_2(tmp_path: Path) -> None:
    work, key = _with_an_unread_lfs_object(tmp_path)
    file = tmp_path / "r.txt"
    run = run_cli("history", "--write-replacements", str(file), cwd=work.path)
    assert run.code == 2, run.all
    assert "INCOMPLETE" in run.err and "data.bin" in run.err, run.err
    assert "holds only the keys found" in run.err
    assert key not in run.all


def test_the_plan_carries_the_options_the_audit_needed(tmp_path: Path) -> None:
    """Review h8a #3: the plan's `history` commands dropped --max-file-size (and the rest):
    pasted, the replacements file lacked the key the option had let the audit read."""
    assert HAS_FILTER_REPO, "git-filter-repo is missing: pip install -e '.[test]'"
    work, key = _with_an_unread_lfs_object(tmp_path)
    (tmp_path / "kimi.toml").write_text("")
    options = ["--allow-missing-lfs", "--max-file-size", "5000000", "--config", "../kimi.toml"]
    run = run_cli("history", *options, cwd=work.path)
    assert run.code == 1, run.all
    carried = f"--max-file-size 5000000 --allow-missing-lfs --config {tmp_path / 'kimi.toml'}"
    history = [c for c in plan_commands(run.out) if c.startswith("kimi-secret-scan history")]
    assert len(history) == 3 and all(
        c.startswith(f"kimi-secret-scan history {carried} --repo") for c in history
    ), history
    cmds = plan_commands(run.out)
    check = cmds.index(history[1])
    for command in cmds[: check + 1]:  # a-d: write, mirror, rewrite, check (exit 0)
        run_ok(command, Path("/"))
    mirror = tmp_path / "work-purge.git"
    assert key not in git(mirror, "log", "-p", "--all")


# -- a credential in the remote's URL ----------------------------------------------------------


class _AuthHandler(http.server.SimpleHTTPRequestHandler):
    """git's dumb HTTP protocol, behind basic authentication."""

    expected = ""

    def do_GET(self) -> None:
        if self.headers.get("Authorization") != self.expected:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="git"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        super().do_GET()

    def log_message(self, *args: object) -> None:
        pass


def test_a_token_in_the_remote_url_is_not_printed_and_the_clone_works(tmp_path: Path) -> None:
    """Review h8a #13: the plan printed `git clone --mirror https://user:TOKEN@host/…` (a
    CI job's log then holds the token). Now the clone command reads the URL from the clone
    when it runs: pasted, it clones with the token, which the plan never shows."""
    token = "tok" + "en" + "1234567890abcdef"  # not key-shaped: no detector reads it
    served = tmp_path / "served"
    server_repo = GitRepo(served / "s.git", bare=True)
    key = moonshot_key()
    src = GitRepo(tmp_path / "src")
    src.commit_file(".env", KEY_LINE.format(key), "env")
    src.git("rm", "-q", ".env")
    src.commit("no env")
    src.git("push", "-q", str(server_repo.path), "main")
    server_repo.git("update-server-info")
    _AuthHandler.expected = "Basic " + base64.b64encode(f"ci-token:{token}".encode()).decode()
    handler = functools.partial(_AuthHandler, directory=str(served))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://ci-token:{token}@127.0.0.1:{httpd.server_address[1]}/s.git"
        no_prompt = {"GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "", "SSH_ASKPASS": ""}
        git(tmp_path, "-c", "credential.helper=", "clone", "-q", url, "work")
        work = tmp_path / "work"
        run = run_cli("history", cwd=work)
        assert run.code == 1, run.all
        assert token not in run.all
        clones = [c for c in plan_commands(run.out) if c.startswith("git clone")]
        assert len(clones) == 2, run.out
        for command in clones:
            run_ok(command, Path("/"), env=no_prompt)
        for made in (tmp_path / "work-purge.git", tmp_path / "work-clean"):
            assert key in git(made, "log", "-p", "--all")  # the whole history, cloned
    finally:
        httpd.shutdown()
        thread.join()


# -- the force-push: the mirror's remote, and a remote with a work tree -----------------------


def _stored(repo: Path) -> str:
    """Every object the repository stores, reachable or not."""
    return git(repo, "cat-file", "--batch-all-objects", "--batch")


def _paste_the_plan(work: Path) -> str:
    run = run_cli("history", cwd=work)
    assert run.code == 1, run.all
    for command in plan_commands(run.out):
        run_ok(command, Path("/"))
    return run.out


def test_purge_plan_of_a_remote_not_named_origin_runs_as_printed(tmp_path: Path) -> None:
    """Review h8a #8: the push named this clone's remote (`upstream`); in the mirror git
    calls it origin, so it failed and the key stayed on the server."""
    assert HAS_FILTER_REPO, "git-filter-repo is missing: pip install -e '.[test]'"
    server = GitRepo(tmp_path / "server.git", bare=True)
    work = GitRepo(tmp_path / "s")
    work.git("remote", "add", "upstream", str(server.path))
    key = moonshot_key()
    work.commit_file(".env", KEY_LINE.format(key), "env")
    work.git("rm", "-q", ".env")
    work.commit("no env")
    work.git("push", "-q", "upstream", "main")
    out = _paste_the_plan(work.path)
    assert "push --force --mirror origin" in out
    assert key not in _stored(server.path)


def test_purge_plan_of_a_remote_with_a_work_tree_runs_as_printed(tmp_path: Path) -> None:
    """Review h8a #16: cloned from another checkout, the remote refused the push to its
    checked-out branch. The plan says so and pushes with updateInstead."""
    assert HAS_FILTER_REPO, "git-filter-repo is missing: pip install -e '.[test]'"
    upstream = GitRepo(tmp_path / "upstream")
    key = moonshot_key()
    upstream.commit_file(".env", KEY_LINE.format(key), "env")
    upstream.git("rm", "-q", ".env")
    upstream.commit_file("README", "r\n", "no env")
    git(tmp_path, "clone", "-q", str(upstream.path), "s")
    out = _paste_the_plan(tmp_path / "s")
    assert "is a repository with a work tree" in out, out
    assert key not in _stored(upstream.path)
    assert upstream.git("status", "--porcelain") == ""
    assert (upstream.path / "README").read_text() == "r\n"
