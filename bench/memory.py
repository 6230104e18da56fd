"""Peak memory of the scanner on a large history and on one large file.

Builds, in a temporary directory and at run time (nothing is stored in this repository):

- a history of `--history-mb` MiB (default 1024) of unique file content: `git fast-import`
  of many commits, each replacing one of 32 files with a new ~512 KiB blob of random
  base64 text, one blob holding a generated key;
- one file of `--file-mb` MiB (default 500) of the same kind of text with a generated key
  near its end, on disk, staged (for `staged`), then committed (for `history`).

Then runs each command once in a fresh process and reports its peak RSS: the largest
resident size of any process of the tree (the scanner and the git processes it starts),
from GNU time's %M (`/usr/bin/time`), or else from wait4's rusage, and the scanner's own
Python process (getrusage at exit). git maps pack files into memory, and the pages it
touches count in its RSS although they are page cache, not allocations. Every run must find the
planted key (exit 1) unless the file is over the size limit and reported as skipped.

    python bench/memory.py                          # 1 GiB history, 500 MiB file
    python bench/memory.py --history-mb 256 --file-mb 100
"""

from __future__ import annotations

import argparse
import base64
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

MIB = 1024 * 1024
BLOB = 512 * 1024


def _key(rng: random.Random) -> str:
    alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return "sk-" + "kimi-" + "".join(rng.choice(alnum) for _ in range(64))


def _text(rng: random.Random, size: int) -> bytes:
    """`size` bytes of 76-column base64 lines: text that looks random, as minified data does."""
    raw = base64.b64encode(rng.randbytes(size * 3 // 4 + 3))[: size - size // 77]
    lines = [raw[i : i + 76] for i in range(0, len(raw), 76)]
    return (b"\n".join(lines) + b"\n")[:size]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        GIT_AUTHOR_NAME="Bench",
        GIT_AUTHOR_EMAIL="bench@example.com",
        GIT_COMMITTER_NAME="Bench",
        GIT_COMMITTER_EMAIL="bench@example.com",
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,
    )
    return env


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, env=_env(), check=True, capture_output=True)


