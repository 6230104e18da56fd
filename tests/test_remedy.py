"""After a leak (issue 12): every command a plan prints is run here, as printed, in the
situation it is printed for; and the plan of each stage says each thing once, without
contradicting itself.

Commands are taken from the real CLI output: the lines of a plan that start with `$ ` (and,
in error messages, the text between backticks). They run in bash, from the directory the
user would be in, with this interpreter's bin (kimi-secret-scan, git-filter-repo) on PATH.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.gitrepo import GitRepo, Run, git, run_cli
from tests.keygen import kimi_code_key, moonshot_key
from tests.remotes import cloned, install_hook, scanner_path_env, with_origin
from tests.test_precommit_hook import hooks_repo  # noqa: F401 (a fixture)

WAY_OUT = "Not a real key"
HAS_FILTER_REPO = shutil.which("git-filter-repo", path=scanner_path_env()["PATH"]) is not None


def commands(text: str) -> list[str]:
    """The commands of a plan, in order: each `$ ` line."""
    return [m.group(1) for m in re.finditer(r"^\s*\$ (.+)$", text, flags=re.M)]


def plan_commands(text: str) -> list[str]:
    """The plan's commands, without those of the false-positive block after it."""
    return commands(text.split(WAY_OUT, 1)[0])


def way_out_commands(text: str) -> list[str]:
    return commands(text.split(WAY_OUT, 1)[1]) if WAY_OUT in text else []


def sh(command: str, cwd: Path, env: dict[str, str] | None = None) -> Run:
    full = dict(os.environ)
    full.update(scanner_path_env())
    full.pop("NO_COLOR", None)
    if env:
        full.update(env)
    proc = subprocess.run(
        ["bash", "-c", command], cwd=cwd, env=full, capture_output=True, check=False
    )
    return Run(
        proc.returncode,
        proc.stdout.decode("utf-8", "replace"),
        proc.stderr.decode("utf-8", "replace"),
    )


def run_ok(command: str, cwd: Path, env: dict[str, str] | None = None) -> Run:
    run = sh(command, cwd, env)
    assert run.code == 0, f"{command}\n{run.all}"
    return run


def no_contradiction(text: str) -> None:
    """What the issue found said in the same breath."""
    lowered = text.lower()
    assert "never reached a commit" not in lowered
    assert "revoke any key that was shared elsewhere" not in lowered
    assert "nothing reached the remote" not in lowered
    assert ", now" not in lowered


# -- staged: three keys, one plan ----------------------------------------------------------


def _three_keys(repo: GitRepo) -> dict[str, str]:
    repo.commit_file("README.md", "# app\n", "start")
    repo.commit_file(".gitignore", "/build", "ignore the build (no final newline)")
    keys = {".env": moonshot_key(), "client.py": kimi_code_key(), "cn.py": moonshot_key()}
    repo.write(".env", f"MOONSHOT_API_KEY={keys['.env']}\n")
    repo.write("client.py", f'import os\nKIMI_API_KEY = "{keys["client.py"]}"\n')
    repo.write(
        "cn.py",
        f'client = OpenAI(base_url="https://api.moonshot.cn/v1", api_key="{keys["cn.py"]}")\n',
    )
    repo.add()
    return keys


def test_staged_three_keys_one_plan_each_step_once(repo: GitRepo) -> None:
    _three_keys(repo)
    run = run_cli("staged", cwd=repo.path)
    assert run.code == 1, run.all
    out = run.out
    no_contradiction(out)
    # Not published: revoking is discussed once, with each console once, and not ordered.
    assert out.count("Revoke?") == 1
    assert "Nothing has left this machine through git yet" in out
    assert "Create a new key" not in out
    assert out.count("What to do") == 1
    # The files are named once per way of fixing them.
    assert out.count("read the key from the environment") == 1
    assert "In client.py, cn.py: read the key from the environment" in out
    # The .env is where the variable is set: keep the value, stop tracking the file.
    assert "In .env" not in out and ".env, client.py" not in out
    assert ".env is where the variable is set" in out
    assert "git rm --cached -q -- .env" in out


def test_staged_plan_commands_run_as_printed(repo: GitRepo) -> None:
    keys = _three_keys(repo)
    run = run_cli("staged", cwd=repo.path)
    assert run.code == 1, run.all
    # The edit the plan asks for: the code reads the environment.
    repo.write("client.py", 'import os\nKIMI_API_KEY = os.environ["KIMI_API_KEY"]\n')
    repo.write("cn.py", 'client = OpenAI(api_key=os.environ["MOONSHOT_API_KEY"])\n')
    cmds = plan_commands(run.out)
    top = 'cd "$(git rev-parse --show-toplevel)" && '
    assert cmds == [
        top + "git add -- client.py cn.py",
        top + "printf '\\n%s\\n' /.env >> .gitignore && git rm --cached -q -- .env "
        "&& git add .gitignore",
    ]
    for command in cmds:
        run_ok(command, repo.path)
    after = run_cli("staged", cwd=repo.path)
    assert after.code == 0, after.all
    # The value stays where it is set; git no longer tracks or offers the file.
    assert keys[".env"] in (repo.path / ".env").read_text()
    assert repo.git("ls-files", "--", ".env") == ""
    assert repo.git("check-ignore", ".env", "build").split() == [".env", "build"]
    repo.commit("read the keys from the environment")
    assert run_cli("history", cwd=repo.path).code == 0


