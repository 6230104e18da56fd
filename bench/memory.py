"""Peak memory of every scanning command on a large history, one large file and its blob.

Builds, in a temporary directory and at run time (nothing is stored in this repository):

- a history of `--history-mb` MiB (default 1024) of unique file content: `git fast-import`
  of many commits, each replacing one of 32 files with a new ~512 KiB blob of random
  base64 text, one blob holding a generated key;
- one file of `--file-mb` MiB (default 500) of the same kind of text with a generated key
  near its end, on disk, staged (for `staged`), then committed (for `history`, `range`,
  `ci`, `pre-push`, `pre-receive`); the same file is also the message of a commit-msg hook
  (`commit-msg`) and of a last commit (`range`, `history`); last, one line is appended to
  it under a `* diff` attribute and staged (`staged`: a small text patch of a large blob).

Each command that reads files or blobs runs once in a fresh process with the size limit
raised above the file (it is scanned: exit 1, the planted key found), and once with the
default limit (100 MiB: the file is skipped and said: exit 0 for `files`, 2 for a gate and
for `history`, whose scan is then incomplete; `commit-msg` has no limit). `staged` runs
again with a `* diff` attribute, which makes git print the file into the patch whatever its
size.
`pre-push` and `pre-receive` run as real hooks: `git push` to a bare remote gives them their
arguments and stdin, and the remote runs `pre-receive` on the pushed (quarantined) objects.

For each run it reports the peak RSS of the largest process of the tree (the scanner and
the git processes it starts), from GNU time's %M (`/usr/bin/time`), or else from wait4's
rusage, and the scanner's own Python process (getrusage at exit). git maps pack files into
memory, and the pages it touches count in its RSS although they are page cache, not
allocations; `cat-file` also inflates a whole blob: that is git's memory, not the
scanner's, and is why the two columns are apart.

    python bench/memory.py                          # 1 GiB history, 500 MiB file
    python bench/memory.py --history-mb 32 --file-mb 500 --only pre-push,pre-receive
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

# The scanner runs in child processes started elsewhere than this checkout: let them import
# this checkout's package without an install (a fresh clone), as this script does.
_CHECKOUT = str(Path(__file__).resolve().parent.parent)
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (_CHECKOUT, os.environ.get("PYTHONPATH", "")) if p
)

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
    ok: bool  # the exit code expected, and the key found (scanned) or not (skipped)


# The CLI in-process, recording its own peak RSS at exit (sys.exit runs atexit) in the file
# $KIMI_BENCH_RSS names: a file, so that git can run it as a hook.
WRAPPER = """\
import atexit, os, resource
out = os.environ.get("KIMI_BENCH_RSS")
if out:
    atexit.register(lambda: open(out, "w").write(
        str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)))
