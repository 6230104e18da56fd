"""The documentation against the code: the generated reference is current, every command
and option the pages name exists (and every one that exists is named), and every ```sh
block of the README and docs/ is run by a test or listed here with the reason it is not.
The blocks no other test runs are run here, line by line, in the situation they describe.
"""

from __future__ import annotations

import ast
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import click
import pytest

from kimi_secret_scan.cli import main
from tests.gitrepo import GitRepo, git, run_cli
from tests.keygen import kimi_code_key
from tests.remotes import ZERO, cloned, documented_texts, key_line, scanner_path_env, with_origin

ROOT = Path(__file__).resolve().parents[1]
PROG = "kimi-secret-scan"

# ```sh blocks no test runs, each with why. A block is named by a string it contains.
NOT_RUN = {
    "pip install -e '.[test]' && pytest": "it runs this test suite; .ci/run runs it verbatim",
    "MOONSHOT_API_KEY=sk-…": "the content of a .env file, not commands",
}

# Options of other tools that the pages quote (git, pre-commit, filter-repo).
FOREIGN_OPTIONS = {
    "--add": "git remote set-url",
    "--all": "git",
    "--all-files": "pre-commit",
    "--amend": "git commit",
    "--batch": "git cat-file",
    "--batch-all-objects": "git cat-file",
    "--cached": "git diff / git rm",
    "--color": "grep",
    "--deepen": "git fetch",
    "--expire": "git reflog expire",
    "--files": "pre-commit",
    "--points-at": "git for-each-ref",
    "--push": "git remote get-url",
    "--recurse-submodules": "git clone",
    "--find-object": "git log",
    "--git-dir": "git",
    "--git-path": "git rev-parse",
    "--global": "git config",
    "--hook-stage": "pre-commit",
    "--hook-type": "pre-commit",
    "--literal-pathspecs": "git",
    "--mirror": "git",
    "--no-ext-diff": "git diff",
    "--no-filter": "git fetch",
    "--no-local": "git clone",
    "--no-textconv": "git diff",
    "--no-verify": "git commit",
    "--objects": "git rev-list",
    "--prune": "git gc",
    "--raw": "git log",
    "--receive-pack": "git push",
    "--refetch": "git fetch",
    "--replace-message": "git filter-repo",
    "--replace-text": "git filter-repo",
    "--seeds": "hypothesis",
    "--sensitive-data-removal": "git filter-repo",
    "--show-toplevel": "git rev-parse",
    "--soft": "git reset",
    "--staged": "git diff",
    "--strip-blobs-with-ids": "git filter-repo",
    "--filename-callback": "git filter-repo",
    "--name-callback": "git filter-repo",
    "--email-callback": "git filter-repo",
    "--refname-callback": "git filter-repo",
    "--upload-pack": "git fetch",
    "--trailer": "git commit",
    "--unshallow": "git fetch",
    "--work-tree": "git",
}


def hand_written() -> list[tuple[Path, str]]:
    return [(page, text) for page, text in documented_texts() if page.name != "reference.md"]


def sh_blocks(containing: str = "") -> list[str]:
    """Every distinct ```sh block of the README and docs/ that contains `containing`."""
    found: list[str] = []
    for _, text in documented_texts():
        for block in re.findall(r"```sh\n(.*?)```", text, flags=re.S):
            if containing in block and block not in found:
                found.append(block)
    return found


def command_for(path: tuple[str, ...]) -> click.Command | None:
    command: click.Command = main
    with click.Context(main) as ctx:
        for name in path:
            if not isinstance(command, click.Group):
                return None
            found = command.get_command(ctx, name)
            if found is None:
                return None
            command = found
    return command


def all_commands() -> list[tuple[str, ...]]:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        from make_reference import commands
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    listed: list[tuple[str, ...]] = commands(main)
    return listed


def long_options(command: click.Command) -> set[str]:
    names = {"--help"}
    for param in command.params:
        if isinstance(param, click.Option):
            names.update(o for o in (*param.opts, *param.secondary_opts) if o.startswith("--"))
    return names


# --- the reference and the options --------------------------------------------------------


def test_reference_is_generated_from_the_code_and_current() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "make_reference.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def _invocations() -> list[tuple[str, list[str]]]:
    """(page, argv after the program name) of each kimi-secret-scan command the pages show,
    in code blocks and inline code."""
    found = []
    for page, text in hand_written():
        code = re.findall(r"```(?:sh|yaml|text)?\n(.*?)```", text, flags=re.S)
        code += re.findall(r"`([^`\n]+)`", re.sub(r"```.*?```", "", text, flags=re.S))
        for chunk in code:
            chunk = chunk.replace("\\\n", " ")
            for line in chunk.splitlines():
                for match in re.finditer(rf"(?<![\w/.=-]){PROG} (?=[a-z-])", line):
                    rest = line[match.end() :].split(" #", 1)[0].split("|", 1)[0]
                    try:
                        words = shlex.split(rest)
                    except ValueError:
                        words = rest.split()
                    found.append((page.name, words))
    return found