def test_staged_example_file_gets_a_placeholder(repo: GitRepo) -> None:
    repo.commit_file("README.md", "# app\n", "start")
    repo.write(".env.example", f"MOONSHOT_API_KEY={moonshot_key()}\n")
    repo.add()
    out = run_cli("staged", cwd=repo.path).out
    assert "In .env.example: an example file shows the shape" in out
    assert "git rm --cached" not in out


# -- the way out of a false positive -------------------------------------------------------


def test_false_positive_baseline_add_as_printed(repo: GitRepo) -> None:
    repo.commit_file("README.md", "# app\n", "start")
    repo.write("tests/fixture.py", f'FAKE = "{kimi_code_key()}"\n')
    repo.add()
    run = run_cli("staged", cwd=repo.path)
    assert run.code == 1
    (add,) = way_out_commands(run.out)
    assert add.startswith("kimi-secret-scan baseline add --hash ")
    added = run_ok(add, repo.path)
    assert "added 1 entry to .kimi-secret-scan-baseline.toml" in added.out
    text = (repo.path / ".kimi-secret-scan-baseline.toml").read_text()
    assert 'status = "false-positive"' in text and 'reason = "not a real key"' in text
    assert run_cli("staged", cwd=repo.path).code == 0


def test_false_positive_inline_comment_as_printed(repo: GitRepo) -> None:
    repo.commit_file("README.md", "# app\n", "start")
    repo.write("tests/fixture.py", f'FAKE = "{kimi_code_key()}"\n')
    repo.write("fixture.env", f"MOONSHOT_API_KEY={moonshot_key()}\n")
    repo.add()
    run = run_cli("staged", cwd=repo.path)
    assert run.code == 1
    hints = re.findall(
        r"- in (\S+), add `([^`]+)` (on a new line just before|at the end of) "
        r"line (\d+)",
        run.out,
    )
    assert {(path, text) for path, text, _, _ in hints} == {
        ("tests/fixture.py", "# kimi-secret-scan: allow"),
        ("fixture.env", "# kimi-secret-scan: allow-next-line"),
    }
    for path, text, where, number in hints:
        lines = (repo.path / path).read_text().splitlines()
        i = int(number) - 1
        if where == "at the end of":
            lines[i] += "  " + text
        else:
            lines.insert(i, text)
        repo.write(path, "\n".join(lines) + "\n")
    repo.add()
    assert run_cli("staged", cwd=repo.path).code == 0


def test_baseline_add_refuses_what_is_not_a_hash(repo: GitRepo) -> None:
    key = kimi_code_key()
    run = run_cli("baseline", "add", "--hash", key, "--reason", "x", cwd=repo.path)
    assert run.code == 2
    assert key not in run.all
    assert not (repo.path / ".kimi-secret-scan-baseline.toml").exists()


# -- commit-msg and pre-push: not published ------------------------------------------------


def test_commit_msg_plan_does_not_contradict_itself(tmp_path: Path) -> None:
    (tmp_path / "MSG").write_text(f"Fix\n\nUsed {kimi_code_key()}\n")
    run = run_cli("commit-msg", "MSG", cwd=tmp_path)
    assert run.code == 1
    no_contradiction(run.out)
    assert "The commit was not made" in run.out
    assert run.out.count("Revoke?") == 1
    assert plan_commands(run.out) == []


def _pre_push_repo(tmp_path: Path) -> tuple[GitRepo, GitRepo, str]:
    origin, work = with_origin(tmp_path)
    work.commit_file("README.md", "# app\n", "start")
    work.git("push", "-q", "origin", "main")
    key = kimi_code_key()
    work.commit_file("client.py", f'KIMI_API_KEY = "{key}"\n', "client")
    work.commit_file("other.txt", "more\n", "more")
    install_hook(work.path / ".git", "pre-push", '#!/bin/sh\nexec kimi-secret-scan pre-push "$@"\n')
    return origin, work, key


def test_pre_push_plan_runs_as_printed(tmp_path: Path) -> None:
    origin, work, key = _pre_push_repo(tmp_path)
    keyed = work.git("rev-parse", "HEAD~1").strip()
    blocked = sh("git push origin main", work.path)
    assert blocked.code != 0
    out = blocked.all
    no_contradiction(out)
    assert out.count("Revoke?") == 1 and "has none of these commits" in out
    assert f"Take the key out of commit {keyed[:12]}" in out
    work.write("client.py", 'import os\nKIMI_API_KEY = os.environ["KIMI_API_KEY"]\n')
    cmds = plan_commands(out)
    assert cmds == [
        'cd "$(git rev-parse --show-toplevel)" && git add -- client.py',
        f"git reset --soft {keyed[:12]}^",
        f"git commit -q -C {keyed[:12]}",
    ]
    for command in cmds:
        run_ok(command, work.path)
    run_ok("git push origin main", work.path)
    audit = run_cli("history", "--repo", str(origin.path), cwd=tmp_path)
    assert audit.code == 0, audit.all
    assert key not in (work.path / "other.txt").read_text()


