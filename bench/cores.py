"""Where the history audit's CPU goes, per phase and per worker: the model behind the cores table.

    python bench/cores.py --repo PATH [--jobs 1,2] [--runs 3]

Runs the audit in this process (kimi_secret_scan.audit.run_history, as `history` does) on
PATH, once per --jobs value and run, and measures with getrusage, which a loaded machine
does not inflate the way it does wall time:

- serial before: listing the objects (`git rev-list --objects`, its CPU and ours);
- parallel: each worker's CPU (the Python process and its `git cat-file`);
- serial after: attribution (`git log --find-object`), the refs walk, grouping, report;
- whole: the process tree's CPU.

From them, the wall time on N idle cores is projected as serial + max(worker) when the
workers are N or fewer: the parallel phase lasts as long as its slowest worker. Nothing
here asserts a time.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from kimi_secret_scan import audit, git  # noqa: E402
from kimi_secret_scan.scan import scan  # noqa: E402
from kimi_secret_scan.settings import DEFAULT_SETTINGS  # noqa: E402
from kimi_secret_scan.sources import history  # noqa: E402

_original_shard = history._scan_shard
_original_listing = git.object_listing
_WORKER_LOG = Path(os.environ.get("TMPDIR", "/tmp")) / f"kimi-cores-{os.getpid()}.log"


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return float(own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime)


def _timed_shard(*args: Any) -> Any:
    """In a worker: the shard, and the worker's CPU (its own and its cat-file's) logged."""
    before = _cpu()
    shard = _original_shard(*args)
    with _WORKER_LOG.open("a") as log:
        log.write(f"{os.getpid()} {_cpu() - before}\n")
    return shard


phases: dict[str, float] = {}


def _timed_listing(cwd: Path, rev_args: list[str]) -> bytes:
    before = _cpu()
    out = _original_listing(cwd, rev_args)
    phases["listing"] = _cpu() - before
    return out


def one_run(repo: Path, jobs: int) -> dict[str, Any]:
    phases.clear()
    _WORKER_LOG.write_text("")
    read_end: list[float] = []
    original_read_all = history.HistorySource._read_all

    def read_all(self: history.HistorySource) -> None:
        original_read_all(self)
        read_end.append(_cpu())

    history.HistorySource._read_all = read_all  # type: ignore[method-assign]
    history._scan_shard = _timed_shard  # type: ignore[assignment]
    git.object_listing = _timed_listing
    start_cpu, start_wall = _cpu(), time.perf_counter()
    try:
        report = audit.run_history(
            repo,
            history.Selection(),
            lambda mode, scope, items: scan(mode, scope, items),
            DEFAULT_SETTINGS,
            100 * 1024 * 1024,
            jobs=jobs,
        )
    finally:
        history.HistorySource._read_all = original_read_all  # type: ignore[method-assign]
        history._scan_shard = _original_shard
        git.object_listing = _original_listing
    total = _cpu() - start_cpu
    wall = time.perf_counter() - start_wall
    per_worker: dict[str, float] = {}
    for line in _WORKER_LOG.read_text().splitlines():
        pid, used = line.split()
        per_worker[pid] = per_worker.get(pid, 0.0) + float(used)
    workers = sorted(per_worker.values())
    read = read_end[0] - start_cpu if read_end else total
    return {
        "jobs": jobs,
        "wall": wall,
        "total": total,
        "listing": phases.get("listing", 0.0),
        "read": read,
        "after": total - read,
        "workers": workers,
        "findings": len({f.secret_sha256 for f in report.result.findings}),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, required=True)
    parser.add_argument("--jobs", default="1,2")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--tasks-per-job",
        type=int,
        default=history._TASKS_PER_JOB,
        help="runs of the listing per worker (each starts a cat-file)",
    )
    parser.add_argument(
        "--plant",
        action="store_true",
        help="audit a copy of --repo with bench/history.py's planted keys (so attribution runs)",
    )
    args = parser.parse_args()
    if args.plant:
        import importlib.util
        import shutil
        import tempfile

        spec = importlib.util.spec_from_file_location("bench_history", HERE / "history.py")
        assert spec is not None and spec.loader is not None
        bench_history = importlib.util.module_from_spec(spec)
        sys.modules["bench_history"] = bench_history  # its dataclasses look themselves up
        spec.loader.exec_module(bench_history)
        copy = Path(tempfile.mkdtemp(prefix="kimi-cores-")) / "corpus.git"
        shutil.copytree(args.repo, copy, symlinks=True)
        planted, _ = bench_history.plant(copy, 20261124)
        print(f"planted {len(planted)} keys in a copy: {copy}")
        args.repo = copy
    jobs = [int(j) for j in args.jobs.split(",")]
    history._TASKS_PER_JOB = args.tasks_per_job
    results: dict[int, list[dict[str, Any]]] = {j: [] for j in jobs}
    for _ in range(args.runs):
        for j in jobs:
            results[j].append(one_run(args.repo.resolve(), j))
    print(f"load average {os.getloadavg()[0]:.1f}; CPU seconds, medians of {args.runs} runs")
    print("jobs  total  listing  read(all)  workers (each)          after  wall  findings")
    print("(read(all) includes the listing and, with workers, their CPU; after: phases 2-3)")
    for j in jobs:
        rows = results[j]

        def med(key: str, rows: list[dict[str, Any]] = rows) -> float:
            return float(statistics.median(r[key] for r in rows))

        each = [statistics.median(w) for w in zip(*(r["workers"] for r in rows), strict=False)]
        shown = " ".join(f"{w:.2f}" for w in each) or "-"
        print(
            f"{j:>4}  {med('total'):.2f}  {med('listing'):.2f}     {med('read'):.2f}       "
            f"{shown:<22}  {med('after'):.2f}  {med('wall'):.2f}  {rows[0]['findings']}"
        )
    _WORKER_LOG.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
