"""A hostile repository's config never runs a program under the scanner.

For each dangerous setting, one real repository (built once) whose config points that setting
at a script that creates a marker file named after the command that ran it. Every scanning
command runs in it; afterwards no marker may exist. Beside it, plain git (`git status`,
`git diff`, `git log -p`, and `git log -p` on a terminal) runs in the same repositories, and
the markers it leaves are compared with the table in docs/guarantees.md: so the matrix is
known to be live (each setting does run a program when git is not told otherwise).
"""

from __future__ import annotations

import os
import pty
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.gitrepo import GitRepo, git
from tests.keygen import moonshot_key

ZERO = "0" * 40

# The scanner's commands, each as (name, arguments, stdin). Names are marker names.
COMMANDS: list[tuple[str, list[str], bytes | None]] = [
    ("staged", ["staged"], None),
    ("files", ["files", "."], None),
    ("commit-msg", ["commit-msg", "{msg}"], None),
    ("range", ["range", "HEAD~1..HEAD"], None),
    ("ci", ["ci", "--base", "HEAD~1"], None),
    (
        "pre-push",
        ["pre-push", "origin", "file:///nowhere"],
        b"refs/heads/main {head} refs/heads/main " + ZERO.encode() + b"\n",
    ),
    ("pre-receive", ["pre-receive"], b"{base} {head} refs/heads/main\n"),
    ("history", ["history"], None),
    # The history read split among worker processes, each starting its own cat-file.
    ("history-jobs", ["history", "--jobs", "2"], None),
    ("baseline-create", ["baseline", "create", "--file", "{dir}/baseline.toml"], None),
    ("baseline-update", ["baseline", "update", "--file", "{dir}/baseline.toml"], None),
    ("baseline-audit", ["baseline", "audit", "--file", "{dir}/baseline.toml"], None),
]
BASELINE_CHAIN = ("baseline-create", "baseline-update", "baseline-audit")

# Plain git beside the scanner, in the same repositories.
PLAIN: list[tuple[str, list[str], bool]] = [
    ("git-status", ["status"], False),
    ("git-diff", ["diff"], False),
    ("git-log-p", ["log", "-p"], False),
    ("git-log-p-terminal", ["log", "-p"], True),
]

MARK = """#!/bin/sh
# Leaves a marker named after the command that ran it, then fails.
cat >/dev/null 2>&1 </dev/null
touch "{markers}/${{KSS_CMD:-unknown}}"
exit 1
"""


@dataclass
class Setting:
    name: str
    configure: Callable[[Path, str], None]  # (repository, marker script) -> None
    # What plain git runs it for, in this matrix (docs/guarantees.md has the same table).
    plain: frozenset[str]


def _config(repo: Path, *pairs: tuple[str, str]) -> None:
    for key, value in pairs:
        git(repo, "config", key, value)


def _partial_clone(repo: Path, url: str, *extra: tuple[str, str]) -> None:
    """Make `repo` a partial clone whose promisor remote is `url`, missing the blob of
    lazy.txt: reading that blob makes plain git fetch it lazily."""
    _config(
        repo,
        ("core.repositoryformatversion", "1"),
        ("extensions.partialClone", "origin"),
        ("remote.origin.url", url),
        ("remote.origin.promisor", "true"),
        *extra,
    )
    blob = git(repo, "rev-parse", "HEAD~1:lazy.txt").strip()
    (repo / ".git" / "objects" / blob[:2] / blob[2:]).unlink()


def _hooks(repo: Path, script: str) -> None:
    hooks = repo.parent / "hooks"
    hooks.mkdir()
    for name in (
        "post-index-change",
        "reference-transaction",
        "post-checkout",
        "pre-commit",
        "pre-push",
        "pre-receive",
        "post-rewrite",
        "fsmonitor-watchman",
    ):
        shutil.copy(script, hooks / name)
    _config(repo, ("core.hooksPath", str(hooks)))


