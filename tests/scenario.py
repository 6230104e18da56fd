"""One repository with keys everywhere a scan looks, and every command line that scans it.

Used by the read-only and no-leak tests: keys in staged changes, the work tree, history
(a commit that deletes it again, a side branch, an annotated tag's message, the stash, a
note), a commit message file, an `origin` that lacks the newest commits (for pre-push)
and a bare `server.git` that has them all (for pre-receive).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from tests.gitrepo import GitRepo
from tests.keygen import kimi_code_key, moonshot_key
from tests.remotes import ZERO


@dataclass
class Scenario:
    root: Path  # holds the repositories and, outside them, the files a command may write
    work: GitRepo
    origin: GitRepo
    server: GitRepo
    keys: list[str] = field(default_factory=list)
    base: str = ""  # the commit origin has; range/ci scan what comes after it
    head: str = ""
    message_file: Path = Path()

    @property
    def outside(self) -> Path:
        """A directory outside every repository, for --output, baselines and replacements."""
        path = self.root / "outside"
        path.mkdir(exist_ok=True)
        return path

    def key(self) -> str:
        key = kimi_code_key() if len(self.keys) % 2 else moonshot_key()
        self.keys.append(key)
        return key


def build(root: Path) -> Scenario:
    work = GitRepo(root / "work")
    origin = GitRepo(root / "origin.git", bare=True)
    server = GitRepo(root / "server.git", bare=True)
    s = Scenario(root, work, origin, server)
    work.commit_file("README.md", "# demo\n", "start")
    s.base = work.head()
    work.git("remote", "add", "origin", str(origin.path))
    work.git("push", "-q", "origin", "main")

    work.commit_file(".env", f"MOONSHOT_API_KEY={s.key()}\n", "add env")
    work.git("rm", "-q", ".env")
    work.commit("remove env")
    work.git("checkout", "-q", "-b", "side")
    work.commit_file("side.py", f'client = OpenAI(api_key="{s.key()}")  # moonshot\n', "side")
    work.git("checkout", "-q", "main")
    work.git("merge", "-q", "--no-ff", "--no-edit", "side")
    work.git("tag", "-a", "v1", "-m", f"release\n\nMOONSHOT_API_KEY={s.key()}\n")
    work.git("notes", "add", "-m", f"KIMI_API_KEY={s.key()}")
    work.commit_file("app.py", f'KIMI_API_KEY = "{s.key()}"\n', "app")
    work.write("app.py", f'KIMI_API_KEY = "{s.key()}"\n')
    work.git("stash", "-q")
    work.commit_file("config.py", f'MOONSHOT_API_KEY = "{s.key()}"\n', "config")
    s.head = work.head()
    # The server has the objects of a push in progress but no ref to them yet, as
    # pre-receive sees it.
    work.git("push", "-q", str(server.path), "main:refs/heads/incoming")
    server.git("update-ref", "-d", "refs/heads/incoming")

    work.write("staged.py", f'KIMI_API_KEY = "{s.key()}"\n')
    work.add("staged.py")
    work.write("untracked.env", f"MOONSHOT_API_KEY={s.key()}\n")
    s.message_file = s.outside / "COMMIT_EDITMSG"
    s.message_file.write_text(f"Add client\n\nKIMI_API_KEY={s.key()}\n", encoding="utf-8")
    # Tracked files newer than the index's record of them: a plain `git status` would now
    # rewrite the index to refresh it. Our git calls must not.
    later = os.stat(work.path / "README.md").st_mtime + 10
    for name in ("README.md", "app.py", "config.py", "side.py", "staged.py"):
        os.utime(work.path / name, (later, later))
    return s


def scan_commands(s: Scenario) -> dict[str, tuple[list[str], Path, bytes | None]]:
    """Each scanning command: (arguments, directory to run in, standard input)."""
    pushed = f"refs/heads/main {s.head} refs/heads/main {s.base}\n".encode()
    received = f"{ZERO} {s.head} refs/heads/main\n".encode()
    return {
        "staged": (["staged"], s.work.path, None),
        "files": (["files", "."], s.work.path, None),
        "commit-msg": (["commit-msg", str(s.message_file)], s.work.path, None),
        "history": (["history"], s.work.path, None),
        "range": (["range", f"{s.base}..{s.head}"], s.work.path, None),
        "ci": (["ci", "--base", s.base, "--head", s.head], s.work.path, None),
        "pre-push": (["pre-push", "origin", str(s.origin.path)], s.work.path, pushed),
        "pre-receive": (["pre-receive"], s.server.path, received),
    }


# Variables a CI runner would set; `ci` must use --base, not this machine's environment.
CI_VARIABLES = (
    "GITHUB_ACTIONS",
    "GITHUB_EVENT_NAME",
    "GITHUB_EVENT_PATH",
    "GITHUB_STEP_SUMMARY",
    "GITLAB_CI",
    "CI",
)


def clean_env() -> dict[str, str]:
    return {name: "" for name in CI_VARIABLES}


Snapshot = dict[str, tuple[int, str, int]]  # path -> (mode, sha256 of bytes, mtime ns)


def snapshot(*trees: Path) -> Snapshot:
    """Every file, directory and link under the trees (`.git` included): what a write changes."""
    import hashlib

    found: Snapshot = {}
    for tree in trees:
        for dirpath, dirnames, filenames in os.walk(tree):
            for name in [*dirnames, *filenames]:
                path = Path(dirpath) / name
                st = path.lstat()
                digest = ""
                if path.is_file() and not path.is_symlink():
                    digest = hashlib.sha256(path.read_bytes()).hexdigest()
                found[str(path)] = (st.st_mode, digest, st.st_mtime_ns)
    return found


def changed(before: Snapshot, after: Snapshot) -> list[str]:
    return sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))


@dataclass
class Run:
    name: str
    args: list[str]
    show_secrets: bool
    code: int
    out: str
    err: str
    output: str  # the --output file's text, "" without --output
    step_summary: str  # what the github format appended to GITHUB_STEP_SUMMARY
    changed: list[str]  # paths under the repositories that the run changed

    @property
    def everything(self) -> str:
        return self.out + self.err + self.output + self.step_summary


def run_matrix(s: Scenario, formats: list[str]) -> list[Run]:
    """Every scanning command in every format, to stdout and with --show-secrets, and in
    one format (all of them for history) with --output; then the baseline commands and
    --write-replacements. A command's runs go in parallel (they must not interfere), and
    the repositories are compared with the snapshot taken before the first run after each
    command's batch."""
    from concurrent.futures import ThreadPoolExecutor

    from tests.gitrepo import run_cli

    trees = (s.work.path, s.origin.path, s.server.path)
    before = snapshot(*trees)
    runs: list[Run] = []
    counter = iter(range(1_000_000))

    def one(name: str, args: list[str], cwd: Path, stdin: bytes | None, show: bool) -> Run:
        n = next(counter)
        summary_file = s.outside / f"step-summary-{n}.md"
        summary_file.write_text("", encoding="utf-8")
        args = [a.replace("{output}", str(s.outside / f"report-{n}.out")) for a in args]
        output = s.outside / f"report-{n}.out"
        env = {**clean_env(), "GITHUB_STEP_SUMMARY": str(summary_file)}
        result = run_cli(*args, cwd=cwd, env=env, input=stdin)
        return Run(
            name,
            args,
            show,
            result.code,
            result.out,
            result.err,
            output.read_text(encoding="utf-8") if output.exists() else "",
            summary_file.read_text(encoding="utf-8"),
            [],
        )

    def batch(jobs: list[tuple[str, list[str], Path, bytes | None, bool]]) -> None:
        with ThreadPoolExecutor(max_workers=3) as pool:
            done = list(pool.map(lambda job: one(*job), jobs))
        diff = changed(before, snapshot(*trees))
        for run in done:
            run.changed = diff
        runs.extend(done)

    for i, (name, (args, cwd, stdin)) in enumerate(scan_commands(s).items()):
        jobs: list[tuple[str, list[str], Path, bytes | None, bool]] = []
        for fmt in formats:
            jobs.append((f"{name} {fmt}", [*args, "--format", fmt], cwd, stdin, False))
            jobs.append(
                (
                    f"{name} {fmt} --show-secrets",
                    [*args, "--format", fmt, "--show-secrets"],
                    cwd,
                    stdin,
                    True,
                )
            )
        for fmt in formats if name == "history" else [formats[i % len(formats)]]:
            jobs.append(
                (
                    f"{name} {fmt} --output",
                    [*args, "--format", fmt, "--output", "{output}"],
                    cwd,
                    stdin,
                    False,
                )
            )
        batch(jobs)

    baseline = str(s.outside / "baseline.toml")
    work = s.work.path
    for job in (
        ("baseline create", ["baseline", "create", "--file", baseline]),
        (
            "baseline create --from history",
            ["baseline", "create", "--force", "--file", baseline, "--from", "history"],
        ),
        ("baseline update", ["baseline", "update", "--file", baseline]),
        ("baseline audit", ["baseline", "audit", "--file", baseline]),
        ("history --baseline", ["history", "--baseline", baseline]),
    ):
        batch([(job[0], job[1], work, None, False)])
        runs[-1].output = Path(baseline).read_text(encoding="utf-8")
    replacements = s.outside / "replacements.txt"
    batch(
        [
            (
                "history --write-replacements",
                ["history", "--write-replacements", str(replacements)],
                work,
                None,
                False,
            )
        ]
    )
    runs[-1].output = replacements.read_text(encoding="utf-8")
    return runs


_MATRIX: dict[str, tuple[Scenario, list[Run]]] = {}


def matrix(tmp_path_factory: object) -> tuple[Scenario, list[Run]]:
    """The scenario and its runs, built once per test session (both test modules use it)."""
    if "runs" not in _MATRIX:
        from kimi_secret_scan.reports import FORMATS

        root = tmp_path_factory.mktemp("scenario")  # type: ignore[attr-defined]
        s = build(root)
        _MATRIX["runs"] = (s, run_matrix(s, sorted(FORMATS)))
    return _MATRIX["runs"]


def scan_commands_names() -> list[str]:
    return ["staged", "files", "commit-msg", "history", "range", "ci", "pre-push", "pre-receive"]
