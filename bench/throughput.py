"""Throughput of detect() over every blob of a repository, each under its real path.

    git -C REPO cat-file --batch-all-objects --batch > objects.bin
    git -C REPO rev-list --objects --all --missing=allow-any > paths.txt
    python bench/throughput.py objects.bin [paths.txt] [--rounds N]

Prints the CPU time and bytes per second of detect() alone (reading and splitting the
objects excluded). Without paths.txt every blob is scanned as if it had no path, which
makes every blob count as a configuration file (the slowest case).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kimi_secret_scan.content import Content
from kimi_secret_scan.detectors import detect


def blobs(raw: bytes, paths: dict[str, str]) -> list[Content]:
    out: list[Content] = []
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("objects")
    parser.add_argument("paths", nargs="?")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    paths: dict[str, str] = {}
    if args.paths:
        for line in Path(args.paths).read_text("utf-8", "replace").splitlines():
            sha, _, path = line.partition(" ")
            if path:
                paths[sha] = path
    contents = blobs(Path(args.objects).read_bytes(), paths)
    total = sum(len(c.data) for c in contents)
    best = float("inf")
    findings = 0
    for _ in range(args.rounds):
        started = time.process_time()
        findings = sum(len(detect(c)) for c in contents)
        best = min(best, time.process_time() - started)
    print(
        f"{len(contents)} blobs, {total / 1e6:.1f} MB, {findings} findings, "
        f"{best:.2f} s CPU, {total / best / 1e6:.0f} MB/s"
    )


if __name__ == "__main__":
    main()
