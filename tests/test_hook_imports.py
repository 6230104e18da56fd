"""What the pre-commit hook loads and starts: a staged scan pays only for what it uses.

The hook runs on every commit, so every import and every git process is paid thousands of
times a day (issue 14). These tests say what a `staged` run must not load and how many git
processes it may start; they time nothing (bench/staged.py measures).
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

from tests.gitrepo import GitRepo
from tests.keygen import kimi_code_key

# Loaded by a `staged` run that finds nothing, with no configuration and no baseline file.
NEVER_ON_A_CLEAN_RUN = (
    "git",  # GitPython: clones and fetches only, never the hook
    "ssl",
    "http.client",
    "urllib.request",
    "sqlite3",
    "zipfile",
    "tarfile",
    "gzip",
    "bz2",
    "lzma",
    "tomllib",  # no configuration file to parse
    "json",  # no JSON report asked for
    "hashlib",  # nothing to hash: no finding, no baseline
    "kimi_secret_scan.verify",  # only with --verify
    "kimi_secret_scan.verdict",
    "kimi_secret_scan.org",
    "kimi_secret_scan.audit",
    "kimi_secret_scan.gate",
    "kimi_secret_scan.baseline",
    "kimi_secret_scan.filters.baseline",
    "kimi_secret_scan.remediation",  # what to do about a finding: there is none
    "kimi_secret_scan.unpack.archives",  # containers: only when their magic bytes are seen
    "kimi_secret_scan.unpack.sqlite",
    "kimi_secret_scan.sources.history",
    "kimi_secret_scan.sources.commits",
    "kimi_secret_scan.reports.json_report",  # reports not asked for
    "kimi_secret_scan.reports.sarif",
    "kimi_secret_scan.reports.github",
    "kimi_secret_scan.reports.html",
    "kimi_secret_scan.reports.history_text",
    "kimi_secret_scan.reports.history_json",
    "kimi_secret_scan.reports.merged",
    "hyperscan",  # the history audit's survey (detect/marks.py): ~6 ms of import
    "regex",  # ~5 ms of import: imported where a pattern of its is first compiled
)

# Still not loaded when the run finds a key (the text report then loads remediation; a key
# assigned to a Kimi setting is read with the context patterns, which are `regex`'s).
NEVER_WITH_A_FINDING = tuple(
    m
    for m in NEVER_ON_A_CLEAN_RUN
    if m not in ("hashlib", "kimi_secret_scan.remediation", "kimi_secret_scan.verdict")
)

_PROBE = """\
import sys
from kimi_secret_scan.cli import main
try:
    main(["staged"])
except SystemExit as exc:
    code = exc.code
