"""Interleaved A/B of installed scanners' `staged` on one kept repository.

    python bench/hook_ab.py REPO SCRIPT [SCRIPT ...] [--rounds 40]

Each round runs every script once, in alternating order, and reads each run's wall time and
the child's CPU (user + system, from getrusage). `bench/staged.py --keep` leaves a repository
to point this at; each SCRIPT is a `kimi-secret-scan` of an install (a stop's code installed
into its own virtual environment with `pip install <tree>`, not editable, as pre-commit
installs it). Medians and minimums only: figures from a shared machine compare only within
one run.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repo", type=Path)
    parser.add_argument("scripts", nargs="+")
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()
    scripts: list[str] = args.scripts
    walls: dict[str, list[float]] = {s: [] for s in scripts}
    cpus: dict[str, list[float]] = {s: [] for s in scripts}
    for n in range(args.rounds):
        for script in scripts if n % 2 == 0 else scripts[::-1]:
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            subprocess.run(
                [script, "staged"],
                cwd=args.repo,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                check=False,
            )
            walls[script].append((time.perf_counter() - start) * 1000)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
            cpus[script].append(cpu * 1000)
    for script in scripts:
        wall, cpu = walls[script], cpus[script]
        print(
            f"{script}: wall median {statistics.median(wall):.1f} ms (min {min(wall):.1f}), "
            f"CPU median {statistics.median(cpu):.1f} ms (min {min(cpu):.1f})"
        )


if __name__ == "__main__":
    main()
