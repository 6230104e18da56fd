"""Purge plans pasted as printed (review h9a #2, #3, #4): where pushes go when origin has a
push URL or two URLs, a stash in the repository the mirror is cloned from, and a second
remote whose credential is in its URL."""

from __future__ import annotations

import base64
import functools
import http.server
import threading
from pathlib import Path

from tests.gitrepo import GitRepo, git, run_cli
from tests.keygen import moonshot_key
from tests.test_remedy import HAS_FILTER_REPO, plan_commands, run_ok
from tests.test_remedy_plan_paths import _AuthHandler

KEY_LINE = "MOONSHOT_API_KEY={}\n"


def _stored(repo: Path) -> str:
    """Every object the repository stores, reachable or not."""
    return git(repo, "cat-file", "--batch-all-objects", "--batch")


def _paste(work: Path, env: dict[str, str] | None = None) -> str:
    run = run_cli("history", cwd=work)
    assert run.code == 1, run.all
    for command in plan_commands(run.out):
        run_ok(command, Path("/"), env=env)
    return run.out


def _two_servers(tmp_path: Path) -> tuple[GitRepo, Path, Path, str]:
    """A clone whose history holds a key, pushed to two bare repositories."""
    assert HAS_FILTER_REPO, "git-filter-repo is missing: pip install -e '.[test]'"
    primary = GitRepo(tmp_path / "primary.git", bare=True).path
    readmirror = GitRepo(tmp_path / "readmirror.git", bare=True).path
    work = GitRepo(tmp_path / "work")
    key = moonshot_key()
    work.commit_file(".env", KEY_LINE.format(key), "env")
    work.git("rm", "-q", ".env")
    work.commit_file("README", "r\n", "no env")
    for server in (primary, readmirror):
        work.git("push", "-q", str(server), "main")
    return work, primary, readmirror, key


def test_a_push_url_is_where_the_plan_rewrites_and_the_fetch_url_too(tmp_path: Path) -> None:
    """Review h9a #2: with remote.origin.pushurl the plan mirrored, pushed to and checked
    the fetch URL only; the repository pushes go to kept the key."""
    work, primary, readmirror, key = _two_servers(tmp_path)
    work.git("remote", "add", "origin", str(readmirror))
    work.git("remote", "set-url", "--push", "origin", str(primary))
    work.git("fetch", "-q", "origin")
    out = _paste(work.path)
    assert f"git clone --mirror {primary} " in out, out
    assert "fetches from" in out
    for server in (primary, readmirror):
        assert key not in _stored(server)


def test_every_url_of_a_remote_with_two_is_rewritten(tmp_path: Path) -> None:
    """Review h9a #2 (variant): `git remote set-url --add`: git push writes to both URLs."""
    work, primary, readmirror, key = _two_servers(tmp_path)
    work.git("remote", "add", "origin", str(readmirror))
    work.git("remote", "set-url", "--add", "origin", str(primary))
    work.git("fetch", "-q", "origin")
    out = _paste(work.path)
    assert "several push URLs" in out, out
    for server in (primary, readmirror):
        assert key not in _stored(server)


def test_a_stash_in_the_repository_without_a_remote_does_not_stop_filter_repo(
    tmp_path: Path,
) -> None:
    """Review h9a #3: the mirror of a clone with a stash entry copied refs/stash and
    filter-repo refused it ("has stashed changes")."""
    assert HAS_FILTER_REPO, "git-filter-repo is missing: pip install -e '.[test]'"
    work = GitRepo(tmp_path / "work")
    key = moonshot_key()
    work.commit_file(".env", KEY_LINE.format(key), "env")
    work.git("rm", "-q", ".env")
    work.commit_file("README", "r\n", "no env")
    work.write("README", "draft\n")
    work.git("stash", "-q")
    run = run_cli("history", cwd=work.path)
    assert run.code == 1, run.all
    commands = plan_commands(run.out)
    for command in commands:
        if command.startswith("rm -f"):
            break  # the mirror is kept, to be checked
        run_ok(command, Path("/"))
    mirror = tmp_path / "work-purge.git"
    assert key not in git(mirror, "log", "-p", "--all")
    assert work.git("stash", "list").count("\n") == 1  # this clone's stash untouched


