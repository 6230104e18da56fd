"""Throughput of detect() over every object of a repository (non-matching data, mostly).

    git -C REPO cat-file --batch-all-objects --batch > objects.bin
    python bench/throughput.py objects.bin

Prints bytes per second of detect() alone, object splitting excluded.
"""

from __future__ import annotations

import sys
import time

from kimi_secret_scan.content import Content
from kimi_secret_scan.detectors import detect


def split(raw: bytes) -> list[bytes]:
    blobs: list[bytes] = []
    pos = 0
    while pos < len(raw):
        header_end = raw.index(b"\n", pos)
        _, _, size = raw[pos:header_end].split(b" ")
        start = header_end + 1
        end = start + int(size)
        blobs.append(raw[start:end])
        pos = end + 1
    return blobs


def main() -> None:
    with open(sys.argv[1], "rb") as handle:
        blobs = split(handle.read())
    total = sum(len(b) for b in blobs)
    best = float("inf")
    findings = 0
    for _ in range(int(sys.argv[2]) if len(sys.argv) > 2 else 3):
        started = time.perf_counter()
        findings = sum(len(detect(Content(path="blob", data=b))) for b in blobs)
        best = min(best, time.perf_counter() - started)
    print(
        f"{len(blobs)} objects, {total / 1e6:.1f} MB, {findings} findings, "
        f"{best:.2f} s, {total / best / 1e6:.0f} MB/s"
    )


if __name__ == "__main__":
    main()
