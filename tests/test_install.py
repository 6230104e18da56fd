"""Every install path the README gives, on a fresh virtual environment, from this checkout.

The README's commands run as written, with one substitution: the GitHub URL becomes a
`file://` URL of a snapshot of this checkout, tagged as the release process tags it (so
`@v0.1.0` and `rev: v0.1.0` name a tag that exists). pip, pipx and pre-commit's pip install
offline from the session's wheelhouse (tests/packaging.py); HOME is a fresh directory.
"""

from __future__ import annotations

import email
import os
import re
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest
import yaml

from tests import packaging
from tests.gitrepo import GitRepo
from tests.keygen import kimi_code_key
from tests.remotes import documented_texts, readme_block

GITHUB_URL = "https://github.com/kimi-secret-scan/kimi-secret-scan"


def sh(
    script: str, cwd: Path, env: dict[str, str], check: bool = True
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if check:
        assert done.returncode == 0, f"{script}\n{done.stdout}{done.stderr}"
    return done


def fresh_env(tmp: Path, wheelhouse: Path, **more: str) -> dict[str, str]:
    """A new user's shell: a fresh HOME, the tools of this interpreter's environment (pipx,
    pre-commit) on PATH but not its kimi-secret-scan, and pip offline."""
    home = tmp / "home"
    home.mkdir(exist_ok=True)
    tools = tmp / "tools"
    tools.mkdir(exist_ok=True)
    for tool in ("pipx", "pre-commit"):
        link = tools / tool
        if not link.exists():
            link.symlink_to(Path(sys.executable).parent / tool)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PIP_", "PIPX_", "VIRTUAL_ENV", "PYTHON"))
    }
    env.update(packaging.offline_env(wheelhouse))
    env.update(
        HOME=str(home),
        PATH=os.pathsep.join([str(home / ".local" / "bin"), str(tools), "/usr/bin", "/bin"]),
        PIPX_HOME=str(home / ".local" / "pipx"),
        PIPX_BIN_DIR=str(home / ".local" / "bin"),
        PIPX_MAN_DIR=str(home / ".local" / "share" / "man"),
        PIPX_DEFAULT_PYTHON=sys.executable,
    )
    # `python3` as the README types it: this interpreter, not whatever /usr/bin holds.
    python3 = tools / "python3"
    if not python3.exists():
        python3.symlink_to(sys.executable)
    env.update(more)
    return env


def local(snippet: str, snapshot: Path) -> str:
    """The README snippet, pointed at the snapshot instead of GitHub."""
    assert GITHUB_URL in snippet
    return snippet.replace(GITHUB_URL, f"file://{snapshot}")


def leaky_repo(tmp: Path) -> GitRepo:
    repo = GitRepo(tmp / "project")
    repo.commit_file("app.py", f'KIMI_API_KEY = "{kimi_code_key()}"\n', "a leak")
    return repo


# --- the artefacts ---------------------------------------------------------------------


def test_sdist_and_wheel_pass_twine_and_the_wheel_holds_only_the_package(
    dist: tuple[Path, Path],
) -> None:
    sdist, wheel = dist
    version = packaging.version()
    assert wheel.name == f"kimi_secret_scan-{version}-py3-none-any.whl"
    assert sdist.name == f"kimi_secret_scan-{version}.tar.gz"
    checked = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", str(sdist), str(wheel)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = email.message_from_bytes(
            archive.read(f"kimi_secret_scan-{version}.dist-info/METADATA")
        )
    outside = [
        n for n in names if not n.startswith(("kimi_secret_scan/", f"kimi_secret_scan-{version}."))
    ]
    assert outside == []
    assert "kimi_secret_scan/cli.py" in names and "kimi_secret_scan/py.typed" in names
    assert not [n for n in names if "/tests/" in n or n.startswith("tests/")]
    assert metadata["Version"] == version
    assert metadata["License-Expression"] == "MIT"
    urls = dict(u.split(", ", 1) for u in metadata.get_all("Project-URL"))
    assert {"Homepage", "Source", "Issues", "Changelog", "Documentation"} <= set(urls)
    classifiers = metadata.get_all("Classifier")
    assert "Topic :: Security" in classifiers
    assert "Programming Language :: Python :: 3.11" in classifiers
    assert metadata["Requires-Python"] == ">=3.11"
    assert {"kimi", "moonshot", "secret-scanning", "pre-commit"} <= set(
        metadata["Keywords"].split(",")
    )
    with tarfile.open(sdist) as archive:
        members = {m.name.split("/", 1)[-1] for m in archive.getmembers()}
    assert {"LICENSE", "README.md", "pyproject.toml", "kimi_secret_scan/cli.py"} <= members


