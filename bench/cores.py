"""Where the history audit's CPU goes, per phase and per worker: the model behind the cores table.

    python bench/cores.py --repo PATH [--jobs 1,2] [--runs 3]

Runs the audit in this process (kimi_secret_scan.audit.run_history, as `history` does) on
PATH, once per --jobs value and run, and measures with getrusage, which a loaded machine
does not inflate the way it does wall time:

- listing: `git rev-list --objects` (its own CPU; it runs while the workers read);
- parallel: each worker's CPU (the Python process and its long-lived `git cat-file`);
- the parent while the workers read: the listing handed out, the reads started beside;
- serial after: attribution (`git log --find-object`), occurrences, grouping, report;
- whole: the process tree's CPU.

From them, the wall time on N idle cores is projected as start-up + max(worker) + after
when the workers are N or fewer: the parallel phase lasts as long as its slowest worker.
Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import atexit
import os
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from kimi_secret_scan import audit  # noqa: E402
from kimi_secret_scan.scan import scan  # noqa: E402
from kimi_secret_scan.settings import DEFAULT_SETTINGS  # noqa: E402
from kimi_secret_scan.sources import history  # noqa: E402

_original_shard = history._scan_shard
_original_listing_done = history.HistorySource._listing_done
_WORKER_LOG = Path(os.environ.get("TMPDIR", "/tmp")) / f"kimi-cores-{os.getpid()}.log"


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return float(own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime)


def _proc_cpu(pid: int) -> float:
    """A live (or exited, not yet reaped) process's CPU seconds, from /proc."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _timed_shard(*args: Any) -> Any:
    """In a worker: the shard, and the worker's CPU so far (its own, its finished
    cat-files', its long-lived cat-file's) logged; the last line per worker counts."""
    shard = _original_shard(*args)
    batch = history._batch
    live = _proc_cpu(batch[1].pid) if batch is not None else 0.0
    with _WORKER_LOG.open("a") as log:
        log.write(f"{os.getpid()} {_cpu() + live}\n")
    return shard


phases: dict[str, float] = {}


def _timed_listing_done(self: history.HistorySource, rev_list: Any, errors: Any) -> None:
    phases["listing"] = _proc_cpu(rev_list.pid)
    _original_listing_done(self, rev_list, errors)


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
    history.HistorySource._listing_done = _timed_listing_done  # type: ignore[method-assign]
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
        history.HistorySource._listing_done = _original_listing_done  # type: ignore[method-assign]
    total = _cpu() - start_cpu
    wall = time.perf_counter() - start_wall
    per_worker: dict[str, float] = {}
    for line in _WORKER_LOG.read_text().splitlines():
        pid, used = line.split()
        per_worker[pid] = float(used)  # cumulative: the last line is the whole
    workers = sorted(per_worker.values())
    read = read_end[0] - start_cpu if read_end else total
    return {
        "jobs": jobs,
        "wall": wall,
        "total": total,
        "listing": phases.get("listing", 0.0),
        "read": read,
        "parent": read - sum(workers) - phases.get("listing", 0.0) if workers else 0.0,
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
        "--run-kib",
        type=int,
        default=history._RUN_BYTES // 1024,
        help="KiB of the listing per run handed to a worker",
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
        atexit.register(shutil.rmtree, copy.parent, True)  # a copy of a whole mirror
        shutil.copytree(args.repo, copy, symlinks=True)
        planted, _ = bench_history.plant(copy, 20261124)
        print(f"planted {len(planted)} keys in a copy: {copy}")
        args.repo = copy
    jobs = [int(j) for j in args.jobs.split(",")]
    history._RUN_BYTES = args.run_kib * 1024
    results: dict[int, list[dict[str, Any]]] = {j: [] for j in jobs}
    for _ in range(args.runs):
        for j in jobs:
            results[j].append(one_run(args.repo.resolve(), j))
    print(f"load average {os.getloadavg()[0]:.1f}; CPU seconds, medians of {args.runs} runs")
    print("jobs  total  listing  parent  read(all)  workers (each)          after  wall  findings")
    print("(read(all): phase 1 whole, workers included; parent: its own part of phase 1, the")
    print(" listing excluded; after: phases 2-3)")
    for j in jobs:
        rows = results[j]

        def med(key: str, rows: list[dict[str, Any]] = rows) -> float:
            return float(statistics.median(r[key] for r in rows))

        each = [statistics.median(w) for w in zip(*(r["workers"] for r in rows), strict=False)]
        shown = " ".join(f"{w:.2f}" for w in each) or "-"
        print(
            f"{j:>4}  {med('total'):.2f}  {med('listing'):.2f}     {med('parent'):.2f}    "
            f"{med('read'):.2f}       "
            f"{shown:<22}  {med('after'):.2f}  {med('wall'):.2f}  {rows[0]['findings']}"
        )
    _WORKER_LOG.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
