"""Throughput of detect() over every blob of a repository, each under its real path.

    git -C REPO cat-file --batch-all-objects --batch > objects.bin
    git -C REPO rev-list --objects --all --missing=allow-any > paths.txt
    python bench/throughput.py objects.bin [paths.txt] [--rounds N] [--compare DIR ...]

Prints the CPU time and bytes per second of detect() alone (reading and splitting the
objects excluded). Without paths.txt every blob is scanned as if it had no path, which
makes every blob count as a configuration file (the slowest case).

`--marks` enables the Hyperscan survey (kimi_secret_scan/detect/marks.py), as the history
audit does; a tree without it runs as it is.

`--compare DIR` (a checkout, or any directory holding a `kimi_secret_scan` package, e.g.
`git archive main kimi_secret_scan | tar -x -C DIR`) times that code too, in child
processes interleaved with this tree's (this, DIR, this, DIR… once per round), and prints
the best CPU time of each with a digest of its findings: equal digests, same findings.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def blobs(raw: bytes, paths: dict[str, str]) -> list[Any]:
    from kimi_secret_scan.content import Content

    out: list[Any] = []
    pos = 0
    while pos < len(raw):
        header_end = raw.index(b"\n", pos)
        sha, kind, size = raw[pos:header_end].split(b" ")
        start = header_end + 1
        end = start + int(size)
        if kind == b"blob":
            out.append(Content(path=paths.get(sha.decode(), "blob"), data=raw[start:end]))
        pos = end + 1
    return out


def _measure(args: argparse.Namespace) -> dict[str, Any]:
    from kimi_secret_scan.detectors import detect

    if args.marks:
        try:
            from kimi_secret_scan.detect import marks
        except ImportError:
            pass  # a tree from before the marks
        else:
            assert marks.enable(), "Hyperscan is not installed"

    paths: dict[str, str] = {}
    if args.paths:
        for line in Path(args.paths).read_text("utf-8", "replace").splitlines():
            sha, _, path = line.partition(" ")
            if path:
                paths[sha] = path
    contents = blobs(Path(args.objects).read_bytes(), paths)
    total = sum(len(c.data) for c in contents)
    times: list[float] = []
    found: list[list[Any]] = []
    for _ in range(args.rounds):
        started = time.process_time()
        found = [detect(c) for c in contents]
        times.append(time.process_time() - started)
    digest = hashlib.sha256()
    for content, findings in zip(contents, found, strict=True):
        for f in findings:
            digest.update(repr((content.path, f.rule, f.line, f.column, f.secret)).encode())
    return {
        "blobs": len(contents),
        "bytes": total,
        "findings": sum(len(f) for f in found),
        "digest": digest.hexdigest()[:12],
        "cpu": min(times),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("objects")
    parser.add_argument("paths", nargs="?")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--compare", action="append", default=[], type=Path, metavar="DIR")
    parser.add_argument(
        "--marks", action="store_true", help="survey with Hyperscan's marks, as history does"
    )
    parser.add_argument("--code", type=Path, help=argparse.SUPPRESS)  # a child's tree
    args = parser.parse_args()
    if args.code is not None:
        sys.path.insert(0, str(args.code.resolve()))
        import kimi_secret_scan

        # The tree asked for, not an installed copy.
        assert Path(kimi_secret_scan.__file__).is_relative_to(args.code.resolve())
        print(json.dumps(_measure(args)))
        return
    if not args.compare:
        sys.path.insert(0, str(HERE.parent))
        r = _measure(args)
        print(
            f"{r['blobs']} blobs, {r['bytes'] / 1e6:.1f} MB, {r['findings']} findings, "
            f"{r['cpu']:.2f} s CPU, {r['bytes'] / r['cpu'] / 1e6:.0f} MB/s"
        )
        return
    trees = [HERE.parent, *args.compare]
    best: dict[Path, dict[str, Any]] = {}
    for _ in range(args.rounds):
        for tree in trees:
            cmd = [sys.executable, __file__, args.objects, *([args.paths] if args.paths else [])]
            cmd += ["--rounds", "1", "--code", str(tree), *(["--marks"] if args.marks else [])]
            r = json.loads(subprocess.run(cmd, capture_output=True, check=True).stdout)
            if tree not in best or r["cpu"] < best[tree]["cpu"]:
                best[tree] = r
    print(f"{'code':50} {'CPU s':>7} {'MB/s':>6} {'findings':>9}  digest")
    for tree in trees:
        r = best[tree]
        mbps = r["bytes"] / r["cpu"] / 1e6
        print(f"{tree!s:50} {r['cpu']:7.2f} {mbps:6.0f} {r['findings']:9}  {r['digest']}")


if __name__ == "__main__":
    main()
