"""`merge` of a `history` report that read part of a history only (`--since`, REVS,
`--no-reflog`): said in every format, and never a clean whole audit (hostile review 10a, 6)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kimi_secret_scan.org import merge
from kimi_secret_scan.sources.history import Selection
from tests.gitrepo import GitRepo, run_cli
from tests.keygen import kimi_code_key
from tests.test_sarif import validate


def _leaked_before_v1(tmp_path: Path) -> GitRepo:
    """A key committed, tagged v1, removed: still reachable from tag v1."""
    repo = GitRepo(tmp_path / "r")
    repo.commit_file("k.env", f"KIMI_API_KEY={kimi_code_key()}\n", "key")
    repo.git("tag", "v1")
    repo.git("rm", "-q", "k.env")
    repo.commit("rm")
    repo.commit_file("x", "x\n", "x")
    return repo


def test_whole_history_is_what_merge_takes_as_whole() -> None:
    assert Selection().describe() == merge.WHOLE_HISTORY


@pytest.mark.parametrize(
    ("args", "scope", "keys"),
    [
        (["--since", "v1"], "history of every ref and reflog since v1", 0),
        (["--no-reflog"], "history of every ref", 1),
        (["main"], "history of main", 1),
    ],
)
def test_a_narrowed_history_report_is_said_and_never_passes_clean(
    tmp_path: Path, args: list[str], scope: str, keys: int
) -> None:
    repo = _leaked_before_v1(tmp_path)
    report = tmp_path / "part.json"
    made = run_cli("history", *args, "--format", "json", "--output", str(report), cwd=repo.path)
    assert made.code == (1 if keys else 0), made.all
    assert json.loads(report.read_text())["scope"] == scope
    text = run_cli("merge", str(report), cwd=tmp_path)
    # No key found in part of a history is not a clean audit: 2, as for an incomplete scan.
    assert text.code == (1 if keys else 2), text.all
    assert "1 report(s) of part of a history only" in text.out.splitlines()[0]
    assert f"part of a history only: part: its report read the {scope} only;" in text.out
    data = json.loads(run_cli("merge", str(report), "--format", "json", cwd=tmp_path).out)
    assert data["summary"]["narrowed"] == 1 and data["summary"]["complete"] is False
    assert data["narrowed"] == [{"repository": "part", "scope": scope}]
    sarif_run = run_cli("merge", str(report), "--format", "sarif", cwd=tmp_path)
    assert sarif_run.code == text.code
    sarif = json.loads(sarif_run.out)
    validate(sarif)
    invocation = sarif["runs"][0]["invocations"][0]
    assert invocation["executionSuccessful"] is False
    assert any(scope in n["message"]["text"] for n in invocation["toolExecutionNotifications"])
    html = run_cli("merge", str(report), "--format", "html", cwd=tmp_path)
    assert html.code == text.code
    assert f"its report read the {scope} only" in html.out
    assert 'id="count-narrowed"' in html.out
    if not keys:
        assert "the audit is incomplete" in html.out


def test_a_whole_history_report_merges_clean(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "r")
    repo.commit_file("x", "x\n", "x")
    report = tmp_path / "whole.json"
    made = run_cli("history", "--format", "json", "--output", str(report), cwd=repo.path)
    assert made.code == 0, made.all
    run = run_cli("merge", str(report), cwd=tmp_path)
    assert run.code == 0, run.all
    assert "part of a history" not in run.out


def test_a_report_that_does_not_state_its_scope_is_not_taken_as_whole(tmp_path: Path) -> None:
    report = tmp_path / "bare.json"
    report.write_text('{"tool": "kimi-secret-scan", "mode": "history", "groups": []}\n')
    run = run_cli("merge", str(report), cwd=tmp_path)
    assert run.code == 2, run.all
    assert "part of a history only: bare: its report does not say what" in run.out