SETTINGS = [
    Setting(
        "core.fsmonitor",
        lambda r, s: _config(r, ("core.fsmonitor", s)),
        frozenset({"git-status", "git-diff"}),
    ),
    Setting(
        "log.showSignature+gpg.program",
        lambda r, s: _config(r, ("log.showSignature", "true"), ("gpg.program", s)),
        frozenset({"git-log-p", "git-log-p-terminal"}),
    ),
    Setting(
        "diff.external",
        lambda r, s: _config(r, ("diff.external", s)),
        frozenset({"git-diff"}),
    ),
    Setting(
        "diff.<driver>.textconv",
        lambda r, s: _config(r, ("diff.evil.textconv", s)),
        frozenset({"git-diff", "git-log-p", "git-log-p-terminal"}),
    ),
    Setting(
        "diff.<driver>.command",
        lambda r, s: _config(r, ("diff.evil.command", s)),
        frozenset({"git-diff"}),
    ),
    Setting(
        "filter.<driver>.clean+smudge",
        lambda r, s: _config(r, ("filter.evil.clean", s), ("filter.evil.smudge", s)),
        frozenset({"git-status", "git-diff"}),
    ),
    Setting(
        "filter.<driver>.process",
        lambda r, s: _config(r, ("filter.evil.process", s)),
        frozenset({"git-status", "git-diff"}),
    ),
    Setting(
        "core.pager+pager.<cmd>",
        lambda r, s: _config(r, ("core.pager", s), ("pager.log", s), ("pager.diff", s)),
        frozenset({"git-log-p-terminal"}),
    ),
    Setting("core.hooksPath", _hooks, frozenset({"git-status"})),
    Setting(
        "core.editor+sequence.editor",
        lambda r, s: _config(r, ("core.editor", s), ("sequence.editor", s)),
        frozenset(),
    ),
    Setting(
        "lazy fetch: remote.<name>.uploadpack",
        lambda r, s: _partial_clone(
            r, f"file://{r.parent}/nowhere", ("remote.origin.uploadpack", s)
        ),
        frozenset({"git-log-p", "git-log-p-terminal"}),
    ),
    Setting(
        "lazy fetch: ext:: + protocol.ext.allow",
        lambda r, s: _partial_clone(r, f"ext::{s}", ("protocol.ext.allow", "always")),
        frozenset({"git-log-p", "git-log-p-terminal"}),
    ),
    Setting(
        "lazy fetch: core.sshCommand",
        lambda r, s: _partial_clone(r, "ssh://example.invalid/x", ("core.sshCommand", s)),
        frozenset({"git-log-p", "git-log-p-terminal"}),
    ),
]


# --- isolation for module-scoped repositories ---------------------------------------------


@pytest.fixture(scope="module", autouse=True)
def _module_git_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """What conftest's per-test isolation does, for repositories built once per module."""
    home = tmp_path_factory.mktemp("hostile-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HOME", str(home))
        mp.setenv("GIT_CONFIG_NOSYSTEM", "1")
        mp.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
        for var in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "NO_COLOR", "GIT_PAGER"):
            mp.delenv(var, raising=False)
        mp.delenv("PAGER", raising=False)
        mp.delenv("GIT_NO_LAZY_FETCH", raising=False)
        for role in ("AUTHOR", "COMMITTER"):
            mp.setenv(f"GIT_{role}_NAME", "Ada Author")
            mp.setenv(f"GIT_{role}_EMAIL", "ada@example.com")
        yield


@dataclass
class Layout:
    repo: Path
    base: str
    head: str


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Layout:
    """The repository every setting starts from: a key in a signed commit, a key staged,
    a modified file and a file whose stat changed (so `git status` refreshes the index),
    `* diff=evil filter=evil` attributes, and a blob a partial clone can lack."""
    repo = GitRepo(tmp_path_factory.mktemp("hostile-template") / "repo")
    repo.write(".gitattributes", "* diff=evil filter=evil\n")
    repo.write("a.txt", "hello\n")
    repo.write("b.txt", "same\n")
    repo.write("lazy.txt", "fetched lazily\n")
    repo.add()
    base = repo.commit("first")
    # The key arrives in a commit that carries a (fake) signature: `git log` with
    # log.showSignature asks gpg.program to verify it.
    repo.write("key.py", f'KIMI_API_KEY = "{moonshot_key()}"\n')
    repo.add("key.py")
    tree = repo.git("write-tree").strip()
    signature = "\n".join(
        [
            "-----BEGIN PGP SIGNATURE-----",
            " ",
            " iQEzBAABCAAdFiEEaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            " =abcd",
            " -----END PGP SIGNATURE-----",
        ]
    )
    body = (
        f"tree {tree}\nparent {base}\n"
        "author Ada Author <ada@example.com> 1700000000 +0000\n"
        "committer Ada Author <ada@example.com> 1700000000 +0000\n"
        f"gpgsig {signature}\n\nadd the key\n"
    )
    head = repo.git("hash-object", "-t", "commit", "-w", "--stdin", input=body.encode()).strip()
    repo.git("update-ref", "refs/heads/main", head)
    repo.write("staged.py", f'KIMI_API_KEY = "{moonshot_key()}"\n')
    repo.add("staged.py")
    repo.write("a.txt", "hello, changed\n")
    return Layout(repo.path, base, head)