from kimi_secret_scan.cli import main
main(prog_name="kimi-secret-scan")
"""

GNU_TIME = Path("/usr/bin/time")


class Bench:
    def __init__(self, root: Path, only: set[str] | None) -> None:
        self.root = root
        self.only = only
        self.results: list[Measure] = []
        self.wrapper = root / "scanner.py"
        self.wrapper.write_text(WRAPPER)
        self.rss = root / "python.rss"
        self.tree = root / "tree.rss"
        self.report = root / "report.out"
        self.errors = root / "stderr.out"

    def wanted(self, command: str) -> bool:
        return self.only is None or command in self.only

    def _files(self) -> None:
        for f in (self.rss, self.tree, self.report, self.errors):
            f.unlink(missing_ok=True)

    def _read(self) -> tuple[int | None, float, float, bytes]:
        """(exit code GNU time saw or None, tree MiB, Python MiB, report)."""
        code = None
        peak = 0.0
        if self.tree.exists():
            for line in self.tree.read_text().splitlines():
                if line.startswith("Command exited with non-zero status"):
                    code = int(line.rsplit(" ", 1)[1])
                elif line.strip().isdigit():
                    peak = int(line) / 1024
            if peak and code is None:
                code = 0
        own = self.rss.read_text().strip() if self.rss.exists() else ""
        report = self.report.read_bytes() if self.report.exists() else b""
        return code, peak, (int(own) / 1024 if own.isdigit() else 0.0), report

    def _record(
        self,
        case: str,
        shown: str,
        seconds: float,
        code: int,
        peak: float,
        python: float,
        expect: int,
        ok: bool,
    ) -> None:
        ok = ok and code == expect
        if not ok:
            print(f"  unexpected: {case} {shown}: exited {code} (expected {expect})", flush=True)
            said = self.errors.read_bytes() if self.errors.exists() else b""
            for line in said.decode("utf-8", "replace").splitlines()[-5:]:
                print(f"    stderr: {line}", flush=True)
        m = Measure(case, shown, seconds, peak, python, code, ok)
        self.results.append(m)
        print(f"  {_row(m)}", flush=True)

    def run(
        self,
        case: str,
        argv: Sequence[str],
        cwd: Path,
        key: str,
        expect: int,
        check: Callable[[bytes], bool] | None = None,
        env: dict[str, str] | None = None,
        report_args: Sequence[str] = ("--format", "json", "--show-secrets"),
    ) -> None:
        """The scanner run directly. `check` judges the report (default: the key is in it
        exactly when the run is to find it)."""
        if not self.wanted(argv[0]):
            return
        self._files()
        scanner = [sys.executable, str(self.wrapper), *argv, *report_args]
        timing = [str(GNU_TIME), "-f", "%M", "-o", str(self.tree)] if GNU_TIME.exists() else []
        full_env = {**_env(), **(env or {}), "KIMI_BENCH_RSS": str(self.rss)}
        start = time.perf_counter()
        with self.report.open("wb") as out, self.errors.open("wb") as err:
            proc = subprocess.Popen(
                [*timing, *scanner], cwd=cwd, stdout=out, stderr=err, env=full_env
            )
            _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        code = os.waitstatus_to_exitcode(status)
        _, peak, python, report = self._read()
        peak = peak or usage.ru_maxrss / 1024
        ok = check(report) if check else (key.encode() in report) == (expect == 1)
        self._record(case, " ".join(argv), seconds, code, peak, python, expect, ok)

    def hook(
        self,
        case: str,
        hook: Path,
        args: Sequence[str],
        push: Sequence[str],
        cwd: Path,
        key: str,
        expect: int,
    ) -> None:
        """The scanner run by git as the hook `hook` (pre-push, pre-receive) of a `git push`:
        git gives it its arguments, stdin and environment."""
        if not self.wanted(hook.name):
            return
        self._files()
        timing = f"{GNU_TIME} -f %M -o '{self.tree}' " if GNU_TIME.exists() else ""
        hook.write_text(
            "#!/bin/sh\n"
            f"KIMI_BENCH_RSS='{self.rss}' exec {timing}'{sys.executable}' '{self.wrapper}' "
            f'{hook.name} "$@" {" ".join(args)} --format json --show-secrets '
            f"--output '{self.report}'\n"
        )
        hook.chmod(0o755)
        start = time.perf_counter()
        proc = subprocess.run(["git", *push], cwd=cwd, env=_env(), capture_output=True)
        seconds = time.perf_counter() - start
        hook.unlink()
        code, peak, python, report = self._read()
        if code is None:
            print(f"  {hook.name} did not run: {proc.stderr.decode(errors='replace')[-500:]}")
            code = -1
        pushed = proc.returncode == 0
        ok = (key.encode() in report) == (expect == 1) and pushed == (expect == 0)
        shown = f"{hook.name} {' '.join(args)} (git {' '.join(push)})"
        self._record(case, shown.replace("  ", " "), seconds, code, peak, python, expect, ok)


def _row(m: Measure) -> str:
    flag = "" if m.ok else "  UNEXPECTED"
    return (
        f"{m.case:<28}{m.command:<62}{m.seconds:>7.1f}{m.peak_mib:>10.0f}"
        f"{m.python_mib:>11.0f}{m.code:>5}{flag}"
    )


def _baseline_has_entry(path: Path) -> Callable[[bytes], bool]:
    return lambda _report: path.exists() and "[[" in path.read_text()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--history-mb", type=int, default=1024)
    parser.add_argument("--file-mb", type=int, default=500)
    parser.add_argument("--seed", type=int, default=20261124)
    parser.add_argument("--tmp", type=Path, default=None, help="where to build (default: TMPDIR)")
    parser.add_argument(
        "--only", default=None, help="comma-separated commands to run (default: all)"
    )
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    only = set(args.only.split(",")) if args.only else None
    limit = str((args.file_mb + 16) * MIB)  # above the file: it is scanned, not skipped
    big_limit = ["--max-file-size", limit]
    # Over the default limit (100 MiB) the file is skipped and said: `files`, `history` and
    # `baseline` exit 0, a gate exits 2 (the limit was not chosen: never a silent pass).
    over = args.file_mb * MIB > 100 * MIB
    default = 0 if over else 1
    gate_default = 2 if over else 1
    with tempfile.TemporaryDirectory(prefix="kimi-mem-", dir=args.tmp) as tmp:
        root = Path(tmp)
        bench = Bench(root, only)
        if bench.wanted("history") and args.history_mb:
            start = time.perf_counter()
            history_key = build_history(root / "history.git", args.history_mb, rng)
            print(f"built a {args.history_mb} MiB history in {time.perf_counter() - start:.0f} s")
            bench.run("history", ["history", "--repo", "history.git"], root, history_key, 1)
            subprocess.run(["rm", "-rf", str(root / "history.git")], check=True)

        start = time.perf_counter()
        big = root / "big"
        key = build_big_file(big, args.file_mb, rng)
        print(f"built a {args.file_mb} MiB file in {time.perf_counter() - start:.0f} s", flush=True)
        file_, blob = f"file {args.file_mb} MiB", f"blob {args.file_mb} MiB"
        bench.run(file_, ["files", "big.txt"], big, key, default)
        bench.run(file_, ["files", "big.txt", *big_limit], big, key, 1)
        bench.run(file_, ["staged"], big, key, gate_default)
        bench.run(file_, ["staged", *big_limit], big, key, 1)
        # The committer's attributes: `* diff` makes git print the file into the patch.
        (big / ".gitattributes").write_text("* diff\n")
        git(big, "add", ".gitattributes")
        bench.run(f"{file_}, * diff", ["staged"], big, key, gate_default)
        bench.run(f"{file_}, * diff", ["staged", *big_limit], big, key, 1)
        git(big, "rm", "-q", "--cached", ".gitattributes")
        (big / ".gitattributes").unlink()
        # A message as large as the file (the commit-msg hook's argument): no size limit.
        bench.run(file_, ["commit-msg", "big.txt"], big, key, 1)
        baseline = root / "baseline.toml"
        bench.run(
            file_,
            [
                "baseline",
                "create",
                "--file",
                "../baseline.toml",
                "--force",
                "--",
                "big.txt",
                *big_limit,
            ],
            big,
            key,
            0,
            check=_baseline_has_entry(baseline),
            report_args=(),
        )
        bench.run(
            file_,
            ["baseline", "update", "--file", "../baseline.toml", "--", "big.txt", *big_limit],
            big,
            key,
            0,
            check=_baseline_has_entry(baseline),
            report_args=(),
        )

        git(big, "commit", "-q", "--no-verify", "-m", "big")
        print(f"committed in {time.perf_counter() - start:.0f} s", flush=True)
        bench.run(blob, ["history"], big, key, gate_default)  # a size skip: incomplete
        bench.run(blob, ["history", *big_limit], big, key, 1)
        bench.run(blob, ["range", "HEAD~1..HEAD"], big, key, gate_default)
        bench.run(blob, ["range", "HEAD~1..HEAD", *big_limit], big, key, 1)
        bench.run(blob, ["ci", "--base", "HEAD~1"], big, key, gate_default)
        bench.run(blob, ["ci", "--base", "HEAD~1", *big_limit], big, key, 1)
        # A GitHub Actions push event, as the runner describes it.
        sha = (
            subprocess.run(
                ["git", "rev-parse", "HEAD", "HEAD~1"], cwd=big, capture_output=True, check=True
            )
            .stdout.decode()
            .split()
        )
        event = root / "event.json"
        event.write_text(json.dumps({"before": sha[1], "after": sha[0], "ref": "refs/heads/main"}))
        github = {
            "GITHUB_ACTIONS": "true",
            "GITHUB_EVENT_NAME": "push",
            "GITHUB_EVENT_PATH": str(event),
            "GITHUB_SHA": sha[0],
            "GITHUB_REF": "refs/heads/main",
        }
        bench.run(f"{blob}, push event", ["ci", *big_limit], big, key, 1, env=github)

        if bench.wanted("pre-push") or bench.wanted("pre-receive"):
            remote = root / "remote.git"
            git(root, "init", "-q", "--bare", "--initial-branch=main", str(remote))
            git(big, "remote", "add", "origin", str(remote))
            git(big, "push", "-q", "--no-verify", "origin", "HEAD~1:refs/heads/main")
            push = ["push", "origin", "main"]
            pre_push = big / ".git" / "hooks" / "pre-push"
            pre_receive = remote / "hooks" / "pre-receive"
            bench.hook(blob, pre_push, big_limit, push, big, key, 1)
            bench.hook(
                blob, pre_receive, big_limit, ["push", "--no-verify", "origin", "main"], big, key, 1
            )
            bench.hook(
                blob, pre_push, [], ["push", "--dry-run", "origin", "main"], big, key, gate_default
            )
            bench.hook(
                blob,
                pre_receive,
                [],
                ["push", "--no-verify", "origin", "main"],
                big,
                key,
                gate_default,
            )

        # A commit whose message is the 500 MiB file: a push may carry one (no size limit
        # applies to messages).
        if bench.wanted("range") or bench.wanted("history"):
            message = f"message {args.file_mb} MiB"
            git(big, "commit", "-q", "--no-verify", "--allow-empty", "-F", "big.txt")
            bench.run(message, ["range", "HEAD~1..HEAD"], big, key, 1)
            bench.run(message, ["history"], big, key, 1)

        # The committer's `* diff`, and one line appended to the 500 MiB file: a small
        # text patch of a large blob (the key is in the earlier version: not new, exit 0).
        if bench.wanted("staged"):
            (big / ".gitattributes").write_text("* diff\n")
            git(big, "add", ".gitattributes")
            git(big, "commit", "-q", "--no-verify", "-m", "attributes")
            with (big / "big.txt").open("a") as handle:
                handle.write("one more line\n")
            git(big, "add", "big.txt")
            edited = f"{file_} +1 line, * diff"
            bench.run(edited, ["staged"], big, key, 2 if over else 0)
            bench.run(edited, ["staged", *big_limit], big, key, 0)

    print()
    print(f"{'case':<28}{'command':<62}{'wall s':>7}{'tree MiB':>10}{'Python MiB':>11}{'exit':>5}")
    for m in bench.results:
        print(_row(m))
    return 0 if all(m.ok for m in bench.results) else 1


if __name__ == "__main__":
    sys.exit(main())