def test_every_documented_command_and_option_exists() -> None:
    problems = []
    invocations = _invocations()
    assert len(invocations) > 20
    for page, words in invocations:
        path: tuple[str, ...] = ()
        for word in words:
            if word.startswith("-") or command_for((*path, word)) is None:
                break
            path = (*path, word)
            if not isinstance(command_for(path), click.Group):
                break
        if not path:
            if words and not words[0].startswith("-") and re.fullmatch(r"[a-z-]+", words[0]):
                problems.append(f"{page}: no command {words[0]!r}")
            continue
        command = command_for(path)
        assert command is not None
        known = long_options(command)
        for word in words[len(path) :]:
            if word in ("--", "&&", ";", "||"):
                break  # the end of its options, or the next command
            option = word.split("=", 1)[0]
            if option.startswith("--") and option not in known:
                problems.append(f"{page}: {PROG} {' '.join(path)} has no option {option}")
    assert problems == []


def test_every_option_quoted_anywhere_is_ours_or_a_named_other_tools() -> None:
    ours: set[str] = {"--version"}
    for path in all_commands():
        command = command_for(path)
        assert command is not None
        ours |= long_options(command)
    unknown = set()
    for page, text in hand_written():
        spans = re.findall(r"`([^`\n]+)`", text) + re.findall(r"```\w*\n(.*?)```", text, re.S)
        for span in spans:
            for option in re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", span):
                if option not in ours and option not in FOREIGN_OPTIONS:
                    unknown.add(f"{page.name}: {option}")
    assert sorted(unknown) == []


def test_every_command_and_option_is_documented_in_the_pages() -> None:
    """Not only in the generated reference: each command is shown, each option named, in
    the README or a docs page written by hand."""
    text = "\n".join(text for _, text in hand_written())
    missing = []
    for path in all_commands():
        if f"{PROG} {' '.join(path)}" not in text:
            missing.append(" ".join(path))
        command = command_for(path)
        assert command is not None
        for param in command.params:
            if not isinstance(param, click.Option):
                continue
            names = [o for o in (*param.opts, *param.secondary_opts) if o.startswith("--")]
            if not any(re.search(re.escape(n) + r"(?![\w-])", text) for n in names):
                missing.append(f"{' '.join(path)} {names[0]}")
    assert missing == []


# --- every sh block is run ------------------------------------------------------------------


def _call_name(node: ast.Call) -> str:
    if isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return ""


def _run_by_tests() -> tuple[set[str], set[str]]:
    """What the tests select blocks by: the strings passed to a block helper (readme_block,
    sh_blocks, or any helper named *block*), and the pages whose every sh block a test runs
    (a helper called with "sh" alone, in a test file that names the page)."""
    selectors: set[str] = set()
    whole_pages: set[str] = set()
    for source in (ROOT / "tests").glob("*.py"):
        text = source.read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(text)):
            if not isinstance(node, ast.Call) or "block" not in _call_name(node):
                continue
            args = node.args
            if not args or not isinstance(args[0], ast.Constant):
                continue
            first = str(args[0].value)
            if first == "sh":
                whole_pages.update(re.findall(r"([\w-]+\.md)\b", text))
                continue
            langs = [a.value for a in args[1:] if isinstance(a, ast.Constant)]
            if not langs or langs[0] == "sh":
                selectors.add(first)
    return selectors, whole_pages


def test_every_sh_block_is_run_by_a_test_or_says_why_not() -> None:
    selectors, whole_pages = _run_by_tests()
    unrun = []
    for page, text in documented_texts():
        for block in re.findall(r"```sh\n(.*?)```", text, flags=re.S):
            if page.name in whole_pages and page.name != "README.md":
                continue
            if not any(s in block for s in selectors | set(NOT_RUN)):
                unrun.append(f"{page.name}: {block.splitlines()[0]}")
    assert unrun == [], "```sh blocks no test runs (run one, or add it to NOT_RUN with why)"
    blocks = sh_blocks()
    stale = [s for s in NOT_RUN if not any(s in b for b in blocks)]
    assert stale == []


