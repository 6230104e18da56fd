"""The scanner never writes to the repository it scans: objects, index, refs, config, work tree.

Every command, in every format (to stdout, with --output and with --show-secrets), then the
baseline commands and history --write-replacements (which write outside the repository),
runs against one repository with keys in staged changes, the work tree, history, a tag, the
stash and a note; after each command every file and directory under the work tree, `.git`,
the `origin` remote and the bare server is compared (bytes, mode, mtime) with the snapshot
taken before the first run.
"""

from __future__ import annotations

import pytest

from kimi_secret_scan.reports import FORMATS
from tests import scenario
from tests.scenario import Run, Scenario


@pytest.fixture(scope="module")
def matrix(tmp_path_factory: pytest.TempPathFactory) -> tuple[Scenario, list[Run]]:
    return scenario.matrix(tmp_path_factory)


def test_every_command_leaves_every_file_untouched(matrix: tuple[Scenario, list[Run]]) -> None:
    _, runs = matrix
    commands = {r.args[0] for r in runs}
    assert commands >= {*scenario.scan_commands_names(), "baseline"}
    assert {r.args[r.args.index("--format") + 1] for r in runs if "--format" in r.args} == set(
        FORMATS
    )
    for run in runs:
        assert run.code in (0, 1), (run.name, run.err)
        assert run.changed == [], f"{run.name} changed {run.changed}"


def test_each_command_actually_scanned(matrix: tuple[Scenario, list[Run]]) -> None:
    """A command that failed early would trivially write nothing: each one found a key."""
    _, runs = matrix
    for run in runs:
        if "--write-replacements" in run.args:
            # It did what it was asked (issue 12: exit 0): the file it wrote holds the keys.
            assert run.code == 0 and run.output, (run.name, run.err)
        elif run.args[0] != "baseline" and "--baseline" not in run.args:
            assert run.code == 1, (run.name, run.err)


def test_the_snapshot_sees_what_plain_git_writes(matrix: tuple[Scenario, list[Run]]) -> None:
    """The work tree is stale against the index: a plain `git status` (optional locks on)
    refreshes the index, and the snapshot must catch that, or the tests above prove nothing."""
    s, _ = matrix
    before = scenario.snapshot(s.work.path)
    s.work.git("status", "--porcelain")
    assert str(s.work.path / ".git" / "index") in scenario.changed(
        before, scenario.snapshot(s.work.path)
    )
