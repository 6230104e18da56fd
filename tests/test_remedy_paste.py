"""Plans pasted where users paste them (review 8): a key in one stash entry among others, a
key in an annotated tag's message, a gate's plan pasted from a subdirectory, and a key whose
contexts disagree on its console. Each printed command runs here as printed."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.gitrepo import GitRepo, run_cli
from tests.keygen import moonshot_key
from tests.remotes import install_hook, with_origin
from tests.test_remedy import plan_commands, run_ok, sh


def _stored_objects_hold(repo: GitRepo, text: str) -> bool:
    out = repo.git("cat-file", "--batch-all-objects", "--batch=%(objecttype)")
    return text in out


def test_key_in_one_stash_entry_drops_that_entry_only(repo: GitRepo) -> None:
    # The clean-up was `stash clear && reflog expire --expire=now --all && gc --prune=now`:
    # every stash entry (the user's unrelated work) gone for good, without a word.
    repo.commit_file("README.md", "# app\n", "start")
    key = moonshot_key()
    repo.write(".env", f"MOONSHOT_API_KEY={key}\n")
    repo.add(".env")
    repo.git("stash", "-q")  # stash@{2} after the two below: the key
    repo.write("README.md", "# app\nunrelated work\n")
    repo.git("stash", "-q", "-m", "WIP: my work")
    repo.write("README.md", "# app\nmore work\n")
    repo.git("stash", "-q", "-m", "WIP: more")
    repo.write(".env", f"MOONSHOT_API_KEY={key}\nOTHER=1\n")
    repo.add(".env")
    repo.git("stash", "-q", "-m", "the key again")  # stash@{0}: the key too
    run = run_cli("history", cwd=repo.path)
    assert run.code == 1
    assert "stash@{0}, stash@{3}" in run.out
    (clear,) = [c for c in plan_commands(run.out) if "stash drop" in c]
    assert "stash clear" not in clear and "--expire=now" not in clear
    run_ok(clear, Path("/"))
    entries = repo.git("stash", "list")
    assert "WIP: my work" in entries and "WIP: more" in entries
    assert entries.count("\n") == 2
    assert not _stored_objects_hold(repo, key)
    assert run_cli("history", cwd=repo.path).code == 0


def test_stash_drop_checks_the_entry_before_dropping(repo: GitRepo) -> None:
    """A stash made after the scan moves the positions: the printed drop then fails and
    drops nothing, rather than another entry."""
    repo.commit_file("README.md", "# app\n", "start")
    repo.write(".env", f"MOONSHOT_API_KEY={moonshot_key()}\n")
    repo.add(".env")
    repo.git("stash", "-q")
    repo.write("README.md", "# app\nwork\n")
    repo.git("stash", "-q", "-m", "WIP: my work")
    run = run_cli("history", cwd=repo.path)
    (clear,) = [c for c in plan_commands(run.out) if "stash drop" in c]
    repo.write("README.md", "# app\nnewer work\n")
    repo.git("stash", "-q", "-m", "WIP: newer")
    assert sh(clear, repo.path).code != 0
    assert repo.git("stash", "list").count("\n") == 3


# -- a key in an annotated tag -------------------------------------------------------------


def _tag_commands(out: str) -> list[str]:
    return [c for c in plan_commands(out) if c.startswith("git tag ")]


def test_pre_receive_plan_for_a_key_in_a_tag_message_re_creates_the_tag(tmp_path: Path) -> None:
    # The plan called the tag object a commit (`Take the keys out of commits <commit>,
    # <tag>`) and never said to make the tag again: pasted, `git push origin main v1` was
    # rejected again, v1 still naming the old commit and holding the key.
    server = GitRepo(tmp_path / "server.git", bare=True)
    install_hook(server.path, "pre-receive", "#!/bin/sh\nexec kimi-secret-scan pre-receive\n")
    work = GitRepo(tmp_path / "work")
    work.git("remote", "add", "origin", str(server.path))
    work.commit_file("README.md", "# app\n", "start")
    run_ok("git push -q origin main", work.path)
    work.commit_file("my app.env", f"MOONSHOT_API_KEY={moonshot_key()}\n", "config")
    work.git("tag", "-a", "v1", "-m", f"release, base https://api.moonshot.cn/v1 {moonshot_key()}")
    tag = work.git("rev-parse", "v1").strip()
    told = sh("git push origin main v1", work.path).all
    # What the pusher reads: git prefixes the hook's lines with `remote: ` and pads them.
    out = "\n".join(re.sub(r"^remote: ?", "", line).rstrip() for line in told.splitlines())
    assert "annotated tag v1" in out
    (redo,) = [line for line in out.splitlines() if "Take the key" in line]
    assert tag[:12] not in redo  # the tag object is no commit to redo
    assert len(_tag_commands(out)) == 1
    for command in plan_commands(out):
        run_ok(command, work.path)
    pushed = sh("git push origin main v1", work.path)
    assert pushed.code == 0, pushed.all
    assert server.git("rev-parse", "v1^{}") == work.git("rev-parse", "main")


def test_pre_push_plan_for_a_key_in_a_tag_message_only(tmp_path: Path) -> None:
    """The tag names a commit already pushed: made again on that same commit."""
    origin, work = with_origin(tmp_path)
    work.commit_file("README.md", "# app\n", "start")
    work.commit_file("b.txt", "b\n", "two")
    work.git("push", "-q", "origin", "main")
    work.git("tag", "-a", "v2", "-m", f"key {moonshot_key()}", "HEAD~1")
    install_hook(work.path / ".git", "pre-push", '#!/bin/sh\nexec kimi-secret-scan pre-push "$@"\n')
    out = sh("git push origin v2", work.path).all
    assert "Take the key" not in out  # no commit to redo
    cmds = plan_commands(out)
    assert cmds == _tag_commands(out) and len(cmds) == 1
    run_ok(cmds[0], work.path)
    run_ok("git push origin v2", work.path)
    assert origin.git("rev-parse", "v2^{}") == work.git("rev-parse", "HEAD~1")


def test_range_plan_for_a_key_in_a_pushed_tag_force_pushes_it(tmp_path: Path) -> None:
    origin, work = with_origin(tmp_path)
    work.commit_file("README.md", "# app\n", "start")
    work.git("push", "-q", "origin", "main")
    work.commit_file("b.txt", "b\n", "two")
    work.git("tag", "-a", "v1", "-m", f"key {moonshot_key()}")
    work.git("push", "-q", "origin", "main", "v1")
    run = run_cli("range", "origin/main~1..v1", cwd=work.path)
    assert run.code == 1
    assert "`git push --force origin v1`" in run.out
    (command,) = _tag_commands(run.out)
    run_ok(command, work.path)
    run_ok("git push --force origin v1", work.path)
    assert run_cli("range", "origin/main~1..v1", cwd=work.path).code == 0
    assert origin.git("rev-parse", "v1^{}") == work.git("rev-parse", "main")


# -- pasted from a subdirectory --------------------------------------------------------------


def test_staged_plan_pasted_in_the_subdirectory_of_the_commit(repo: GitRepo) -> None:
    # The hook runs at the top level and names paths from there; the user pastes where they
    # typed `git commit`: `printf … >> .gitignore` wrote app/.gitignore (matching
    # app/app/.env), then `git rm --cached -- app/.env` failed (exit 128).
    repo.commit_file("README.md", "# app\n", "start")
    repo.write("app/.env", f"MOONSHOT_API_KEY={moonshot_key()}\n")
    repo.write("app/client.py", f'KEY = "{moonshot_key()}"  # https://api.moonshot.cn/v1\n')
    repo.add()
    sub = repo.path / "app"
    run = run_cli("staged", cwd=sub)
    assert run.code == 1, run.all
    sub.joinpath("client.py").write_text('import os\nKEY = os.environ["MOONSHOT_API_KEY"]\n')
    cmds = plan_commands(run.out)
    assert len(cmds) == 2
    for command in cmds:
        run_ok(command, sub)
    assert not (sub / ".gitignore").exists()
    assert repo.git("check-ignore", "app/.env").strip() == "app/.env"
    assert repo.git("ls-files", "--", "app/.env") == ""
    assert run_cli("staged", cwd=sub).code == 0


def test_history_step_2_pasted_in_a_subdirectory(repo: GitRepo) -> None:
    """docs/after-a-leak.md: each command works pasted from any directory."""
    repo.commit_file("README.md", "# app\n", "start")
    repo.write(".env", f"MOONSHOT_API_KEY={moonshot_key()}\n")
    repo.write("src/client.py", f'KEY = "{moonshot_key()}"  # https://api.moonshot.cn/v1\n')
    repo.add()
    repo.commit("app")
    sub = repo.path / "src"
    run = run_cli("history", cwd=sub)
    assert run.code == 1, run.all
    step2 = run.out.split("Step 2.", 1)[1].split("Step 3.", 1)[0]
    cmds = plan_commands(step2)
    assert len(cmds) == 2, step2
    sub.joinpath("client.py").write_text('import os\nKEY = os.environ["MOONSHOT_API_KEY"]\n')
    for command in cmds:
        run_ok(command, sub)
    assert not (sub / ".gitignore").exists()
    assert repo.git("check-ignore", ".env").strip() == ".env"
    repo.commit("read the key from the environment")
    assert "src/client.py" not in repo.git("ls-files", "--modified")
    assert run_cli("staged", cwd=sub).code == 0


# -- a key in a file name: where it is -------------------------------------------------------


def test_history_locates_a_key_in_a_file_name(repo: GitRepo) -> None:
    # Found in the list of path names, which no commit carries: the report said "on no ref",
    # "not in the current HEAD tree", commit null, while HEAD held dir/<key>.txt.
    repo.commit_file("README.md", "# app\n", "start")
    key = moonshot_key()
    added = repo.commit_file(f"dir/{key}.txt", "data\n", "fixture")
    repo.commit_file("README.md", "# app\nmore\n", "more")
    repo.git("tag", "v1")
    run = run_cli("history", "--format", "json", cwd=repo.path)
    assert run.code == 1, run.all
    (g,) = json.loads(run.out)["groups"]
    assert g["first_appearance"]["commit"] == added
    assert g["refs"] == ["refs/heads/main", "refs/tags/v1"]
    assert g["in_head"] is True
    assert key not in run.out
    text = run_cli("history", cwd=repo.path).out
    assert "on no ref" not in text and "(in its name)" in text
    assert key not in text


def test_one_key_whose_contexts_disagree_names_every_console(repo: GitRepo) -> None:
    # Sent to api.moonshot.ai in one file, beside api.moonshot.cn in another: the plan names
    # both platform consoles. Beside the Kimi Code endpoint in a third, it is still an Open
    # Platform key (every Kimi Code key is sk-kimi- + 64): the plan once sent its user to
    # the Kimi Code console alone, and said the key is not on the platform.
    key = moonshot_key()
    repo.write(
        "intl.sh", f'curl https://api.moonshot.ai/v1/models -H "Authorization: Bearer {key}"\n'
    )
    repo.write("cn.env", f"MOONSHOT_BASE_URL=https://api.moonshot.cn/v1\nMOONSHOT_API_KEY={key}\n")
    repo.write("code.env", f"KIMI_BASE_URL=https://api.kimi.com/coding/v1\nKIMI_API_KEY={key}\n")
    repo.add()
    repo.commit("k")
    out = run_cli("history", cwd=repo.path).out
    plan = out.split("Step 2.", 1)[0]
    assert "https://platform.moonshot.ai/console/api-keys" in plan
    assert "https://platform.moonshot.cn/console/api-keys" in plan
    assert "(region unknown)" in plan and "Kimi Code key" not in plan
    assert "not managed on platform.moonshot" not in plan


def test_history_locates_a_key_in_a_tree_a_tag_names(repo: GitRepo) -> None:
    """`git tag t <tree>`: no commit adds the file; the tag is where it is reachable from
    (it said "on no ref")."""
    repo.commit_file("README.md", "# app\n", "start")
    blob = repo.git(
        "hash-object", "-w", "--stdin", input=f"MOONSHOT_API_KEY={moonshot_key()}\n".encode()
    ).strip()
    tree = repo.git("mktree", input=f"100644 blob {blob}\tsecret.env\n".encode()).strip()
    repo.git("tag", "treetag", tree)
    repo.git("tag", "-a", "-m", "a tree", "annotated", tree)
    run = run_cli("history", "--format", "json", cwd=repo.path)
    assert run.code == 1, run.all
    (g,) = json.loads(run.out)["groups"]
    assert g["refs"] == ["refs/tags/annotated", "refs/tags/treetag"]


def test_reflog_clear_with_a_branch_that_has_no_reflog(repo: GitRepo) -> None:
    """`git reflog expire` fails on a ref without a reflog (a branch made with
    core.logAllRefUpdates=false): such refs are left out of the printed command."""
    repo.commit_file("README.md", "# app\n", "start")
    repo.git("-c", "core.logAllRefUpdates=false", "branch", "nolog")
    repo.commit_file("client.py", f'KEY = "{moonshot_key()}"  # api.moonshot.cn\n', "oops")
    repo.git("reset", "-q", "--hard", "HEAD~1")
    run = run_cli("history", cwd=repo.path)
    assert run.code == 1, run.all
    (clear,) = [c for c in plan_commands(run.out) if "reflog expire" in c]
    assert "refs/heads/nolog" not in clear
    run_ok(clear, Path("/"))
    assert run_cli("history", cwd=repo.path).code == 0
