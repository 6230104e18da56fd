from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.gitrepo import GitRepo
from tests.key_service import KeyService, make_certs, running


@pytest.fixture(autouse=True)
def _isolated_git(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every test sees git as a new user would: no global or system config of this machine."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
    for var in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Ada Author")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "ada@example.com")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Ada Author")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "ada@example.com")
    monkeypatch.delenv("NO_COLOR", raising=False)
    # pre-commit keeps its environments here; shared across tests to build them once.
    monkeypatch.setenv("PRE_COMMIT_HOME", str(Path(tmp_path_factory.getbasetemp()) / "pc-home"))


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    return GitRepo(tmp_path / "repo")


@pytest.fixture(scope="session")
def source_snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This checkout as a git repository, tagged as a release (tests/packaging.py)."""
    from tests import packaging

    return packaging.snapshot(tmp_path_factory.mktemp("source-snapshot"))


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The build backend and the runtime dependencies as files, for offline installs."""
    from tests import packaging

    return packaging.download_wheelhouse(tmp_path_factory.mktemp("wheelhouse"))


@pytest.fixture(scope="session")
def dist(
    tmp_path_factory: pytest.TempPathFactory, source_snapshot: Path, wheelhouse: Path
) -> tuple[Path, Path]:
    """The sdist and the wheel, built once per session from the snapshot."""
    from tests import packaging

    return packaging.build(source_snapshot, tmp_path_factory.mktemp("dist"), wheelhouse)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KeyService]:
    """The loopback key service of the --verify tests (tests/key_service.py), one per test
    module."""
    folder = tmp_path_factory.mktemp("key-service")
    with running(folder / "server", make_certs(folder / "certs")) as svc:
        yield svc