def test_pre_push_amend_form_in_the_text_works(tmp_path: Path) -> None:
    """The text also offers `git commit --amend --no-edit` when the key is in the last
    commit: it works too."""
    _origin, work = with_origin(tmp_path)
    work.commit_file("README.md", "# app\n", "start")
    work.git("push", "-q", "origin", "main")
    work.commit_file("client.py", f'KIMI_API_KEY = "{kimi_code_key()}"\n', "client")
    install_hook(work.path / ".git", "pre-push", '#!/bin/sh\nexec kimi-secret-scan pre-push "$@"\n')
    out = sh("git push origin main", work.path).all
    assert "`git commit --amend --no-edit` does the same" in out
    work.write("client.py", 'import os\nKIMI_API_KEY = os.environ["KIMI_API_KEY"]\n')
    run_ok(plan_commands(out)[0], work.path)
    run_ok("git commit --amend --no-edit", work.path)
    run_ok("git push origin main", work.path)


def test_pre_push_root_commit_plan_runs_as_printed(tmp_path: Path) -> None:
    """The first push of a new repository: the key is in the root commit, which has no
    parent to reset to."""
    origin, work = with_origin(tmp_path)
    work.commit_file(".env", f"MOONSHOT_API_KEY={moonshot_key()}\n", "first")
    work.commit_file("app.py", "print(1)\n", "app")
    install_hook(work.path / ".git", "pre-push", '#!/bin/sh\nexec kimi-secret-scan pre-push "$@"\n')
    out = sh("git push origin main", work.path).all
    cmds = plan_commands(out)
    assert "git update-ref -d HEAD" in cmds
    for command in cmds:
        run_ok(command, work.path)
    run_ok("git push origin main", work.path)
    assert run_cli("history", "--repo", str(origin.path), cwd=tmp_path).code == 0
    assert (work.path / ".env").exists()


# -- published: range / ci / pre-receive ---------------------------------------------------


def test_range_plan_revokes_first_and_runs_as_printed(tmp_path: Path) -> None:
    _origin, work = with_origin(tmp_path)
    work.commit_file("README.md", "# app\n", "start")
    work.git("push", "-q", "origin", "main")
    work.git("checkout", "-q", "-b", "feature")
    work.commit_file("client.py", f'KIMI_API_KEY = "{kimi_code_key()}"\n', "client")
    keyed = work.head()
    work.git("push", "-q", "-u", "origin", "feature")
    run = run_cli("range", "origin/main..HEAD", cwd=work.path)
    assert run.code == 1
    out = run.out
    no_contradiction(out)
    assert "Revoke?" not in out
    first = out.index("Revoke and rotate every key, first")
    assert first < out.index("read the key from the environment") < out.index("git reset")
    work.write("client.py", 'import os\nKIMI_API_KEY = os.environ["KIMI_API_KEY"]\n')
    cmds = plan_commands(out)
    assert cmds[-1] == "kimi-secret-scan history"
    for command in cmds[:-1]:
        run_ok(command, work.path)
    assert "(`git push --force-with-lease`)" in out
    run_ok("git push --force-with-lease", work.path)
    assert run_cli("range", "origin/main..HEAD", cwd=work.path).code == 0
    assert keyed not in work.git("rev-list", "--all")
    # The last step, as printed: the full audit still finds the old commit in the reflog.
    audit = sh(cmds[-1], work.path)
    assert audit.code == 1 and "purge history" in audit.out


def test_pre_receive_plan_revokes_first(tmp_path: Path) -> None:
    server = GitRepo(tmp_path / "server.git", bare=True)
    install_hook(server.path, "pre-receive", "#!/bin/sh\nexec kimi-secret-scan pre-receive\n")
    work = GitRepo(tmp_path / "work")
    work.commit_file("client.py", f'KIMI_API_KEY = "{kimi_code_key()}"\n', "client")
    pushed = sh(f"git push {server.path} main", work.path)
    assert pushed.code != 0
    no_contradiction(pushed.all)
    assert "Revoke and rotate every key, first" in pushed.all
    assert "nothing was stored" in pushed.err


# -- fetch hints ---------------------------------------------------------------------------


def _hint(run: Run) -> str:
    (command,) = [c for c in re.findall(r"`([^`]+)`", run.err) if c.startswith("git fetch")]
    return command


@pytest.fixture
def upstream(tmp_path: Path) -> GitRepo:
    up = GitRepo(tmp_path / "up")
    for n in range(3):
        up.commit_file(f"f{n}.txt", f"{n}\n", f"c{n}")
    up.git("checkout", "-q", "-b", "feature")
    up.commit_file("x.txt", "x\n", "feature 1")
    up.commit_file("y.txt", "y\n", "feature 2")
    return up


def test_missing_remote_tracking_base_fetch_hint_works(upstream: GitRepo, tmp_path: Path) -> None:
    clone = cloned(f"file://{upstream.path}", tmp_path / "c", "--single-branch", "-b", "feature")
    run = run_cli("range", "origin/main..HEAD", cwd=clone.path)
    assert run.code == 2
    assert "git fetch origin origin/main" not in run.err
    run_ok(_hint(run), clone.path)
    assert run_cli("range", "origin/main..HEAD", cwd=clone.path).code == 0