print("EXIT", code, file=sys.stderr)
print("MODULES", " ".join(sorted(sys.modules)), file=sys.stderr)
"""


def _loaded(repo: GitRepo) -> tuple[int, set[str]]:
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE], cwd=repo.path, capture_output=True, text=True
    )
    lines = {line.split(" ", 1)[0]: line for line in proc.stderr.splitlines()}
    assert "EXIT" in lines and "MODULES" in lines, proc.stderr
    code = int(lines["EXIT"].split()[1])
    return code, set(lines["MODULES"].split()[1:])


def _forbidden(loaded: set[str], names: tuple[str, ...]) -> set[str]:
    return {m for m in loaded for name in names if m == name or m.startswith(name + ".")}


def test_a_clean_staged_run_loads_only_what_it_uses(repo: GitRepo) -> None:
    repo.commit_file("a.txt", "hello\n")
    repo.write("b.py", "x = 1\n")
    repo.add("b.py")
    code, loaded = _loaded(repo)
    assert code == 0
    assert "kimi_secret_scan.sources.staged" in loaded  # the probe saw the scan's modules
    assert _forbidden(loaded, NEVER_ON_A_CLEAN_RUN) == set()


def test_a_staged_run_with_a_finding_still_skips_the_rest(repo: GitRepo) -> None:
    repo.commit_file("a.txt", "hello\n")
    repo.write("b.py", f'KIMI_API_KEY = "{kimi_code_key()}"\n')
    repo.add("b.py")
    code, loaded = _loaded(repo)
    assert code == 1
    assert "kimi_secret_scan.remediation" in loaded
    assert _forbidden(loaded, NEVER_WITH_A_FINDING) == set()


def test_a_staged_run_starts_three_git_processes(repo: GitRepo, tmp_path: Path) -> None:
    """`git --version` (once per process), one `rev-parse` shared by the configuration
    lookup and the command, one `diff`: counted with a `git` on PATH that logs each start."""
    repo.commit_file("a.txt", "hello\n")
    repo.write("b.py", "x = 1\n")
    repo.add("b.py")
    real = shutil.which("git")
    assert real is not None
    shim_dir = tmp_path / "shim"
    shim_dir.mkdir()
    log = tmp_path / "starts.log"
    shim = shim_dir / "git"
    shim.write_text(f'#!/bin/sh\necho "$1 $2" >> "{log}"\nexec "{real}" "$@"\n')
    shim.chmod(shim.stat().st_mode | stat.S_IXUSR)
    env = dict(os.environ, PATH=f"{shim_dir}{os.pathsep}{os.environ['PATH']}")
    proc = subprocess.run(
        [sys.executable, "-m", "kimi_secret_scan", "staged"],
        cwd=repo.path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    starts = log.read_text().splitlines()
    assert len(starts) <= 3, starts
    assert sum(s.startswith("rev-parse") for s in starts) == 1, starts


def _starts_and_output(
    repo: GitRepo, tmp_path: Path, cwd: Path, *args: str
) -> tuple[list[str], subprocess.CompletedProcess[str]]:
    real = shutil.which("git")
    assert real is not None
    shim_dir = tmp_path / "shim"
    shim_dir.mkdir(exist_ok=True)
    log = tmp_path / "starts.log"
    log.write_text("")
    shim = shim_dir / "git"
    shim.write_text(f'#!/bin/sh\necho "$1 $2 $3" >> "{log}"\nexec "{real}" "$@"\n')
    shim.chmod(shim.stat().st_mode | stat.S_IXUSR)
    env = dict(os.environ, PATH=f"{shim_dir}{os.pathsep}{os.environ['PATH']}")
    proc = subprocess.run(
        [sys.executable, "-m", "kimi_secret_scan", "staged", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
    )
    return log.read_text().splitlines(), proc


def test_the_diff_started_early_is_used_only_when_it_is_the_commands(
    repo: GitRepo, tmp_path: Path
) -> None:
    """The entry point starts the hook's `git diff` in the current directory while Python
    imports. From the top level with default limits the command uses it (one diff); from a
    subdirectory or with another size limit it is discarded and the diff run again, with
    the same report."""
    repo.commit_file("sub/a.txt", "hello\n")
    repo.write("sub/b.py", f'KIMI_API_KEY = "{kimi_code_key()}"\n')
    repo.add("sub/b.py")
    starts, top = _starts_and_output(repo, tmp_path, repo.path)
    assert top.returncode == 1, top.stderr
    assert sum(s.startswith("-c core.bigFileThreshold") for s in starts) == 1, starts
    assert sum(s.startswith("rev-parse") for s in starts) == 1, starts
    assert len(starts) == 3, starts
    for cwd, args in ((repo.path / "sub", ()), (repo.path, ("--max-file-size", "4096"))):
        starts, other = _starts_and_output(repo, tmp_path, cwd, *args)
        assert other.returncode == 1, other.stderr
        assert sum(s.startswith("-c core.bigFileThreshold") for s in starts) == 2, starts
        # The rev-parse started early is the command's own in either case: asked once.
        assert sum(s.startswith("rev-parse") for s in starts) == 1, starts
        assert other.stdout == top.stdout


def test_find_repo_takes_the_rev_parse_started_early(repo: GitRepo, tmp_path: Path) -> None:
    """The entry point starts find_repo's `rev-parse` with the diff (asked after the imports,
    it was ~8 ms the hook waited for): find_repo answers from it in the same directory, and
    discards it (killed, never read) when asked about another one."""
    from kimi_secret_scan import git

    repo.commit_file("a.txt", "hello\n")
    git.prefetch_repo(str(repo.path))
    assert len(git._prefetched) == 1
    early = git._prefetched[0][3]
    found = git.find_repo(repo.path)
    assert git._prefetched == []
    assert early.returncode == 0  # read to its end: its answer is the one returned
    assert found.root.resolve() == repo.path.resolve()
    assert found.head == repo.git("rev-parse", "HEAD").strip()

    other = GitRepo(tmp_path / "other")
    other.commit_file("b.txt", "x\n")
    git.prefetch_repo(str(other.path))
    early = git._prefetched[0][3]
    found = git.find_repo(repo.path)
    assert git._prefetched == []
    assert early.returncode is not None  # ended (killed, or done and not read)
    assert found.root.resolve() == repo.path.resolve()