def test_the_version_is_written_once_and_the_release_tag_is_documented() -> None:
    project = tomllib.loads((packaging.ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    assert "version" not in project and project["dynamic"] == ["version"]
    tag = packaging.release_tag()
    changelog = (packaging.ROOT / "CHANGELOG.md").read_text("utf-8")
    assert f"## [{packaging.version()}]" in changelog
    # Every rev/@ref the documentation shows is the tag this version's release creates.
    for page, text in documented_texts():
        shown = set(re.findall(r"(?:rev: |kimi-secret-scan@)(v\d+\.\d+\.\d+)", text))
        assert shown <= {tag}, f"{page.name} shows {shown - {tag}}, the release tag is {tag}"


# --- the README's install paths ---------------------------------------------------------


def test_pipx_from_the_git_url_and_from_a_path(
    tmp_path: Path, source_snapshot: Path, wheelhouse: Path, dist: tuple[Path, Path]
) -> None:
    env = fresh_env(tmp_path, wheelhouse)
    # One command installs and audits the repository it runs in.
    [command] = [line for line in readme_block("pipx install git+", "sh").splitlines() if line]
    repo = leaky_repo(tmp_path)
    found = sh(local(command, source_snapshot), repo.path, env, check=False)
    assert found.returncode == 1, found.stdout + found.stderr
    assert "app.py" in found.stdout
    # From a path (the built wheel): pipx makes a new environment for it (--force replaces
    # the one above; a second pipx home would build pipx's shared pip again).
    sh(f"pipx install --force {dist[1]}", tmp_path, env)
    listed = sh("pipx list --short", tmp_path, env)
    assert listed.stdout.split() == ["kimi-secret-scan", packaging.version()]
    version = sh("kimi-secret-scan --version", tmp_path, env)
    assert version.stdout.strip() == f"kimi-secret-scan, version {packaging.version()}"


def test_python_venv_and_pip_from_the_git_url(
    tmp_path: Path, source_snapshot: Path, wheelhouse: Path
) -> None:
    env = fresh_env(tmp_path, wheelhouse)
    block = readme_block("python3 -m venv ~/.kimi-secret-scan", "sh")
    done = sh(local(block, source_snapshot), tmp_path, env)
    assert done.stdout.splitlines()[-1] == f"kimi-secret-scan, version {packaging.version()}"
    repo = leaky_repo(tmp_path)
    found = sh("~/.kimi-secret-scan/bin/kimi-secret-scan files", repo.path, env, check=False)
    assert found.returncode == 1, found.stdout + found.stderr


def test_the_built_wheel_installs_offline_in_a_fresh_venv(
    tmp_path: Path, dist: tuple[Path, Path], wheelhouse: Path
) -> None:
    _, wheel = dist
    env = fresh_env(tmp_path, wheelhouse)
    sh(f"python3 -m venv v && v/bin/pip install --no-index --find-links {wheelhouse} {wheel}",
       tmp_path, env)  # fmt: skip
    repo = leaky_repo(tmp_path)
    found = sh(f"{tmp_path}/v/bin/kimi-secret-scan files --format json", repo.path, env, False)
    assert found.returncode == 1, found.stdout + found.stderr
    assert '"path": "app.py"' in found.stdout


def test_shell_completion_as_documented(tmp_path: Path) -> None:
    block = readme_block("_KIMI_SECRET_SCAN_COMPLETE=bash_source", "sh")
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    script = (
        block
        + "COMP_WORDS=(kimi-secret-scan hi); COMP_CWORD=1\n"
        + '_kimi_secret_scan_completion kimi-secret-scan; echo "${COMPREPLY[*]}"\n'
        + "COMPREPLY=(); COMP_WORDS=(kimi-secret-scan files --rep); COMP_CWORD=2\n"
        + '_kimi_secret_scan_completion kimi-secret-scan; echo "${COMPREPLY[*]}"\n'
    )
    done = sh(script, tmp_path, env)
    assert done.stdout.splitlines() == ["history", "--report"]


# --- pre-commit ---------------------------------------------------------------------------


@pytest.fixture
def consumer(tmp_path: Path) -> GitRepo:
    repo = GitRepo(tmp_path / "consumer")
    repo.commit_file("clean.py", "x = 1\n", "start")
    return repo


def test_pre_commit_with_the_documented_rev_blocks_a_key(
    consumer: GitRepo, source_snapshot: Path, wheelhouse: Path, tmp_path: Path
) -> None:
    """The README's .pre-commit-config.yaml (its rev is the release tag, which exists) and
    its install command, then a commit with a key is blocked."""
    config = readme_block("id: kimi-secret-scan-commit-msg", "yaml")
    assert yaml.safe_load(config)["repos"][0]["rev"] == packaging.release_tag()
    consumer.write(".pre-commit-config.yaml", local(config, source_snapshot))
    env = fresh_env(tmp_path, wheelhouse, PRE_COMMIT_HOME=os.environ["PRE_COMMIT_HOME"])
    sh(readme_block("pre-commit install --hook-type pre-commit", "sh"), consumer.path, env)
    consumer.write("leak.py", f'KIMI_API_KEY = "{kimi_code_key()}"\n')
    consumer.add("leak.py", ".pre-commit-config.yaml")
    blocked = sh("git commit -m 'add a client'", consumer.path, env, check=False)
    assert blocked.returncode == 1, blocked.stdout + blocked.stderr
    assert "leak.py:1:17" in blocked.stdout + blocked.stderr


def test_pre_commit_autoupdate_moves_to_the_release_tag(
    consumer: GitRepo, source_snapshot: Path, wheelhouse: Path, tmp_path: Path
) -> None:
    first = subprocess.run(
        ["git", "rev-list", "--max-parents=0", "HEAD"],
        cwd=source_snapshot, capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    config = local(readme_block("id: kimi-secret-scan-commit-msg", "yaml"), source_snapshot)
    consumer.write(".pre-commit-config.yaml", config.replace(packaging.release_tag(), first))
    env = fresh_env(tmp_path, wheelhouse, PRE_COMMIT_HOME=os.environ["PRE_COMMIT_HOME"])
    sh("pre-commit autoupdate", consumer.path, env)
    updated = yaml.safe_load((consumer.path / ".pre-commit-config.yaml").read_text("utf-8"))
    assert updated["repos"][0]["rev"] == packaging.release_tag()


def test_pre_commit_try_repo_as_documented(
    consumer: GitRepo, source_snapshot: Path, wheelhouse: Path, tmp_path: Path
) -> None:
    consumer.commit_file("docs/setup.md", f"export KIMI_API_KEY={kimi_code_key()}\n")
    env = fresh_env(tmp_path, wheelhouse, PRE_COMMIT_HOME=os.environ["PRE_COMMIT_HOME"])
    command = local(readme_block("pre-commit try-repo", "sh"), source_snapshot)
    caught = sh(command, consumer.path, env, check=False)
    output = caught.stdout + caught.stderr
    assert caught.returncode == 1, output
    assert "docs/setup.md:1:21" in output


def test_pre_push_and_manual_history_hooks_as_documented(
    consumer: GitRepo, source_snapshot: Path, wheelhouse: Path, tmp_path: Path
) -> None:
    """docs/ci.md: the push and history hooks added next to the others, then its commands."""
    config = local(readme_block("id: kimi-secret-scan-commit-msg", "yaml"), source_snapshot)
    config += readme_block("id: kimi-secret-scan-push", "yaml")
    consumer.write(".pre-commit-config.yaml", config)
    consumer.add(".pre-commit-config.yaml")
    consumer.commit("add pre-commit")
    consumer.commit_file("old.py", f'KIMI_API_KEY = "{kimi_code_key()}"\n', "an old leak")
    env = fresh_env(tmp_path, wheelhouse, PRE_COMMIT_HOME=os.environ["PRE_COMMIT_HOME"])
    install, audit = [
        line for line in readme_block("pre-commit install --hook-type pre-push", "sh").splitlines()
        if line.strip()
    ]  # fmt: skip
    sh(install, consumer.path, env)
    assert (consumer.path / ".git" / "hooks" / "pre-push").is_file()
    found = sh(audit, consumer.path, env, check=False)
    assert found.returncode == 1, found.stdout + found.stderr
    assert "old.py" in found.stdout
