"""Precision on real repositories: `history` over whole mirrors of public projects that
integrate Kimi / Moonshot, with the counts a person needs to classify every finding.

    python bench/real_repos.py /work/.mirror/MoonshotAI+kimi-cli/repo [more mirrors...]

For each mirror (a bare clone, e.g. from `git clone --mirror`) it runs
`python -m kimi_secret_scan history --repo <mirror> --format json --no-config
--no-baseline` (the repository's own configuration could hide findings), and prints one
row per repository (commits and blobs scanned, findings, objects skipped, wall time) and
then every finding, redacted, with its rule, confidence, path, line and note: what a
person reads to classify it as a real key, a false positive or ambiguous. Nothing from the
repositories is written anywhere; keys are printed redacted only.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mirrors", nargs="+", type=Path)
    args = parser.parse_args()
    rows = []
    details = []
    for repo in args.mirrors:
        name = repo.parent.name.replace("+", "/") if repo.name == "repo" else repo.name
        cmd = [sys.executable, "-m", "kimi_secret_scan", "history", "--repo", str(repo)]
        cmd += ["--format", "json", "--no-config", "--no-baseline", "--no-progress"]
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, check=False)
        elapsed = time.perf_counter() - start
        try:
            report = json.loads(proc.stdout)
        except ValueError:
            err = proc.stderr.decode(errors="replace").strip()[-300:]
            rows.append((name, 0, 0, f"exit {proc.returncode}: {err}", 0, elapsed))
            continue
        findings = report["findings"]
        commits, blobs = report["stats"]["commits"], report["stats"]["blobs"]
        # Exit 2 with a report: objects absent from a partial snapshot (listed as skipped).
        skipped = len(report["stats"]["skipped"])
        rows.append((name, commits, blobs, str(len(findings)), skipped, elapsed))
        for f in findings:
            where = f"{f['path']}:{f['line']}"
            note = (f.get("note") or "")[:90]
            details.append(f"{name}  {f['rule']} {f['confidence']}  {where}  {f['secret']}  {note}")
    head = f"{'repository':45} {'commits':>8} {'blobs':>8} {'findings':>9} {'skipped':>8}"
    print(f"{head} {'time':>8}")
    for name, commits, blobs, found, skipped, elapsed in rows:
        print(f"{name:45} {commits:>8} {blobs:>8} {found:>9} {skipped:>8} {elapsed:7.1f}s")
    print()
    for line in details:
        print(line)


if __name__ == "__main__":
    main()
