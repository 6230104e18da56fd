"""Dense input: files holding thousands of key-shaped tokens, one per line.

    python bench/dense.py [--keys 1000 10000 100000] [--src DIR] [--timeout 300]

For each count N it writes a file of N `sk-` + 48 tokens (generated at run time, one
`KEY_i=<token>` line each) with one more key in the middle next to a Kimi base URL, runs
`python -m kimi_secret_scan files <file> --format json` on it (the real CLI, in a fresh
process), checks that every token is reported and the planted key at high confidence, and
prints the wall time, the CPU time of the scan's process (steadier than the wall time on a
shared machine) and both per MB. `--src` runs another checkout's code (for example
main's, to measure before a change): its directory is put first on PYTHONPATH. A run over
`--timeout` seconds is stopped and reported as such. Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import string
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# The scanner runs in child processes started elsewhere than this checkout: let them import
# this checkout's package without an install (a fresh clone), as this script does.
_CHECKOUT = str(Path(__file__).resolve().parent.parent)
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (_CHECKOUT, os.environ.get("PYTHONPATH", "")) if p
)

ALNUM = string.ascii_letters + string.digits
SK = "sk-"  # keys are built at run time; none is ever written into this file


# Starts that older versions took for placeholders (a real key may start so; these bodies
# avoid them so the same file measures every version).
_OLD_STARTS = ("your", "xxxx", "test", "fake", "demo", "dummy", "mock", "abcd", "1234")


def _body(rng: random.Random) -> str:
    # Mixed case, digits, no run of 3: never taken for a placeholder by any version.
    while True:
        text = "".join(rng.choice(ALNUM) for _ in range(48))
        if (
            any(c.isupper() for c in text)
            and any(c.islower() for c in text)
            and any(c.isdigit() for c in text)
            and all(text[i] != text[i + 1] or text[i] != text[i + 2] for i in range(46))
            and not text.lower().startswith(_OLD_STARTS)
        ):
            return text


def dense_file(n: int, seed: int = 11) -> tuple[bytes, str]:
    """N tokens one per line, and one key with Kimi context in the middle: (data, that key)."""
    rng = random.Random(seed)
    lines = [f"KEY_{i}={SK}{_body(rng)}\n" for i in range(n)]
    key = SK + _body(rng)
    block = (
        "# Kimi (Moonshot AI) settings\n"
        "MOONSHOT_BASE_URL=https://api.moonshot.cn/v1\n"
        f"MOONSHOT_API_KEY={key}\n"
    )
    lines.insert(n // 2, block)
    return "".join(lines).encode(), key


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(n: int, src: str | None, timeout: float) -> tuple[float | None, float, int]:
    data, key = dense_file(n)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "tokens.txt")
        path.write_bytes(data)
        env = dict(os.environ)
        if src:
            env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
        cmd = [sys.executable, "-m", "kimi_secret_scan", "files", str(path), "--format", "json"]
        cmd += ["--no-config", "--no-baseline"]
        start, cpu = time.perf_counter(), _cpu()
        try:
            proc = subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return None, 0.0, len(data)
        elapsed = time.perf_counter() - start
        cpu = _cpu() - cpu
    report = json.loads(proc.stdout)
    findings = report["findings"]
    planted = [f for f in findings if f["line"] == n // 2 + 3]
    if proc.returncode != 1 or len(findings) != n + 1 or not planted:
        sys.exit(f"{n} keys: exit {proc.returncode}, {len(findings)} findings (want {n + 1})")
    if planted[0]["confidence"] != "high" or planted[0]["secret"] == key:
        sys.exit(f"{n} keys: the planted key was not reported at high confidence, redacted")
    return elapsed, cpu, len(data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keys", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--src", help="a checkout whose kimi_secret_scan to run")
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args()
    print(f"{'keys':>8}  {'MB':>6}  {'wall':>9}  {'s/MB':>7}  {'CPU':>8}  {'CPU s/MB':>8}")
    for n in args.keys:
        elapsed, cpu, size = run(n, args.src, args.timeout)
        mb = size / 1e6
        if elapsed is None:
            print(f"{n:>8}  {mb:6.2f}  >{args.timeout:7.0f}s  {'-':>7}", flush=True)
        else:
            wall = f"{elapsed:8.2f}s  {elapsed / mb:7.2f}"
            print(f"{n:>8}  {mb:6.2f}  {wall}  {cpu:7.2f}s  {cpu / mb:8.2f}", flush=True)


if __name__ == "__main__":
    main()