def test_the_prune_of_a_checkout_remote_keeps_its_stash(tmp_path: Path) -> None:
    """Review h9a #3: on a remote with a work tree, step f expired every reflog, the
    stash's too: someone else's stash entries were gone."""
    assert HAS_FILTER_REPO, "git-filter-repo is missing: pip install -e '.[test]'"
    upstream = GitRepo(tmp_path / "upstream")
    key = moonshot_key()
    upstream.commit_file(".env", KEY_LINE.format(key), "env")
    upstream.git("rm", "-q", ".env")
    upstream.commit_file("README", "r\n", "no env")
    # Their work in progress, on a branch that never held the key.
    upstream.git("checkout", "-q", "--orphan", "notes")
    upstream.git("rm", "-rfq", ".")
    upstream.commit_file("notes.txt", "n\n", "notes")
    for n in (1, 2):
        upstream.write("notes.txt", f"draft {n}\n")
        upstream.git("stash", "-q")
    upstream.git("checkout", "-q", "main")
    git(tmp_path, "clone", "-q", str(upstream.path), "s")
    out = _paste(tmp_path / "s")
    assert "stash entries are kept" in out, out
    assert key not in _stored(upstream.path)
    assert upstream.git("stash", "list").count("\n") == 2


def test_a_second_remotes_token_is_read_when_its_clone_runs(tmp_path: Path) -> None:
    """Review h9a #4: another remote's clone command lost the credential of its URL and,
    pasted, failed (could not read Username). Now it reads the URL from the clone."""
    token = "tok" + "en" + "0987654321fedcba"  # not key-shaped: no detector reads it
    served = tmp_path / "served"
    server_repo = GitRepo(served / "u.git", bare=True)
    origin = GitRepo(tmp_path / "o.git", bare=True)
    work = GitRepo(tmp_path / "work")
    work.commit_file("a.py", "x = 1\n", "init")
    work.git("remote", "add", "origin", str(origin.path))
    work.git("push", "-q", "origin", "main")
    work.git("fetch", "-q", "origin")
    work.git("checkout", "-q", "-b", "side")
    key = moonshot_key()
    work.commit_file(".env", KEY_LINE.format(key), "env")
    work.git("push", "-q", str(server_repo.path), "side")
    work.git("checkout", "-q", "main")
    work.git("branch", "-q", "-D", "side")
    server_repo.git("update-server-info")
    _AuthHandler.expected = "Basic " + base64.b64encode(f"bob:{token}".encode()).decode()
    handler = functools.partial(_AuthHandler, directory=str(served))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://bob:{token}@127.0.0.1:{httpd.server_address[1]}/u.git"
        work.git("remote", "add", "upstream", url)
        work.git("-c", "credential.helper=", "fetch", "-q", "upstream")
        run = run_cli("history", cwd=work.path)
        assert run.code == 1, run.all
        assert token not in run.all
        clones = [c for c in plan_commands(run.out) if "upstream-purge" in c and "clone" in c]
        assert len(clones) == 1, run.out
        no_prompt = {"GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "", "SSH_ASKPASS": ""}
        run_ok(clones[0], Path("/"), env=no_prompt)
        assert key in git(tmp_path / "work-upstream-purge.git", "log", "-p", "--all")
    finally:
        httpd.shutdown()
        thread.join()


# -- refs to trees and blobs (review h9a #6) ---------------------------------------------------


def _refs(repo: Path) -> str:
    return git(repo, "for-each-ref", "--format=%(refname)")


def test_a_key_in_the_name_of_a_tag_at_a_clean_tree_or_blob_is_deleted(tmp_path: Path) -> None:
    """filter-repo's --refname-callback never sees a ref to a tree or blob: the tag named
    with a key stayed on origin. Now such a ref is deleted in the mirror and pushed so."""
    from tests.keygen import kimi_code_key
    from tests.remotes import with_origin

    assert HAS_FILTER_REPO, "git-filter-repo is missing: pip install -e '.[test]'"
    origin, work = with_origin(tmp_path)
    work.commit_file("a.py", "x = 1\n", "init")
    k1, k2 = kimi_code_key(), kimi_code_key()
    work.git("tag", f"t-{k1}", work.git("rev-parse", "HEAD^{tree}").strip())
    work.git("tag", f"b-{k2}", work.git("rev-parse", "HEAD:a.py").strip())
    work.git("tag", "keep", "HEAD")
    work.git("tag", "tree", "HEAD^{tree}")  # a clean name at the same clean tree: kept
    work.git("push", "-q", "origin", "main", "--tags")
    out = _paste(work.path)
    assert k1 not in out and k2 not in out
    left = _refs(origin.path)
    assert k1 not in left and k2 not in left
    assert "refs/tags/keep" in left and "refs/heads/main" in left
    assert "refs/tags/tree\n" in left


def test_a_tag_of_a_tag_at_a_tree_holding_a_key_is_deleted(tmp_path: Path) -> None:
    """`%(*objecttype)` peels one level: a tag of a tag at a tree was never named."""
    from tests.remotes import with_origin

    assert HAS_FILTER_REPO, "git-filter-repo is missing: pip install -e '.[test]'"
    origin, work = with_origin(tmp_path)
    work.commit_file("a.py", "x = 1\n", "init")
    key = moonshot_key()
    blob = work.git("hash-object", "-w", "--stdin", input=KEY_LINE.format(key).encode()).strip()
    tree = work.git("mktree", input=f"100644 blob {blob}\tk.env\n".encode()).strip()
    work.git("tag", "-a", "-m", "a tree", "treetag", tree)
    work.git("tag", "-a", "-m", "tag of tag", "tagtag", "treetag")
    work.git("push", "-q", "origin", "main", "--tags")
    _paste(work.path)
    assert "tagtag" not in _refs(origin.path)
    assert key not in _stored(origin.path)


def test_a_submodules_plan_says_what_the_superproject_needs(tmp_path: Path) -> None:
    """Review h9a #7: the superproject's gitlink named a commit the rewrite replaced; the
    plan never said so. It now prints the lookup of the rewritten commit (run here)."""
    import re

    from tests.test_remedy_plan_paths import _library, _superproject_with

    assert HAS_FILTER_REPO, "git-filter-repo is missing: pip install -e '.[test]'"
    server = _library(tmp_path, moonshot_key())
    app = _superproject_with(tmp_path, server)
    sub = app.path / "vendor" / "lib"
    old = app.git("rev-parse", "HEAD:vendor/lib").strip()
    run = run_cli("history", cwd=sub)
    assert run.code == 1, run.all
    assert "is the submodule vendor/lib of" in run.out, run.out
    new = ""
    for command in plan_commands(run.out):
        done = run_ok(command, sub)
        if command.startswith("awk "):
            new = done.out.strip()
    assert re.fullmatch(r"[0-9a-f]{40}", new), new
    assert new != old
    assert git(server, "cat-file", "-t", new).strip() == "commit"


def test_a_push_url_that_disables_pushing_leaves_the_fetch_url_to_rewrite(
    tmp_path: Path,
) -> None:
    """`pushurl = no_push` names no repository: the plan rewrites the fetch URL."""
    work, _primary, readmirror, key = _two_servers(tmp_path)
    work.git("remote", "add", "origin", str(readmirror))
    work.git("remote", "set-url", "--push", "origin", "no_push")
    work.git("fetch", "-q", "origin")
    out = _paste(work.path)
    assert f"git clone --mirror {readmirror} " in out, out
    assert key not in _stored(readmirror)