def build_history(path: Path, size_mb: int, rng: random.Random) -> str:
    """A bare repository whose history holds `size_mb` MiB of unique blobs; returns the key."""
    git(path.parent, "init", "-q", "--bare", "--initial-branch=main", str(path))
    key = _key(rng)
    count = max(1, size_mb * MIB // BLOB)
    proc = subprocess.Popen(
        ["git", "fast-import", "--quiet"], cwd=path, stdin=subprocess.PIPE, env=_env()
    )
    assert proc.stdin is not None
    out = proc.stdin
    for i in range(count):
        data = _text(rng, BLOB)
        if i == count // 2:
            data = data[:1000] + f'\nKIMI_API_KEY="{key}"\n'.encode() + data[1000:]
        message = f"change {i}\n".encode()
        out.write(b"blob\nmark :1\ndata %d\n%s\n" % (len(data), data))
        out.write(
            b"commit refs/heads/main\ncommitter Bench <bench@example.com> %d +0000\n"
            b"data %d\n%s" % (1_700_000_000 + i, len(message), message)
        )
        out.write(b"M 100644 :1 src/module%02d.txt\n\n" % (i % 32))
    out.close()
    if proc.wait() != 0:
        raise SystemExit("git fast-import failed")
    return key


def build_big_file(path: Path, size_mb: int, rng: random.Random) -> str:
    """A work tree with one `size_mb` MiB file (key near the end), staged but not committed."""
    git(path.parent, "init", "-q", "--initial-branch=main", str(path))
    # A first commit, so that `range HEAD~1..HEAD` reads the commit that adds the file.
    git(path, "commit", "-q", "--no-verify", "--allow-empty", "-m", "start")
    key = _key(rng)
    size = size_mb * MIB
    with (path / "big.txt").open("wb") as handle:
        written = 0
        while written < size - 4 * MIB:
            chunk = _text(rng, 4 * MIB)
            handle.write(chunk)
            written += len(chunk)
        handle.write(f'KIMI_API_KEY="{key}"\n'.encode())
        handle.write(_text(rng, max(0, size - written - 100)))
    git(path, "add", "big.txt")
    return key


@dataclass
class Measure:
    case: str
    command: str
    seconds: float
    peak_mib: float  # the largest process of the tree (git's mmapped packs count)
    python_mib: float  # the scanner's own Python process
    code: int
    key_found: bool


def run(case: str, argv: Sequence[str], cwd: Path, key: str, expect_skip: bool) -> Measure:
    self_out = tempfile.NamedTemporaryFile("r")  # noqa: SIM115
    # The CLI in-process, recording its own peak RSS at exit (sys.exit runs atexit).
    wrapper = (
        "import atexit, resource, sys\n"
        f"atexit.register(lambda: open({self_out.name!r}, 'w').write("
        "str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)))\n"
        "from kimi_secret_scan.cli import main\n"
        "main(prog_name='kimi-secret-scan')\n"
    )
    scanner = [sys.executable, "-c", wrapper, *argv, "--format", "json"]
    scanner.append("--show-secrets")  # to check the planted key is the one found
    gnu_time = Path("/usr/bin/time")
    with self_out, tempfile.NamedTemporaryFile("r") as rss_out, tempfile.TemporaryFile() as report:
        command = [str(gnu_time), "-f", "%M", "-o", rss_out.name] if gnu_time.exists() else []
        start = time.perf_counter()
        proc = subprocess.Popen(
            [*command, *scanner], cwd=cwd, stdout=report, stderr=subprocess.DEVNULL
        )
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        code = os.waitstatus_to_exitcode(status)
        lines = rss_out.read().strip().splitlines()
        peak_kib = int(lines[-1]) if lines and lines[-1].isdigit() else usage.ru_maxrss
        report.seek(0)
        found = key.encode() in report.read()
        own = self_out.read().strip()
        python_kib = int(own) if own.isdigit() else 0
    ok_code = 0 if expect_skip else 1
    if code != ok_code or found == expect_skip:
        print(f"  unexpected: {case} {' '.join(argv)} exited {code}, key found: {found}")
    return Measure(case, " ".join(argv), seconds, peak_kib / 1024, python_kib / 1024, code, found)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--history-mb", type=int, default=1024)
    parser.add_argument("--file-mb", type=int, default=500)
    parser.add_argument("--seed", type=int, default=20261124)
    parser.add_argument("--tmp", type=Path, default=None, help="where to build (default: TMPDIR)")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    limit = str((args.file_mb + 16) * MIB)  # above the file: it is scanned, not skipped
    results: list[Measure] = []
    with tempfile.TemporaryDirectory(prefix="kimi-mem-", dir=args.tmp) as tmp:
        root = Path(tmp)
        start = time.perf_counter()
        history_key = build_history(root / "history.git", args.history_mb, rng)
        print(f"built a {args.history_mb} MiB history in {time.perf_counter() - start:.0f} s")
        results.append(
            run("history", ["history", "--repo", "history.git"], root, history_key, False)
        )
        del history_key
        subprocess.run(["rm", "-rf", str(root / "history.git")], check=True)

        start = time.perf_counter()
        big = root / "big"
        file_key = build_big_file(big, args.file_mb, rng)
        print(f"built a {args.file_mb} MiB file in {time.perf_counter() - start:.0f} s")
        over = args.file_mb * MIB > 100 * MIB
        results.append(run("file, default limit", ["files", "big.txt"], big, file_key, over))
        results.append(run("file, default limit", ["staged"], big, file_key, over))
        big_limit = ["--max-file-size", limit]
        results.append(run("file, scanned", ["files", "big.txt", *big_limit], big, file_key, False))
        results.append(run("file, scanned", ["staged", *big_limit], big, file_key, False))
        git(big, "commit", "-q", "--no-verify", "-m", "big")
        results.append(run("file, scanned", ["history", *big_limit], big, file_key, False))
        results.append(
            run("file, scanned", ["range", "HEAD~1..HEAD", *big_limit], big, file_key, False)
        )

    print()
    print(
        f"{'case':<22}{'command':<44}{'wall s':>7}{'tree peak MiB':>14}"
        f"{'Python MiB':>11}{'exit':>5}"
    )
    for m in results:
        print(
            f"{m.case:<22}{m.command:<44}{m.seconds:>7.1f}{m.peak_mib:>14.0f}"
            f"{m.python_mib:>11.0f}{m.code:>5}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