def _hostile_copy(template: Layout, where: Path, setting: Setting) -> tuple[Path, Path]:
    """A copy of the template configured for `setting`; returns (repository, markers)."""
    repo = where / "repo"
    shutil.copytree(template.repo, repo, symlinks=True)
    markers = where / "markers"
    markers.mkdir()
    script = where / "mark"
    script.write_text(MARK.format(markers=markers))
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    setting.configure(repo, str(script))
    # A tracked file whose stat changed but content did not: `git status` refreshes it.
    later = (repo / "b.txt").stat().st_mtime + 5
    os.utime(repo / "b.txt", (later, later))
    for made in markers.iterdir():  # anything the set-up itself ran
        made.unlink()
    return repo, markers


def _scanner(
    repo: Path, where: Path, layout: Layout, name: str, args: list[str], stdin: bytes | None
) -> int:
    subst = {
        "msg": str(where / "msg.txt"),
        "dir": str(where),
        "head": layout.head,
        "base": layout.base,
    }
    full = [a.format(**subst) for a in args]
    data = stdin.decode().format(**subst).encode() if stdin is not None else None
    env = dict(os.environ, KSS_CMD=name)
    env.pop("GITHUB_ACTIONS", None)
    env.pop("GITLAB_CI", None)
    proc = subprocess.run(
        [sys.executable, "-m", "kimi_secret_scan", *full],
        cwd=repo,
        env=env,
        input=data,
        stdin=None if data is not None else subprocess.DEVNULL,
        capture_output=True,
        check=False,
        timeout=120,
    )
    return proc.returncode


def _plain_git(repo: Path, name: str, args: list[str], terminal: bool) -> None:
    # PAGER is git's last choice: the repository's core.pager still wins over it, and
    # without one git on a terminal would wait in less.
    env = dict(os.environ, KSS_CMD=name, PAGER="cat")
    if not terminal:
        subprocess.run(
            ["git", *args],
            cwd=repo,
            env=env,
            capture_output=True,
            stdin=subprocess.DEVNULL,
            check=False,
            timeout=60,
        )
        return
    leader, follower = pty.openpty()
    try:
        proc = subprocess.Popen(
            ["git", *args],
            cwd=repo,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=follower,
            stderr=follower,
        )
        os.close(follower)
        while True:  # drain the terminal so git never blocks on it
            try:
                if not os.read(leader, 65536):
                    break
            except OSError:
                break
        proc.wait(timeout=60)
    finally:
        os.close(leader)


def _run_all(repo: Path, where: Path, layout: Layout) -> dict[str, int]:
    (where / "msg.txt").write_text(f"add config\n\nkey {moonshot_key()}\n")
    codes: dict[str, int] = {}

    def one(entry: tuple[str, list[str], bytes | None]) -> None:
        codes[entry[0]] = _scanner(repo, where, layout, *entry)

    def chain() -> None:
        for entry in COMMANDS:
            if entry[0] in BASELINE_CHAIN:
                one(entry)

    with ThreadPoolExecutor(max_workers=4) as pool:
        jobs = [pool.submit(one, e) for e in COMMANDS if e[0] not in BASELINE_CHAIN]
        jobs.append(pool.submit(chain))
        for job in jobs:
            job.result()
    return codes


@pytest.mark.parametrize("setting", SETTINGS, ids=[s.name for s in SETTINGS])
def test_no_command_runs_a_program_from_the_repository_config(
    setting: Setting, template: Layout, tmp_path: Path
) -> None:
    repo, markers = _hostile_copy(template, tmp_path, setting)
    codes = _run_all(repo, tmp_path, template)
    ran = sorted(p.name for p in markers.iterdir())
    assert ran == [], f"{setting.name}: the scanner ran the repository's program under {ran}"
    # Every command did scan (1: it found the keys; 2 where a partial clone lacks a blob);
    # none failed for another reason, such as git refusing the overrides.
    assert set(codes) == {c[0] for c in COMMANDS}
    assert all(code in (0, 1, 2) for code in codes.values()), codes
    # Plain git in the same repository: the setting is live.
    for name, args, terminal in PLAIN:
        _plain_git(repo, name, args, terminal)
    plain = frozenset(p.name for p in markers.iterdir())
    assert plain == setting.plain, f"{setting.name}: plain git ran it under {sorted(plain)}"


