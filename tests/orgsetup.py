"""An organisation to audit: bare repositories served by a real `git daemon` on 127.0.0.1."""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.gitrepo import GitRepo, Run, git
from tests.keygen import kimi_code_key, moonshot_key


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def closed_port() -> Iterator[int]:
    """A loopback port that refuses connections for as long as the block runs.

    The socket stays bound but never listens, so the kernel resets every connection. A port
    bound then released could be handed out again at once: the git daemon's free_port()
    drew the same port once in ~14,000 runs (1 in 20,000 measured), and the test that
    expects "Connection refused" from it then reached the daemon.
    """
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        yield int(s.getsockname()[1])


@contextlib.contextmanager
def git_daemon(base: Path, attempts: int = 5) -> Iterator[str]:
    """`git daemon` serving every repository under `base`; yields its git:// base URL.

    A free port is released before the daemon binds it, so another process may take it
    meanwhile: the daemon then fails to bind and exits, and a new port is tried. Readiness
    is the daemon's own "Ready to rumble" (it has bound the port), not a connection that
    another listener on the same port could have answered.
    """
    for _ in range(attempts):
        port = free_port()
        log = base.parent / f"git-daemon-{port}.log"
        with log.open("wb") as err:
            proc = subprocess.Popen(
                [
                    "git",
                    "daemon",
                    f"--base-path={base}",
                    "--export-all",
                    "--reuseaddr",
                    "--verbose",
                    "--listen=127.0.0.1",
                    f"--port={port}",
                    str(base),
                ],
                stdout=subprocess.DEVNULL,
                stderr=err,
                # `git daemon` runs git-daemon as a child: kill the whole group, not just `git`.
                start_new_session=True,
            )
        try:
            deadline = time.monotonic() + 60  # only catches a daemon that never starts
            while b"Ready to rumble" not in log.read_bytes():
                if proc.poll() is not None:
                    break  # could not bind (the port was taken meanwhile): try another
                if time.monotonic() > deadline:
                    raise AssertionError("git daemon did not start: " + log.read_text())
                time.sleep(0.02)
            else:
                yield f"git://127.0.0.1:{port}"
                return
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    raise AssertionError(f"git daemon did not start in {attempts} attempts: " + log.read_text())


@dataclass
class Org:
    served: Path  # bare repositories, served by the daemon
    names: list[str]
    shared_key: str  # planted in three repositories
    shared_in: list[str]
    keys: dict[str, list[str]] = field(default_factory=dict)  # repository → its keys


def build_org(root: Path, count: int = 20, seed: int = 15) -> Org:
    """`count` repositories; one key in three of them (removed again from one's main), one
    key only in one repository's main, one only on a feature branch; the rest clean."""
    rng = random.Random(seed)
    shared = moonshot_key(rng)
    names = [f"team{i % 4}/service-{i:02d}" for i in range(count)]
    shared_in = [names[0], names[7], names[13]]
    org = Org(root / "served", names, shared, shared_in)
    for i, name in enumerate(names):
        work = GitRepo(root / "work" / name)
        work.commit_file("README.md", f"# {name}\n")
        keys = []
        if name in shared_in:
            work.commit_file(".env", f"MOONSHOT_API_KEY={shared}\n", "add env")
            keys.append(shared)
            if name == names[7]:
                work.git("rm", "-q", ".env")
                work.commit("remove the key")
        if i == 5:
            own = kimi_code_key(rng)
            work.commit_file("config/settings.py", f'KIMI_API_KEY = "{own}"\n', "config")
            keys.append(own)
        if i == 9:
            own = moonshot_key(rng)
            work.git("checkout", "-q", "-b", "feature")
            work.commit_file("notebook.py", f'MOONSHOT_API_KEY = "{own}"\n')
            work.git("checkout", "-q", "main")
            keys.append(own)
        org.keys[name] = keys
        target = org.served / f"{name}.git"
        target.parent.mkdir(parents=True, exist_ok=True)
        git(root, "clone", "-q", "--mirror", str(work.path), str(target))
    return org


def merged_json(run: Run) -> dict[str, Any]:
    assert run.code in (0, 1, 2), run.all
    data: dict[str, Any] = json.loads(run.out)
    return data