def run_lines(block: str, cwd: Path, expected: list[int], env: dict[str, str]) -> list[str]:
    """Run a block's commands one by one, as pasted into a shell, each checked for its exit
    code. Comment lines are skipped; a backslash continues a command on the next line."""
    commands = [
        line
        for line in block.replace("\\\n", " ").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert len(commands) == len(expected), commands
    outputs = []
    for command, code in zip(commands, expected, strict=True):
        done = subprocess.run(
            ["bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True, check=False
        )
        assert done.returncode == code, f"{command}\n{done.stdout}{done.stderr}"
        outputs.append(done.stdout + done.stderr)
    return outputs


def shell_env(**more: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GITLAB_"))}
    env.update(scanner_path_env())
    env.update(more)
    return env


def test_history_blocks(repo: GitRepo) -> None:
    repo.commit_file("app.py", key_line()[0], "a leak")
    git(repo.path, "clone", "-q", "--bare", ".", "repo.git")
    [block] = sh_blocks("kimi-secret-scan history --repo repo.git")
    run_lines(block, repo.path, [1, 1], shell_env())


@pytest.fixture
def pushed(tmp_path: Path) -> tuple[GitRepo, str]:
    """A clone whose HEAD adds a key after origin/main and after the tag v1.2.0."""
    origin, work = with_origin(tmp_path)
    work.commit_file("README.md", "hello\n")
    work.git("tag", "v1.2.0")
    work.git("push", "-q", "origin", "main", "v1.2.0")
    clone = cloned(f"file://{origin.path}", tmp_path / "clone")
    before = clone.head()
    after = clone.commit_file("client.py", key_line()[0], "add a client")
    event = tmp_path / "push.json"
    event.write_text(f'{{"before": "{before}", "after": "{after}", "ref": "refs/heads/main"}}')
    return clone, str(event)


def test_plain_push_hook_install_block_checks_every_pushed_ref(tmp_path: Path) -> None:
    """docs/ci.md's commands install the plain pre-push hook, which reads every pushed ref:
    a key on the second ref of `git push origin main zzz` blocks the push (pre-commit's
    push hook is handed the first only)."""
    origin, work = with_origin(tmp_path)
    work.commit_file("a.txt", "hi\n")
    work.git("push", "-q", "origin", "main")
    [block] = sh_blocks("git rev-parse --git-path hooks")
    env = shell_env()
    run_lines(block, work.path, [0], env)
    work.git("checkout", "-q", "-b", "zzz")
    work.commit_file("k.env", key_line()[0])
    work.git("checkout", "-q", "main")
    work.commit_file("a.txt", "more\n")
    done = subprocess.run(
        ["git", "push", "origin", "main", "zzz"],
        cwd=work.path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode != 0 and "k.env:1:" in done.stdout, done.stdout + done.stderr
    assert git(origin.path, "branch", "--list", "zzz").strip() == ""


def test_range_and_ci_blocks(pushed: tuple[GitRepo, str]) -> None:
    clone, event = pushed
    env = shell_env(
        GITHUB_ACTIONS="true",
        GITHUB_EVENT_NAME="push",
        GITHUB_EVENT_PATH=event,
        GITHUB_SHA=clone.head(),
    )
    blocks = sh_blocks("kimi-secret-scan range origin/main..HEAD")
    # The README's two lines, docs/ci.md's three, and its --no-new-suppressions line.
    assert len(blocks) == 3
    for block in blocks:
        outputs = run_lines(block, clone.path, [1] * block.count(PROG), env)
        assert all("client.py" in out for out in outputs)


def test_output_blocks(pushed: tuple[GitRepo, str]) -> None:
    clone, event = pushed
    env = shell_env(
        GITHUB_ACTIONS="true",
        GITHUB_EVENT_NAME="push",
        GITHUB_EVENT_PATH=event,
        GITHUB_SHA=clone.head(),
    )
    [block] = sh_blocks("--report sarif:kimi-secret-scan.sarif")
    ci, files = run_lines(block, clone.path, [1, 1], env)
    assert "::error file=client.py" in ci
    assert "client.py:1:17: Kimi Code API key" in files
    for name in ("kimi-secret-scan.sarif", "scan.sarif", "scan.json"):
        assert "client.py" in (clone.path / name).read_text(encoding="utf-8")
    assert files.count("1 finding") == 1  # the summary once: in the text on screen


def test_commands_without_the_framework_block(repo: GitRepo) -> None:
    repo.commit_file("README.md", "hello\n")
    repo.write("src/client.py", key_line()[0])
    repo.write(".env", f"KIMI_API_KEY={kimi_code_key()}\n")
    repo.add("src/client.py")
    (repo.path / ".git" / "COMMIT_EDITMSG").write_text("add the client\n", encoding="utf-8")
    [block] = sh_blocks("kimi-secret-scan commit-msg .git/COMMIT_EDITMSG")
    staged, files, _message = run_lines(block, repo.path, [1, 1, 0], shell_env())
    assert "src/client.py" in staged and ".env" in files


def test_baseline_blocks(repo: GitRepo) -> None:
    repo.commit_file("legacy.py", key_line()[0], "an old key")
    [block] = sh_blocks("kimi-secret-scan baseline audit")
    run_lines(block, repo.path, [0, 0, 0, 0], shell_env())
    assert (repo.path / ".kimi-secret-scan-baseline.toml").is_file()


def test_history_names_the_repositorys_own_files_block(repo: GitRepo) -> None:
    line, key = key_line()
    repo.commit_file(".kimi-secret-scan.toml", f'allow-values = ["{key}"]\n', "config")
    repo.commit_file("fixtures.py", line, "a test key")
    repo.commit_file("legacy.py", key_line()[0], "an old key")
    made = run_cli("baseline", "create", "--from", "history", "--any-path", cwd=repo.path)
    assert made.code == 0, made.all
    plain = run_cli("history", cwd=repo.path)
    assert plain.code == 1, plain.all
    assert "name it with --config .kimi-secret-scan.toml" in plain.out
    assert "name it with --baseline .kimi-secret-scan-baseline.toml" in plain.out
    [block] = sh_blocks("history --config .kimi-secret-scan.toml --baseline")
    run_lines(block, repo.path, [0], shell_env())


def test_acknowledge_revoked_keys_block(repo: GitRepo) -> None:
    repo.commit_file("legacy.py", key_line()[0], "an old key")
    repo.commit_file("legacy.py", "KIMI_API_KEY = os.environ['KIMI_API_KEY']\n", "fix")
    [block] = sh_blocks("Acknowledge revoked keys")
    outputs = run_lines(block, repo.path, [1, 0, 0, 0], shell_env())
    assert "no Kimi keys found" in outputs[-1]
    assert ZERO not in outputs[-1]


def test_push_hook_install_never_overwrites_a_hook(tmp_path: Path) -> None:
    """Hostile review 8: the install line overwrote Git LFS's pre-push hook, and under husky
    (core.hooksPath) the committed `.husky/pre-push`. It refuses, changing nothing; the
    chained hook docs/ci.md shows then runs the scan and hands the refs on to the other."""
    [block] = sh_blocks("git rev-parse --git-path hooks")
    env = shell_env()
    _origin, work = with_origin(tmp_path)
    work.commit_file("a.txt", "hi\n")
    lfs_hook = work.path / ".git" / "hooks" / "pre-push"
    lfs_hook.write_text('#!/bin/sh\ngit lfs pre-push "$@"\n')
    [out] = run_lines(block, work.path, [1], env)
    assert "NOT installed" in out and lfs_hook.read_text() == '#!/bin/sh\ngit lfs pre-push "$@"\n'

    husky = GitRepo(tmp_path / "husky")
    husky.write(".husky/pre-push", "#!/bin/sh\nnpm test\n")
    husky.add(".husky/pre-push")
    husky.commit("husky")
    husky.git("config", "core.hooksPath", ".husky")
    [out] = run_lines(block, husky.path, [1], env)
    assert "NOT installed" in out and husky.git("status", "--porcelain") == ""
    husky.git("rm", "-q", "--cached", ".husky/pre-push")
    (husky.path / ".husky" / "pre-push").unlink()
    run_lines(block, husky.path, [1], env)  # core.hooksPath alone: another tool's hooks
    assert not (husky.path / ".husky" / "pre-push").exists()

    # The chained hook, verbatim, with a stand-in for git-lfs that records its stdin.
    [chain] = sh_blocks("printf '%s\\n' \"$refs\" | kimi-secret-scan pre-push")
    lfs_hook.write_text(chain)
    lfs_hook.chmod(0o755)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    got = tmp_path / "lfs-stdin"
    (bin_dir / "git-lfs").write_text(f'#!/bin/sh\ncat > "{got}"\n')
    (bin_dir / "git-lfs").chmod(0o755)
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
    work.commit_file("b.txt", "clean\n")
    pushed = subprocess.run(
        ["git", "push", "-q", "origin", "main"], cwd=work.path, env=env, capture_output=True
    )
    assert pushed.returncode == 0, pushed.stderr
    assert f"refs/heads/main {work.head()}" in got.read_text()
    got.unlink()
    work.commit_file("k.env", key_line()[0])
    blocked = subprocess.run(
        ["git", "push", "origin", "main"], cwd=work.path, env=env, capture_output=True, text=True
    )
    assert blocked.returncode != 0 and "k.env:1:" in blocked.stdout, blocked.stderr
    assert not got.exists()
