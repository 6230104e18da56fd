"""`--output -` is standard output, and a report holding keys whole is never written into a
work tree (review h8a #9: `history --format json --output -` wrote a file named `-` into the
scanned work tree, and stdout got nothing; with --show-secrets it held every key whole)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.gitrepo import GitRepo, run_cli
from tests.keygen import moonshot_key


@pytest.fixture
def leaky(tmp_path: Path) -> tuple[GitRepo, str]:
    repo = GitRepo(tmp_path / "r")
    key = moonshot_key()  # committed and staged: every command finds it
    repo.commit_file(".env", f"MOONSHOT_API_KEY={key}\n", "env")
    repo.write("client.py", f'KEY = "{key}"\n')
    repo.add("client.py")
    return repo, key


@pytest.mark.parametrize("command", [["history"], ["files", "."], ["staged"]], ids=lambda c: c[0])
def test_output_dash_is_standard_output(leaky: tuple[GitRepo, str], command: list[str]) -> None:
    repo, key = leaky
    run = run_cli(*command, "--format", "json", "--output", "-", cwd=repo.path)
    assert run.code in (0, 1), run.all
    assert json.loads(run.out)["tool"] == "kimi-secret-scan"
    assert not (repo.path / "-").exists()
    assert key not in run.all
    run = run_cli(*command, "--output", "-", "--report", "json:-", cwd=repo.path)
    assert run.code == 2 and "would share standard output" in run.err, run.all


@pytest.mark.parametrize("command", [["history"], ["files", "."], ["staged"]], ids=lambda c: c[0])
def test_show_secrets_report_refused_inside_a_work_tree(
    leaky: tuple[GitRepo, str], tmp_path: Path, command: list[str]
) -> None:
    repo, key = leaky
    for where in (["--output", "keys.json"], ["--report", "json:keys.json"]):
        run = run_cli(*command, "--show-secrets", "--format", "json", *where, cwd=repo.path)
        assert run.code == 2, run.all
        assert "inside the git work tree" in run.err and "--show-secrets" in run.err, run.err
        assert not (repo.path / "keys.json").exists()
    # Into another checkout: refused too.
    other = GitRepo(tmp_path / "other")
    run = run_cli(*command, "--show-secrets", "--output", str(other.path / "k.txt"), cwd=repo.path)
    assert run.code == 2 and not (other.path / "k.txt").exists(), run.all
    # Outside every work tree, and to standard output: written whole, as asked.
    outside = tmp_path / "keys.json"
    run = run_cli(
        *command, "--show-secrets", "--format", "json", "--output", str(outside), cwd=repo.path
    )
    assert run.code == 1 and key in outside.read_text(), run.all
    run = run_cli(*command, "--show-secrets", "--format", "json", "--output", "-", cwd=repo.path)
    assert run.code == 1 and key in run.out, run.all
    # SARIF never holds a key whole: allowed anywhere.
    run = run_cli(*command, "--show-secrets", "--report", "sarif:ks.sarif", cwd=repo.path)
    assert run.code == 1 and key not in (repo.path / "ks.sarif").read_text(), run.all


def test_audit_and_merge_output_dash(leaky: tuple[GitRepo, str], tmp_path: Path) -> None:
    repo, key = leaky
    out = tmp_path / "out"
    run = run_cli(
        "audit", str(repo.path), "--output-dir", str(out), "--format", "json", "--output", "-",
        cwd=repo.path,
    )  # fmt: skip
    assert run.code == 1 and json.loads(run.out)["mode"] == "merge", run.all
    run = run_cli("merge", str(out), "--format", "json", "--output", "-", cwd=repo.path)
    assert run.code == 1 and json.loads(run.out)["mode"] == "merge", run.all
    assert not (repo.path / "-").exists()
    assert key not in run.all