@pytest.mark.parametrize("base", ["origin/main", "HEAD~2"])
def test_shallow_clone_fetch_hint_works(upstream: GitRepo, tmp_path: Path, base: str) -> None:
    clone = cloned(
        f"file://{upstream.path}",
        tmp_path / "c",
        "--depth",
        "1",
        "--single-branch",
        "-b",
        "feature",
    )
    run = run_cli("range", f"{base}..HEAD", cwd=clone.path)
    assert run.code == 2
    hint = _hint(run)
    assert hint != f"git fetch origin {base}"
    run_ok(hint, clone.path)
    after = run_cli("range", f"{base}..HEAD", cwd=clone.path)
    assert after.code == 0, after.all


def test_history_in_a_shallow_clone_exits_2_and_its_hint_works(
    upstream: GitRepo, tmp_path: Path
) -> None:
    clone = cloned(f"file://{upstream.path}", tmp_path / "c", "--depth", "1")
    run = run_cli("history", cwd=clone.path)
    assert run.code == 2, run.all
    assert "--allow-shallow" in run.out
    assert run_cli("history", "--allow-shallow", cwd=clone.path).code == 0
    (hint,) = [c for c in re.findall(r"`([^`]+)`", run.out) if c.startswith("git fetch")]
    run_ok(hint, clone.path)
    assert run_cli("history", cwd=clone.path).code == 0


# -- the purge, end to end -------------------------------------------------------------------


def test_purge_recipe_runs_as_printed_and_the_key_is_gone_everywhere(tmp_path: Path) -> None:
    # Never skipped: the test extra installs git-filter-repo, and a missing one is a failure.
    assert HAS_FILTER_REPO, "git-filter-repo is missing: pip install -e '.[test]'"
    origin, work = with_origin(tmp_path)
    env_key, code_key, message_key = moonshot_key(), kimi_code_key(), kimi_code_key()
    work.commit_file("README.md", "# service\n", "start")
    work.commit_file(".env", f"MOONSHOT_API_KEY={env_key}\n", "add env")
    env_commit = work.head()
    work.git("rm", "-q", ".env")
    work.commit("remove env")
    work.commit_file("client.py", f'KIMI_API_KEY = "{code_key}"\n', "client")
    work.commit_file("notes.txt", "n\n", f"notes\n\ntested with {message_key}")
    work.git("push", "-q", "origin", "main")
    old_blob = work.git("rev-parse", f"{env_commit}:.env").strip()
    assert git(origin.path, "cat-file", "-p", old_blob)

    run = run_cli("history", cwd=work.path)
    assert run.code == 1, run.all
    out = run.out
    assert out.count("$ ") == len(commands(out))
    cmds = plan_commands(out)
    # Step 2 first: fix the current file, commit and push, so the mirror has the fix.
    work.write("client.py", 'import os\nKIMI_API_KEY = os.environ["KIMI_API_KEY"]\n')
    assert cmds[0] == f"cd {work.path} && git add -- client.py"
    run_ok(cmds[0], work.path)
    work.commit("read the key from the environment")
    work.git("push", "-q", "origin", "main")

    purge = cmds[1:]
    mirror = tmp_path / "work-purge.git"
    replacements = tmp_path / "work-kimi-replacements.txt"
    clean = tmp_path / "work-clean"
    assert purge == [
        f"kimi-secret-scan history --repo {work.path} --write-replacements {replacements}",
        f"git clone --mirror {origin.path} {mirror}",
        f"git -C {mirror} update-ref -d refs/stash",
        f"git -C {mirror} filter-repo --sensitive-data-removal --replace-text {replacements} "
        f"--replace-message {replacements}",
        f"kimi-secret-scan history --repo {mirror}",
        f"git -C {mirror} push --force --mirror origin",
        f"git -C {origin.path} reflog expire --expire=now --all && "
        f"git -C {origin.path} gc --prune=now",
        f"kimi-secret-scan history --repo {origin.path}",
        f"git clone {origin.path} {clean}",
        f"rm -f {replacements} && rm -rf {mirror}",
    ]
    for command in purge:
        # From the working copy, where the audit ran; nothing lands inside it.
        run_ok(command, work.path)
    assert work.git("status", "--porcelain", "--ignored") == ""
    assert not replacements.exists() and not mirror.exists()
    # The remote, the fresh clone: clean, and the old blob is gone from the server.
    for repo in (origin.path, clean):
        audit = run_cli("history", "--repo", str(repo), cwd=tmp_path)
        assert audit.code == 0, audit.all
    gone = sh(f"git cat-file -p {old_blob}", origin.path)
    assert gone.code != 0 and env_key not in gone.all
    assert code_key not in git(origin.path, "log", "-p", "--all")
    assert message_key not in git(origin.path, "log", "--all")
    assert "***REMOVED-KIMI-KEY***" in git(clean, "log", "--all")
    assert (clean / "client.py").read_text().startswith("import os")


