"""Organisation-audit benchmark: `kimi-secret-scan audit` over N copies of a corpus.

    python bench/org.py [--repo PATH] [--copies 1,4,16] [--jobs 1,2] [--runs 1] [--urls]

Corpus: the history benchmark's (a mirror of psf/requests with every ref, cloned into
bench/.corpus/ on first use; or --repo), given the same side branch of five keys generated
at run time, then copied N times (`git clone --mirror --local`: hard links, so copies cost
no disk). Each copy is one target. The run checks that the merged report holds exactly the
five keys, each in all N repositories, and only then reports the figures.

For each N and each --jobs value (interleaved, so machine noise hits every row alike):
wall time, CPU time of the whole process tree, the peak RSS of its largest process (wait4,
as /usr/bin/time reports it) and the peak of the tree's total RSS (sampled from /proc every
50 ms: the parent plus the workers and their git processes at that moment).
--urls names the copies as file:// URLs with a fresh --cache, so the figures include
mirror-cloning each copy through GitPython.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from history import corpus, git, plant  # noqa: E402

# The scanner runs in child processes started elsewhere than this checkout: let them import
# this checkout's package without an install (a fresh clone), as this script does.
_CHECKOUT = str(Path(__file__).resolve().parent.parent)
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (_CHECKOUT, os.environ.get("PYTHONPATH", "")) if p
)


def _tree_rss(root: int) -> int:
    """Total RSS (bytes) of `root` and its descendants, from /proc."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry)] = int(fields[1])
        rss[int(entry)] = int(fields[21]) * page
    total, todo = 0, [root]
    children: dict[int, list[int]] = {}
    for pid, ppid in parents.items():
        children.setdefault(ppid, []).append(pid)
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo.extend(children.get(pid, []))
    return total


@dataclass
class Measure:
    wall: float
    cpu: float
    max_rss: int  # bytes, largest single process
    tree_rss: int  # bytes, peak total of the tree
    code: int
    out: str


def measure(args: list[str], cwd: Path) -> Measure:
    start = time.monotonic()
    proc = subprocess.Popen(
        args,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "CI": "true"},
    )
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss(proc.pid))
            done.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    assert proc.stdout is not None
    out = proc.stdout.read().decode()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - start
    done.set()
    sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Measure(
        wall,
        usage.ru_utime + usage.ru_stime,
        usage.ru_maxrss * 1024,  # the child and the descendants it waited for
        peak,
        proc.returncode,
        out,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, help="a mirror clone to use (default: psf/requests)")
    parser.add_argument("--copies", default="1,4,16")
    parser.add_argument("--jobs", default="1,2")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--urls", action="store_true", help="file:// URLs: include cloning")
    parser.add_argument("--json", type=Path, help="write the figures here too")
    args = parser.parse_args()
    copies = [int(n) for n in args.copies.split(",")]
    jobs = [int(j) for j in args.jobs.split(",")]
    scanner = [sys.executable, "-m", "kimi_secret_scan"]
    source = corpus(args.repo)
    rows: dict[tuple[int, int], list[Measure]] = {}
    with tempfile.TemporaryDirectory(prefix="kimi-org-bench-") as tmp:
        base = Path(tmp)
        seed = base / "seed.git"
        git(base, "clone", "--mirror", "--quiet", "--local", str(source), str(seed))
        planted, _ = plant(seed, seed=15)
        paths = []
        for i in range(max(copies)):
            copy = base / "org" / f"repo-{i:02d}.git"
            git(base, "clone", "--mirror", "--quiet", "--local", str(seed), str(copy))
            paths.append(copy)
        refs = len(git(seed, "for-each-ref").splitlines())
        commits = git(seed, "rev-list", "--all", "--count").strip()
        print(f"corpus: {source} + 5 planted keys; {refs} refs, {commits} commits per copy")
        for run in range(args.runs):
            for n in copies:
                for j in jobs:
                    out = base / f"out-{n}-{j}-{run}"
                    targets = [p.as_uri() if args.urls else str(p) for p in paths[:n]]
                    command = [
                        *scanner,
                        "audit",
                        *targets,
                        "--output-dir",
                        str(out),
                        "--jobs",
                        str(j),
                        "--cache",
                        str(base / f"cache-{n}-{j}-{run}"),
                        "--format",
                        "json",
                    ]
                    m = measure(command, base)
                    merged = json.loads(m.out)
                    found = {k["secret_sha256"] for k in merged["keys"]}
                    spread = {len(k["repositories"]) for k in merged["keys"]}
                    if found != planted or spread != {n}:
                        print(
                            f"N={n} jobs={j}: wrong result (exit {m.code}): "
                            f"{len(found)} keys, spread {spread}",
                            file=sys.stderr,
                        )
                        return 1
                    rows.setdefault((n, j), []).append(m)
                    print(
                        f"  N={n:>2} jobs={j}: {m.wall:6.1f} s wall, {m.cpu:6.1f} s CPU, "
                        f"largest process {m.max_rss / 2**20:5.0f} MiB, "
                        f"tree {m.tree_rss / 2**20:5.0f} MiB (exit {m.code})",
                        file=sys.stderr,
                    )
    print()
    print("| copies | --jobs | wall | per repository | CPU | largest process | whole tree |")
    print("|---|---|---|---|---|---|---|")
    figures = []
    for (n, j), ms in sorted(rows.items()):
        wall = statistics.median(m.wall for m in ms)
        cpu = statistics.median(m.cpu for m in ms)
        big = max(m.max_rss for m in ms) / 2**20
        tree = max(m.tree_rss for m in ms) / 2**20
        print(
            f"| {n} | {j} | {wall:.1f} s | {wall / n:.2f} s | {cpu:.1f} s | {big:.0f} MiB "
            f"| {tree:.0f} MiB |"
        )
        figures.append(
            {
                "copies": n,
                "jobs": j,
                "wall": wall,
                "cpu": cpu,
                "max_rss_mib": big,
                "tree_rss_mib": tree,
            }
        )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    shutil.which("git") or sys.exit("git is not on PATH")
    sys.exit(main())
