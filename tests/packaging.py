"""Install tests' shared parts: a snapshot of this checkout as a git repository (tagged as
the release process tags it), the scanner's dependencies as files, and its sdist and wheel.

Built once per session (conftest.py) and installed offline after that (`PIP_NO_INDEX` with
`PIP_FIND_LINKS`, which pip, pipx and pre-commit's pip all read), so each install test costs
a virtual environment and a local install, not a download.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _runtime_dependencies() -> tuple[str, ...]:
    """pyproject.toml's own list, so the wheelhouse never lags behind a new dependency."""
    import tomllib

    with (ROOT / "pyproject.toml").open("rb") as f:
        return tuple(tomllib.load(f)["project"]["dependencies"])


# What building and running the scanner needs: the build backend, the runtime dependencies,
# and pip itself (pipx upgrades the pip of its shared environment).
WHEELHOUSE_REQUIREMENTS = ("setuptools>=77", *_runtime_dependencies(), "pip")


def version() -> str:
    from kimi_secret_scan import __version__

    return __version__


def release_tag() -> str:
    """The tag the release process creates for this version (CHANGELOG.md says how)."""
    return f"v{version()}"


def snapshot(target: Path) -> Path:
    """A git repository holding this checkout's files (tracked and untracked, not ignored,
    uncommitted changes included), committed once and tagged with the release tag."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode("utf-8", "surrogateescape")
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if not source.is_file():
            continue  # deleted in the working tree
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target / name)
    for args in (
        ["init", "-q", "--initial-branch=main"],
        ["add", "-A"],
        ["commit", "-q", "--no-verify", "-m", "snapshot of the checkout under test"],
        ["tag", "-a", release_tag(), "-m", f"kimi-secret-scan {version()}"],
    ):
        subprocess.run(["git", *args], cwd=target, env=git_env(), check=True, capture_output=True)
    return target


def git_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        GIT_AUTHOR_NAME="Ada",
        GIT_AUTHOR_EMAIL="ada@example.com",
        GIT_COMMITTER_NAME="Ada",
        GIT_COMMITTER_EMAIL="ada@example.com",
    )
    return env


def download_wheelhouse(target: Path) -> Path:
    subprocess.run(
        [
            *(sys.executable, "-m", "pip", "download", "--quiet", "--dest", str(target)),
            *WHEELHOUSE_REQUIREMENTS,
        ],
        check=True,
        capture_output=True,
    )
    return target


def offline_env(wheelhouse: Path) -> dict[str, str]:
    """Environment for pip (and what runs pip) to install from the wheelhouse only."""
    return {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheelhouse)}


def build(source: Path, outdir: Path, wheelhouse: Path) -> tuple[Path, Path]:
    """`python -m build` (isolated, as a release builds): the sdist, then the wheel from it."""
    env = {**os.environ, **offline_env(wheelhouse)}
    done = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(outdir), str(source)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    [sdist] = outdir.glob("*.tar.gz")
    [wheel] = outdir.glob("*.whl")
    return sdist, wheel