def test_purge_plan_for_hosts_the_tests_cannot_reach(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.commit_file("client.py", f'KIMI_API_KEY = "{kimi_code_key()}"\n', "client")
    for url, expected in [
        ("https://github.com/acme/app.git", "https://support.github.com/contact"),
        ("git@gitlab.com:acme/app.git", "Repository cleanup"),
        ("ssh://git@git.example.org/srv/git/app.git", "/srv/git/app.git"),
    ]:
        if "origin" in repo.git("remote").split():
            repo.git("remote", "remove", "origin")
        repo.git("remote", "add", "origin", url)
        out = run_cli("history", cwd=repo.path).out
        assert expected in out, out
        assert f"$ git clone --mirror {url} {tmp_path / 'repo-purge.git'}" in out
        assert "docs/after-a-leak.md" in out


def test_server_side_prune_as_printed_for_an_ssh_remote(tmp_path: Path) -> None:
    """For a remote the tests cannot reach, the prune is printed to run in the server's
    repository directory: run here in a bare repository, it removes the old blob."""
    repo = GitRepo(tmp_path / "repo")
    repo.commit_file("client.py", f'KIMI_API_KEY = "{kimi_code_key()}"\n', "client")
    repo.git("remote", "add", "origin", "ssh://git@git.example.org/srv/git/app.git")
    out = run_cli("history", cwd=repo.path).out
    (prune,) = [c for c in re.findall(r"`([^`]+)`", out) if c.startswith("git reflog expire")]
    server = GitRepo(tmp_path / "server.git", bare=True)
    blob = repo.git("rev-parse", "HEAD:client.py").strip()
    repo.git("push", "-q", str(server.path), "main")
    repo.git("checkout", "-q", "--orphan", "clean")
    repo.git("rm", "-q", "-r", "--cached", ".")
    repo.commit_file("README.md", "clean\n", "clean")
    repo.git("push", "-q", "--force", str(server.path), "clean:main")
    run_ok(prune, server.path)
    assert sh(f"git cat-file -p {blob}", server.path).code != 0


def test_write_replacements_then_paths_are_absolute(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.commit_file("client.py", f'KIMI_API_KEY = "{kimi_code_key()}"\n', "client")
    sub = repo.path / "sub"
    sub.mkdir()
    run = run_cli("history", "--write-replacements", "../../out.txt", cwd=sub)
    assert run.code == 0, run.all
    target = (tmp_path / "out.txt").resolve()
    assert f"to {target} (mode 0600)" in run.out
    assert target.read_text().endswith("\n")


# -- under pre-commit: SKIP= ----------------------------------------------------------------


def test_pre_commit_skip_as_printed(repo: GitRepo, hooks_repo: tuple[Path, str]) -> None:  # noqa: F811
    from tests.test_precommit_hook import _config, _env, pre_commit

    hooks_path, rev = hooks_repo
    repo.write(".pre-commit-config.yaml", _config(hooks_path, rev))
    repo.add(".pre-commit-config.yaml")
    repo.commit("add pre-commit")
    installed = pre_commit("install", "--hook-type", "pre-commit", cwd=repo.path)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    repo.write("tests/fixture.py", f'FAKE = "{kimi_code_key()}"\n')
    repo.add()
    env = _env()
    env.pop("PRE_COMMIT", None)
    # The message comes from the editor, as for any `git commit` without -m.
    env["GIT_EDITOR"] = "printf 'add a fixture\\n' >"
    blocked = sh("git commit", repo.path, env)
    assert blocked.code != 0
    (skip, _) = reversed(way_out_commands(blocked.all))
    assert skip == "SKIP=kimi-secret-scan git commit"
    start = repo.head()
    run_ok(skip, repo.path, env)
    assert repo.head() != start
    # Outside pre-commit, `SKIP=` would do nothing: it is not offered.
    repo.write("tests/other.py", f'FAKE = "{kimi_code_key()}"\n')
    repo.add()
    assert "SKIP=" not in run_cli("staged", cwd=repo.path).out


def _docs_block(containing: str) -> str:
    """The ```sh block of docs/after-a-leak.md that holds `containing` (exactly one)."""
    text = (Path(__file__).resolve().parents[1] / "docs" / "after-a-leak.md").read_text()
    (block,) = [b for b in re.findall(r"```sh\n(.*?)```", text, flags=re.S) if containing in b]
    return block


def test_documented_shallow_clone_commands_run(upstream: GitRepo, tmp_path: Path) -> None:
    lines = [line for line in _docs_block("--allow-shallow").splitlines() if line.strip()]
    assert len(lines) == 2
    # Each documented line is a way out of exit 2: run each in its own fresh shallow clone.
    for n, line in enumerate(lines):
        fresh = cloned(f"file://{upstream.path}", tmp_path / f"c{n}", "--depth", "1")
        assert run_cli("history", cwd=fresh.path).code == 2
        run_ok(line, fresh.path)  # the audit with --allow-shallow exits 0 here
        if line.startswith("git fetch"):
            assert run_cli("history", cwd=fresh.path).code == 0


def test_false_positive_baseline_add_as_printed_by_pre_push_and_range(tmp_path: Path) -> None:
    origin, work, _ = _pre_push_repo(tmp_path)
    blocked = sh("git push origin main", work.path)
    assert blocked.code != 0
    (add,) = way_out_commands(blocked.all)
    assert "SKIP=" not in blocked.all  # a plain git hook: SKIP would mean nothing
    run_ok(add, work.path)
    run_ok("git push origin main", work.path)
    # The same key in a branch CI scans: the committed baseline lets it through there too.
    work.git("checkout", "-q", "-b", "feature")
    work.commit_file("again.py", f"FAKE = {kimi_code_key()!r}\n", "another fixture")
    work.git("push", "-q", "--no-verify", "origin", "feature")
    run = run_cli("range", "origin/main..origin/feature", cwd=work.path)
    assert run.code == 1
    (add,) = way_out_commands(run.out)
    run_ok(add, work.path)
    assert run_cli("range", "origin/main..origin/feature", cwd=work.path).code == 0
    assert origin.path.exists()


@pytest.mark.parametrize("branches", ["--single-branch", "--no-single-branch"])
def test_shallow_clone_with_a_commit_id_base_hint_works(
    upstream: GitRepo, tmp_path: Path, branches: str
) -> None:
    """The base given by id (as CI gives it): missing from a single-branch clone, or present
    with the range crossing the shallow cut; either way the hint printed works."""
    base = upstream.git("rev-parse", "main").strip()
    clone = cloned(f"file://{upstream.path}", tmp_path / "c", "--depth", "1", branches)
    run = run_cli("range", f"{base}..origin/feature", cwd=clone.path)
    assert run.code == 2
    if branches == "--no-single-branch":
        assert "history stops at" in run.err
    run_ok(_hint(run), clone.path)
    assert run_cli("range", f"{base}..origin/feature", cwd=clone.path).code == 0


def test_key_only_in_the_reflog_clear_step_as_printed(repo: GitRepo) -> None:
    repo.commit_file("README.md", "# app\n", "start")
    repo.commit_file("client.py", f'KIMI_API_KEY = "{kimi_code_key()}"\n', "oops")
    repo.git("reset", "-q", "--hard", "HEAD~1")
    repo.write("README.md", "# app\nunrelated work\n")
    repo.git("stash", "-q")
    run = run_cli("history", cwd=repo.path)
    assert run.code == 1
    (clear,) = [c for c in plan_commands(run.out) if "reflog expire" in c]
    assert "stash clear" not in clear and "--expire=now" not in clear
    run_ok(clear, repo.path)
    assert run_cli("history", cwd=repo.path).code == 0
    assert repo.git("stash", "list").count("\n") == 1  # the unrelated stash entry stays


def test_pre_push_plan_for_a_key_in_a_message_or_a_file_name_runs_as_printed(
    tmp_path: Path,
) -> None:
    # The gates name these places `commit message of <sha>` and `path name in <sha>`; the plan
    # took them for files: `git add -- 'commit message of …'` (fails when pasted) and then
    # `git commit -C`, which reuses the message that holds the key.
    origin, work = with_origin(tmp_path)
    work.commit_file("README.md", "# app\n", "start")
    work.git("push", "-q", "origin", "main")
    key = moonshot_key()
    work.git("commit", "-q", "--allow-empty", "-m", f"try {key}")
    install_hook(work.path / ".git", "pre-push", '#!/bin/sh\nexec kimi-secret-scan pre-push "$@"\n')
    out = sh("git push origin main", work.path).all
    assert "commit message of" in out
    assert "git add -- 'commit message of" not in out
    assert "a message that does not hold the key" in out
    cmds = plan_commands(out)
    assert cmds == [f"git reset --soft {work.git('rev-parse', 'HEAD').strip()[:12]}^"]
    run_ok(cmds[0], work.path)
    run_ok("git commit -q --allow-empty -m 'try again'", work.path)
    run_ok("git push origin main", work.path)

    name_key = moonshot_key()
    work.write(f"fixtures/{name_key}.txt", "data\n")
    work.add()
    work.commit("fixture")
    out = sh("git push origin main", work.path).all
    assert "path name in" in out and "rename it" in out
    assert "git add -- 'path name in" not in out
    assert name_key not in out
    run_ok(f"git mv -- fixtures/{name_key}.txt fixtures/data.txt", work.path)
    for command in plan_commands(out):
        run_ok(command, work.path)
    run_ok("git push origin main", work.path)

    # A key in the author: the plan says to set user.name / user.email before the new commit.
    author_key = moonshot_key()
    work.git("commit", "-q", "--allow-empty", "-m", "by", f"--author={author_key} <a@x>")
    out = sh("git push origin main", work.path).all
    assert "author of" in out and "set `user.name` and `user.email` first" in out
    assert author_key not in out
    for command in plan_commands(out):
        run_ok(command, work.path)
    run_ok("git commit -q --allow-empty -m 'by me'", work.path)
    run_ok("git push origin main", work.path)
    audit = run_cli("history", "--repo", str(origin.path), cwd=tmp_path)
    assert audit.code == 0, audit.all


# -- names a pasted command must read as they are (round-4 review #13) ------------------------

_ODD_SECRETS_NAMES = [
    ":!x.env",  # pathspec magic: `git rm --cached -- ':!x.env'` takes out every other file
    os.fsdecode(b"caf\xe9.env"),  # Latin-1, not UTF-8: the report shows it as U+FFFD
    "[ab] *x?.env",  # wildcards and a space
    "#x.env",  # a .gitignore line starting `#` is a comment
    "!x.env",  # ... and one starting `!` a negation
    ".env.trailing ",  # .gitignore drops trailing spaces
    "back\\slash.env",
    "line\nbreak.env",  # shown with escapes; .gitignore cannot hold the line break
]


@pytest.mark.parametrize("name", _ODD_SECRETS_NAMES)
def test_secrets_file_of_an_odd_name_plan_runs_as_printed(repo: GitRepo, name: str) -> None:
    repo.commit_file("README.md", "# app\n", "start")
    key = moonshot_key()
    repo.write(name, f"MOONSHOT_API_KEY={key}\n")
    repo.write("keep.txt", "an unrelated staged file\n")
    repo.add()
    run = run_cli("staged", cwd=repo.path)
    assert run.code == 1, run.all
    # Inert: no control character of the name reaches the terminal.
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f\x9b]", run.all)
    cmds = plan_commands(run.out)
    assert len(cmds) == 1 and " rm --cached -q -- " in cmds[0], run.out
    run_ok(cmds[0], repo.path)
    # Only that file left the index (`:!x.env` as magic would have taken out every other).
    staged = repo.git("diff", "--cached", "--name-only", "-z")
    assert sorted(staged.split("\0")[:-1]) == [".gitignore", "keep.txt"], staged
    assert repo.git("--literal-pathspecs", "ls-files", "--", name) == ""
    # The file stays on disk, ignored by the line the plan added.
    assert key in (repo.path / name).read_text()
    ignored = repo.git("ls-files", "-z", "--others", "--ignored", "--exclude-standard")
    assert ignored.split("\0")[:-1] == [name]
    assert run_cli("staged", cwd=repo.path).code == 0


@pytest.mark.parametrize("name", [":!code.py", "*.py", os.fsdecode(b"n\xe9e.py")])
def test_code_file_of_an_odd_name_git_add_as_printed(repo: GitRepo, name: str) -> None:
    repo.commit_file("README.md", "# app\n", "start")
    repo.write(name, f'KIMI_API_KEY = "{kimi_code_key()}"\n')
    repo.write("other.py", "print('unrelated, not staged')\n")
    repo.git("--literal-pathspecs", "add", "--", name)
    run = run_cli("staged", cwd=repo.path)
    assert run.code == 1, run.all
    cmds = plan_commands(run.out)
    assert len(cmds) == 1 and " add -- " in cmds[0], run.out
    repo.write(name, 'import os\nKIMI_API_KEY = os.environ["KIMI_API_KEY"]\n')
    run_ok(cmds[0], repo.path)
    # Only the file named was staged again (a wildcard would have added other.py too).
    assert repo.git("diff", "--cached", "--name-only", "-z").split("\0")[:-1] == [name]
    assert run_cli("staged", cwd=repo.path).code == 0


# -- a key inside an archive: the plan names the archive (round-6 review A #12) -------------


def _zip(path: Path, members: dict[str, str]) -> None:
    import zipfile

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in members.items():
            z.writestr(name, text)


@pytest.mark.parametrize("name", ["bundle.zip", ":!odd [1].zip"])
def test_key_in_an_archive_member_plan_runs_as_printed(repo: GitRepo, name: str) -> None:
    """`git rm --cached 'bundle.zip!app/.env'` named no path git knows: pasted, it failed
    after adding a useless .gitignore line. The plan names the archive, and no allow comment
    is offered inside it."""
    repo.commit_file("README.md", "# app\n", "start")
    key = kimi_code_key()
    _zip(repo.path / name, {"app/.env": f"KIMI_API_KEY={key}\n", "README": "hi\n"})
    repo.write(".env", f"MOONSHOT_API_KEY={moonshot_key()}\n")
    repo.git("--literal-pathspecs", "add", "--", name, ".env")
    run = run_cli("staged", cwd=repo.path)
    assert run.code == 1, run.all
    assert f"{name}!app/.env" in run.out  # the finding still says where inside
    cmds = plan_commands(run.out)
    assert len(cmds) == 2, run.out
    assert "!app" not in "".join(cmds), cmds
    assert " add -- " in cmds[0] and " rm --cached -q -- .env" in cmds[1], cmds
    # The comment route is not offered inside the archive; the baseline route is.
    way_out = run.out.split(WAY_OUT, 1)[1]
    assert f"in {name}!" not in way_out and "baseline add" in way_out
    # The fix the plan asks for: the archive built again without the key.
    _zip(repo.path / name, {"app/.env": "KIMI_API_KEY=\n", "README": "hi\n"})
    for command in cmds:
        run_ok(command, repo.path)
    assert repo.git("--literal-pathspecs", "ls-files", "--", name) == name + "\n"
    after = run_cli("staged", cwd=repo.path)
    assert after.code == 0, after.all


def test_key_in_an_archive_member_range_plan_names_the_archive(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "r")
    repo.commit_file("README.md", "# app\n", "start")
    _zip(repo.path / "bundle.zip", {"app/.env": f"KIMI_API_KEY={kimi_code_key()}\n"})
    repo.git("add", "bundle.zip")
    repo.commit("add the bundle")
    run = run_cli("range", "HEAD~1..HEAD", cwd=repo.path)
    assert run.code == 1, run.all
    cmds = plan_commands(run.out)
    assert cmds[0].endswith(" && git add -- bundle.zip"), run.out
    assert not any("!app" in c for c in cmds), cmds


@pytest.mark.parametrize("name", ["bundle.zip", "dir x/it's $(touch PWNED) 1.zip"])
def test_history_purge_of_a_key_inside_an_archive_runs_as_printed(
    tmp_path: Path, name: str
) -> None:
    """Round-7 review #7: the history plan purged with --replace-text, which cannot reach a
    key in deflated zip bytes (the mirror's audit still exited 1), and its step 2 said to
    edit the archive in place. Now step 2 says to build it again, and the purge strips the
    archive versions that hold the key by blob id; a key in a plain file beside it is still
    replaced. Every printed command is run as printed, the check of the mirror included."""
    assert HAS_FILTER_REPO, "git-filter-repo is missing: pip install -e '.[test]'"
    origin, work = with_origin(tmp_path)
    work.commit_file("README.md", "# service\n", "start")
    archive = work.path / name
    archive.parent.mkdir(parents=True, exist_ok=True)
    first, second, plain = kimi_code_key(), moonshot_key(), kimi_code_key()
    _zip(archive, {"conf/app.env": f"KIMI_API_KEY={first}\n", "README": "hi\n"})
    work.git("add", "--", name)
    work.commit("add the bundle")
    old_blobs = [work.git("rev-parse", f"HEAD:{name}").strip()]
    # A second version of the archive, with another key: a second blob to strip.
    _zip(archive, {"conf/app.env": f"MOONSHOT_API_KEY={second}\n", "README": "hi\n"})
    work.git("add", "--", name)
    work.commit("rotate the bundle's key")
    old_blobs.append(work.git("rev-parse", f"HEAD:{name}").strip())
    work.commit_file("client.py", f'KIMI_API_KEY = "{plain}"\n', "client")
    work.git("push", "-q", "origin", "main")

    run = run_cli("history", cwd=work.path)
    assert run.code == 1, run.all
    out = run.out
    cmds = plan_commands(out)
    assert "build it again without the key" in out, out
    assert "read the key from the environment instead" in out  # client.py, a plain file
    # Read by worker processes, the history gives the same plan (the blob ids included).
    assert plan_commands(run_cli("history", "--jobs", "2", cwd=work.path).out) == cmds
    # Step 2, as printed: the archive built again without the key, the code fixed; commit
    # and push, so the mirror has the fix.
    _zip(archive, {"conf/app.env": "KIMI_API_KEY=\n", "README": "hi\n"})
    work.write("client.py", 'import os\nKIMI_API_KEY = os.environ["KIMI_API_KEY"]\n')
    fixes = [c for c in cmds if c.startswith(f"cd {work.path} && git add")]
    assert len(fixes) == 2, cmds
    for command in fixes:
        run_ok(command, work.path)
    work.commit("no keys in the current files")
    work.git("push", "-q", "origin", "main")
    rebuilt = work.git("rev-parse", f"HEAD:{name}").strip()

    purge = [c for c in cmds if c not in fixes]
    blob_ids = tmp_path / "work-kimi-blobs.txt"
    strip = [c for c in purge if "filter-repo" in c]
    assert len(strip) == 1 and strip[0].endswith(f"--strip-blobs-with-ids {blob_ids}"), purge
    assert "--replace-text" in strip[0]  # the plain file's key is still replaced
    assert f"printf '%s\\n' {' '.join(sorted(old_blobs))} > {blob_ids}" in purge, purge
    for command in purge:
        # Every one exits 0, `kimi-secret-scan history --repo <mirror>` included.
        done = run_ok(command, work.path)
        if "--write-replacements" in command:  # its own hint names the strip too
            assert "--strip-blobs-with-ids" in done.out, done.out
    clean = tmp_path / "work-clean"
    audit = run_cli("history", "--repo", str(clean), cwd=tmp_path)
    assert audit.code == 0, audit.all
    for blob in old_blobs:
        assert sh(f"git cat-file -e {blob}", origin.path).code != 0
    # The rebuilt archive is another version: it stays, at its name.
    assert git(clean, "rev-parse", f"HEAD:{name}").strip() == rebuilt
    assert not blob_ids.exists()
    assert not (clean / "PWNED").exists() and not (work.path / "PWNED").exists()


def test_history_step_2_for_a_renamed_archive_says_to_build_it_again(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "r")
    repo.commit_file("README.md", "# app\n", "start")
    _zip(repo.path / "bundle.zip", {"app/.env": f"KIMI_API_KEY={kimi_code_key()}\n"})
    repo.git("add", "bundle.zip")
    repo.commit("add the bundle")
    repo.git("mv", "bundle.zip", "dist.zip")  # the same blob, at another path
    repo.commit("rename")
    out = run_cli("history", cwd=repo.path).out
    assert "In dist.zip (the key is in dist.zip!app/.env)" in out, out
    assert "build it again without the key" in out and "instead of writing" not in out
    assert f"$ cd {repo.path} && git add -- dist.zip" in out