def test_matrix_size() -> None:
    """The size the docs quote: settings x commands (baseline create, update, audit count
    as three)."""
    assert (len(SETTINGS), len(COMMANDS)) == (13, 12)


# --- the door itself -----------------------------------------------------------------------


def test_only_the_git_layer_starts_processes() -> None:
    package = Path(__file__).resolve().parent.parent / "kimi_secret_scan"
    starting = sorted(
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if "subprocess." in path.read_text(encoding="utf-8")
    )
    assert starting == ["git.py"]


def test_settings_reach_git_before_2_31_through_git_config_parameters(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Older gits ignore GIT_CONFIG_COUNT: the same settings then go into
    GIT_CONFIG_PARAMETERS, after what a `git -c` caller put there."""
    from kimi_secret_scan import git as layer

    repo = GitRepo(tmp_path / "repo")
    repo.git("config", "core.fsmonitor", "touch marker #")
    monkeypatch.setenv("GIT_CONFIG_PARAMETERS", "'user.name=From Caller'")
    monkeypatch.delenv("GIT_CONFIG_COUNT", raising=False)
    monkeypatch.setattr(layer, "_git_version", lambda: (2, 30))
    env = layer._read_env()
    assert "GIT_CONFIG_COUNT" not in env

    def get(key: str) -> str:
        return (
            subprocess.run(
                ["git", "config", "--get", key],
                cwd=repo.path,
                env=env,
                capture_output=True,
                check=True,
            )
            .stdout.decode()
            .strip()
        )

    assert get("core.fsmonitor") == "false"
    assert get("log.showSignature") == "false"
    assert get("user.name") == "From Caller"


def test_settings_follow_a_callers_git_config_count(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kimi_secret_scan import git as layer

    repo = GitRepo(tmp_path / "repo")
    repo.git("config", "core.fsmonitor", "touch marker #")
    monkeypatch.setenv("GIT_CONFIG_COUNT", "1")
    monkeypatch.setenv("GIT_CONFIG_KEY_0", "core.fsmonitor")
    monkeypatch.setenv("GIT_CONFIG_VALUE_0", "touch caller #")
    env = layer.git_env()
    out = (
        subprocess.run(
            ["git", "config", "--get-all", "core.fsmonitor"],
            cwd=repo.path,
            env=env,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\n")
    )
    assert out[-2] == "false"  # the last value is the one git uses


@pytest.fixture
def partial_clone(tmp_path: Path) -> tuple[Path, Path, str]:
    """A real partial clone (`--filter=blob:none`) of a server that allows filters, whose
    promisor remote's upload-pack is a wrapper that leaves a marker, then serves the fetch.
    Returns (clone, markers, id of a blob the clone lacks)."""
    server = GitRepo(tmp_path / "server")
    server.commit_file("a.txt", "first\n")
    server.commit_file("key.py", f'KIMI_API_KEY = "{moonshot_key()}"\n')
    server.git("config", "uploadpack.allowFilter", "true")
    server.git("config", "uploadpack.allowAnySHA1InWant", "true")
    clone = tmp_path / "clone"
    git(
        tmp_path,
        "clone",
        "-q",
        "--no-checkout",
        "--filter=blob:none",
        f"file://{server.path}",
        str(clone),
    )
    markers = tmp_path / "markers"
    markers.mkdir()
    wrapper = tmp_path / "upload-pack"
    wrapper.write_text(
        f'#!/bin/sh\ntouch "{markers}/${{KSS_CMD:-unknown}}"\nexec git-upload-pack "$@"\n'
    )
    wrapper.chmod(0o755)
    git(clone, "config", "remote.origin.uploadpack", str(wrapper))
    blob = git(clone, "rev-parse", "HEAD:key.py").strip()
    return clone, markers, blob


def test_a_real_partial_clone_is_never_fetched_from(
    partial_clone: tuple[Path, Path, str],
) -> None:
    clone, markers, blob = partial_clone
    env = dict(os.environ, KSS_CMD="scanner")
    runs: list[tuple[list[str], bytes | None]] = [
        (["history"], None),
        (["range", "HEAD~1..HEAD"], None),
    ]
    for args, data in runs:
        proc = subprocess.run(
            [sys.executable, "-m", "kimi_secret_scan", *args],
            cwd=clone,
            env=env,
            capture_output=True,
            input=data,
            stdin=None if data else subprocess.DEVNULL,
            check=False,
        )
        assert proc.returncode == 2, proc.stdout + proc.stderr  # the blob is missing: said
    assert list(markers.iterdir()) == []
    # Plain git fetches it, through the promisor remote's upload-pack.
    plain = dict(os.environ, KSS_CMD="plain")
    plain.pop("GIT_NO_LAZY_FETCH", None)
    shown = subprocess.run(
        ["git", "cat-file", "-p", blob], cwd=clone, env=plain, capture_output=True, check=False
    )
    assert shown.returncode == 0 and b"KIMI_API_KEY" in shown.stdout
    assert sorted(p.name for p in markers.iterdir()) == ["plain"]


def test_lazy_fetch_is_refused_even_by_a_git_that_ignores_git_no_lazy_fetch(
    partial_clone: tuple[Path, Path, str],
) -> None:
    """git before 2.44 (and before the 2.39.4 security releases) does not know
    GIT_NO_LAZY_FETCH: without it, the read-only door still allows no transport, so the
    promisor remote's upload-pack never runs."""
    from kimi_secret_scan import git as layer

    clone, markers, blob = partial_clone
    env = layer._read_env()
    del env["GIT_NO_LAZY_FETCH"]
    env["KSS_CMD"] = "scanner"
    proc = subprocess.run(
        ["git", "cat-file", "-p", blob], cwd=clone, env=env, capture_output=True, check=False
    )
    assert proc.returncode != 0
    assert b"not allowed" in proc.stderr
    assert list(markers.iterdir()) == []


# --- repository discovery never comes from scanned content --------------------------------


def _lookalike(repo: GitRepo, where: str, script: Path) -> None:
    """A committed directory that git would take for a bare repository, whose config sets
    the work tree to its parent, hides every file, and runs a program."""
    repo.write(f"{where}/HEAD", "ref: refs/heads/main\n")
    repo.write(f"{where}/objects/.keep", "")
    repo.write(f"{where}/refs/.keep", "")
    repo.write(f"{where}/info/exclude", "*\n")
    repo.write(
        f"{where}/config",
        f"[core]\n\trepositoryformatversion = 0\n\tbare = false\n\tworktree = ..\n"
        f"\tfsmonitor = {script}\n",
    )


@pytest.mark.parametrize("cwd, arg", [(".", "evil"), ("evil", "."), ("evil/objects", "..")])
def test_a_directory_that_looks_like_a_git_dir_is_scanned_as_content(
    tmp_path: Path, cwd: str, arg: str
) -> None:
    markers = tmp_path / "markers"
    markers.mkdir()
    script = tmp_path / "mark"
    script.write_text(MARK.format(markers=markers))
    script.chmod(0o755)
    repo = GitRepo(tmp_path / "repo")
    _lookalike(repo, "evil", script)
    repo.write("evil/notes.txt", f'KIMI_API_KEY = "{moonshot_key()}"\n')
    repo.add()
    repo.commit("a directory that looks like a git dir")
    # git itself takes it for a repository, from inside it:
    found = git(repo.path / "evil", "rev-parse", "--absolute-git-dir").strip()
    assert found == str((repo.path / "evil").resolve())
    env = dict(os.environ, KSS_CMD="files")
    proc = subprocess.run(
        [sys.executable, "-m", "kimi_secret_scan", "files", arg],
        cwd=repo.path / cwd,
        env=env,
        capture_output=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    out = proc.stdout.decode()
    assert proc.returncode == 1, out + proc.stderr.decode()
    assert "notes.txt:1:" in out
    assert "scanned 6 files" in out  # HEAD, config, info/exclude, the two .keep, notes.txt
    assert list(markers.iterdir()) == []


def test_a_linked_worktree_still_lists_with_its_ignore_rules(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.commit_file(".gitignore", "ignored.txt\n")
    repo.git("worktree", "add", "-q", str(tmp_path / "wt"))
    (tmp_path / "wt" / "ignored.txt").write_text(f'KIMI_API_KEY = "{moonshot_key()}"\n')
    (tmp_path / "wt" / "kept.txt").write_text("nothing\n")
    proc = subprocess.run(
        [sys.executable, "-m", "kimi_secret_scan", "files", "."],
        cwd=tmp_path / "wt",
        capture_output=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout.decode() + proc.stderr.decode()
    assert "scanned 2 files" in proc.stdout.decode()  # .gitignore and kept.txt


def test_the_guarantees_table_is_the_matrix() -> None:
    """docs/guarantees.md quotes what plain git runs: the same as the matrix asserts."""
    doc = (Path(__file__).resolve().parent.parent / "docs" / "guarantees.md").read_text()
    start = doc.index("| setting | `git status` |")
    rows = [line for line in doc[start:].splitlines()[2:] if line.startswith("| ")]
    cells = [[c.strip() for c in row.strip("|").split("|")] for row in rows]
    assert len(cells) == len(SETTINGS)
    for setting, row in zip(SETTINGS, cells, strict=True):
        shown = frozenset(
            name for (name, _, _), cell in zip(PLAIN, row[1:5], strict=True) if cell == "runs"
        )
        assert shown == setting.plain, (setting.name, row)
        assert row[5] == "none"
    runs = sum(len(s.plain) for s in SETTINGS)
    ran = sum(1 for s in SETTINGS if s.plain)
    assert f"Plain git runs {ran} of the {len(SETTINGS)} settings" in doc
    assert f"({runs} runs in\nthe {len(SETTINGS) * len(PLAIN)} cells)" in doc
    assert f"{len(SETTINGS)} settings × {len(COMMANDS)} commands" in doc
    assert f"0 of {len(SETTINGS) * len(COMMANDS)}" in doc


def test_network_commands_keep_their_transports_but_never_ext(tmp_path: Path) -> None:
    """clone, fetch and ls-remote (the organisation audit's own copies) may reach a remote;
    the ext:: transport, which runs a command, stays refused."""
    from kimi_secret_scan import git as layer
    from kimi_secret_scan.errors import ScanError

    server = GitRepo(tmp_path / "server")
    server.commit_file("a.txt", "a\n")
    out = layer.run_git(["ls-remote", f"file://{server.path}"], tmp_path)
    assert b"refs/heads/main" in out
    marker = tmp_path / "ext-ran"
    with pytest.raises(ScanError, match="not allowed"):
        layer.run_git(["ls-remote", f"ext::sh -c touch% {marker}"], tmp_path)
    assert not marker.exists()


def test_a_hook_under_git_dash_c_keeps_the_hardened_settings(tmp_path: Path) -> None:
    """`git -c core.fsmonitor=PROGRAM commit` hands its -c settings to the hook in
    GIT_CONFIG_PARAMETERS, which git reads after GIT_CONFIG_COUNT: the scanner's own gits
    must still run no PROGRAM. The marker program names its file after GIT_ALLOW_PROTOCOL,
    which only the scanner's gits set (to "none"): git commit's own run of it (`plain`)
    shows that the setting is live."""
    repo = GitRepo(tmp_path / "repo")
    repo.commit_file("a.txt", "first\n")
    markers = tmp_path / "markers"
    markers.mkdir()
    program = tmp_path / "fsmonitor"
    program.write_text(f'#!/bin/sh\ntouch "{markers}/${{GIT_ALLOW_PROTOCOL:-plain}}"\nexit 1\n')
    program.chmod(0o755)
    hook = repo.path / ".git" / "hooks" / "pre-commit"
    hook.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m kimi_secret_scan staged\n')
    hook.chmod(0o755)
    repo.write("b.txt", "second\n")
    repo.add("b.txt")
    env = dict(os.environ, GIT_AUTHOR_NAME="Ada", GIT_COMMITTER_NAME="Ada")
    for variable in ("GIT_CONFIG_PARAMETERS", "GIT_CONFIG_COUNT"):
        env.pop(variable, None)
    proc = subprocess.run(
        ["git", "-c", f"core.fsmonitor={program}", "commit", "-q", "-m", "b"],
        cwd=repo.path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "no Kimi keys found" in proc.stdout + proc.stderr  # the hook did scan
    ran = sorted(path.name for path in markers.iterdir())
    assert "plain" in ran  # git commit itself ran the program: the setting is live
    assert "none" not in ran  # none of the scanner's gits did
