"""One scan, many reports (--report FORMAT[:PATH]), --verbose, --quiet and colour control,
through the real command line on real repositories."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tests.gitrepo import GitRepo, run_cli
from tests.keygen import kimi_code_key


@pytest.fixture
def allowed_and_found(repo: GitRepo) -> tuple[GitRepo, str, str]:
    """One key found, one allowed inline, one in an excluded folder, one skipped file."""
    found, allowed = kimi_code_key(), kimi_code_key()
    repo.write("app.py", f'KIMI_API_KEY = "{found}"\n')
    repo.write("old.py", f'OLD = "{allowed}"  # kimi-secret-scan: allow\n')
    repo.write("vendor/lib.py", f'KIMI_API_KEY = "{found}"\n')
    repo.write("big.txt", "x" * 2000 + "\n")
    repo.write(".kimi-secret-scan.toml", 'exclude = ["vendor/**"]\nmax-file-size = 1000\n')
    return repo, found, allowed


def test_one_run_writes_text_sarif_json_and_annotations(
    allowed_and_found: tuple[GitRepo, str, str], tmp_path: Path
) -> None:
    repo, found, allowed = allowed_and_found
    sarif, report = tmp_path / "out.sarif", tmp_path / "out.json"
    run = run_cli(
        "files",
        "--report",
        "text",
        "--report",
        f"sarif:{sarif}",
        "--report",
        "github",
        "--report",
        f"json:{report}",
        cwd=repo.path,
    )
    assert run.code == 1, run.all
    # Text and annotations share standard output; both name the one finding.
    assert "app.py:1:17: Kimi Code API key" in run.out
    assert "::error file=app.py,line=1," in run.out
    assert "skipped big.txt" in run.out
    assert "::warning title=skipped::big.txt" in run.out  # a size limit: a warning
    # The files hold the same findings, skips and suppressions.
    data = json.loads(report.read_text(encoding="utf-8"))
    assert [(f["path"], f["line"]) for f in data["findings"]] == [("app.py", 1)]
    assert data["stats"]["suppressed"] == 2
    assert [s["path"] for s in data["stats"]["skipped"]] == ["big.txt"]
    results = json.loads(sarif.read_text(encoding="utf-8"))["runs"][0]
    locations = [r["locations"][0]["physicalLocation"] for r in results["results"]]
    assert [(p["artifactLocation"]["uri"], p["region"]["startLine"]) for p in locations] == [
        ("app.py", 1)
    ]
    assert results["properties"]["suppressed"] == 2
    assert "2 allowed by baseline, comment or config" in run.out  # text and annotations' summary
    notes = results["invocations"][0]["toolExecutionNotifications"]
    assert any("big.txt" in n["message"]["text"] for n in notes)
    for text in (run.out, run.err, report.read_text("utf-8"), sarif.read_text("utf-8")):
        assert found not in text and allowed not in text


def test_report_alone_replaces_the_default_text(
    allowed_and_found: tuple[GitRepo, str, str], tmp_path: Path
) -> None:
    """Only the reports asked for are written; the summary goes to stderr, as with --output."""
    repo, _, _ = allowed_and_found
    sarif = tmp_path / "only.sarif"
    run = run_cli("files", "--report", f"sarif:{sarif}", cwd=repo.path)
    assert run.code == 1, run.all
    assert run.out == ""
    assert "1 finding (1 distinct key)" in run.err
    assert json.loads(sarif.read_text("utf-8"))["runs"][0]["results"]
    # --format beside --report is one more report: JSON on stdout and SARIF in the file.
    both = run_cli("files", "--format", "json", "--report", f"sarif:{sarif}", cwd=repo.path)
    assert both.code == 1, both.all
    assert json.loads(both.out)["findings"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--report", "json", "--report", "sarif"], "would share standard output"),
        (["--format", "json", "--report", "text"], "would share standard output"),
        (["--report", "yaml"], "unknown format 'yaml'"),
        (["--report", "json:"], "no path after ':'"),
        (["--output", "r.json", "--report", "sarif:r.json"], "two reports would write r.json"),
        (["--verbose", "--quiet"], "--verbose and --quiet exclude each other"),
    ],
)
def test_report_usage_errors(repo: GitRepo, args: list[str], message: str) -> None:
    repo.write("a.txt", "nothing\n")
    run = run_cli("files", *args, cwd=repo.path)
    assert run.code == 2, run.all
    assert message in run.err
    assert not (repo.path / "r.json").exists()


def test_report_in_history_uses_the_history_renderers(repo: GitRepo, tmp_path: Path) -> None:
    key = kimi_code_key()
    repo.commit_file("app.py", f'KIMI_API_KEY = "{key}"\n')
    audit = tmp_path / "audit.json"
    run = run_cli(
        "history", "--report", "text", "--report", f"json:{audit}", "--report", "github",
        cwd=repo.path,
    )  # fmt: skip
    assert run.code == 1, run.all
    assert "::error file=app.py" in run.out
    assert "Purge" in run.out or "purge" in run.out  # the history plan, not the plain text
    data = json.loads(audit.read_text("utf-8"))
    assert len(data["groups"]) == 1
    assert key not in run.out + run.err + audit.read_text("utf-8")


def test_verbose_lists_each_allowed_finding_and_what_allowed_it(
    allowed_and_found: tuple[GitRepo, str, str],
) -> None:
    repo, found, allowed = allowed_and_found
    run = run_cli("files", "--verbose", cwd=repo.path)
    assert run.code == 1, run.all
    lines = [line for line in run.err.splitlines() if "allowed " in line]
    assert len(lines) == 2, run.err
    assert any("old.py:1:8" in line and "by an inline allow comment" in line for line in lines), (
        lines
    )
    assert any(
        "vendor/lib.py:1:17" in line and "by .kimi-secret-scan.toml: exclude" in line
        for line in lines
    ), lines
    assert found not in run.err and allowed not in run.err
    assert f"{allowed[:12]}…{allowed[-4:]}" in run.err
    # Without --verbose only the count is said.
    quiet = run_cli("files", cwd=repo.path)
    assert "allowed old.py" not in quiet.err
    assert "2 allowed by baseline, comment or config" in quiet.out


def test_verbose_names_the_config_setting_and_the_baseline(repo: GitRepo) -> None:
    first, second = kimi_code_key(), kimi_code_key()
    repo.write("a.py", f'KIMI_API_KEY = "{first}"\n')
    repo.write(".kimi-secret-scan.toml", f'allow-values = ["{first}"]\n')
    repo.write("b.py", f'KIMI_API_KEY = "{second}"\n')
    created = run_cli("baseline", "create", "--", "b.py", cwd=repo.path)
    assert created.code == 0, created.all
    run = run_cli("files", "a.py", "b.py", "--verbose", cwd=repo.path)
    assert run.code == 0, run.all
    assert "a.py:1:17" in run.err and "by .kimi-secret-scan.toml: allow-values" in run.err
    assert "b.py:1:17" in run.err and "by the baseline" in run.err


def test_verbose_in_a_gate_says_what_allowed_each_finding(repo: GitRepo) -> None:
    """In range/ci the suppressions go through the gate's NewSuppressions filter: --verbose
    names the suppression itself (the base side's, or one the change added), never the
    class ("by NewSuppressions")."""
    old, new = kimi_code_key(), kimi_code_key()
    sha = hashlib.sha256(old.encode()).hexdigest()
    added = run_cli("baseline", "add", "--hash", sha, "--reason", "test", cwd=repo.path)
    assert added.code == 0, added.all
    repo.add()
    base = repo.commit("base, with a baseline")
    repo.write("again.py", f'AGAIN = "{old}"\n')
    repo.write("new.py", f'KIMI_API_KEY = "{new}"  # kimi-secret-scan: allow\n')
    repo.add()
    repo.commit("adds an old key again and a new one allowed inline")
    run = run_cli("range", f"{base}..HEAD", "--verbose", cwd=repo.path)
    assert run.code == 0, run.all
    lines = [line for line in run.err.splitlines() if "allowed " in line]
    assert len(lines) == 2, run.err
    assert "NewSuppressions" not in run.err
    assert any("again.py:1:10" in line and line.endswith("by the baseline") for line in lines), (
        lines
    )
    assert any(
        "new.py:1:17" in line
        and "by an inline allow comment on line 1" in line
        and "this change added" in line
        for line in lines
    ), lines


def test_quiet_prints_only_the_findings(
    allowed_and_found: tuple[GitRepo, str, str], tmp_path: Path
) -> None:
    repo, _, _ = allowed_and_found
    run = run_cli("files", "--quiet", cwd=repo.path)
    assert run.code == 1, run.all
    assert run.out.splitlines()[0].startswith("app.py:1:17: Kimi Code API key")
    assert "What to do" not in run.out and "skipped" not in run.out
    assert "kimi-secret-scan:" not in run.out
    assert run.err == ""
    clean = tmp_path / "clean"
    clean.mkdir()
    (clean / "a.txt").write_text("nothing\n", encoding="utf-8")
    silent = run_cli("files", "-q", cwd=clean)
    assert (silent.code, silent.out, silent.err) == (0, "", "")
    # An error is still said.
    broken = run_cli("files", "-q", "missing.txt", cwd=clean)
    assert broken.code == 2 and "missing.txt" in broken.err


@pytest.mark.parametrize(
    ("env", "colored"),
    [
        ({}, False),  # not a terminal
        ({"FORCE_COLOR": "1"}, True),
        ({"FORCE_COLOR": "0"}, False),
        ({"FORCE_COLOR": "1", "NO_COLOR": "1"}, False),
    ],
)
def test_no_color_and_force_color(
    allowed_and_found: tuple[GitRepo, str, str], env: dict[str, str], colored: bool
) -> None:
    repo, _, _ = allowed_and_found
    run = run_cli("files", cwd=repo.path, env=env)
    assert run.code == 1, run.all
    assert ("\x1b[" in run.out) is colored
    # Colour is for the terminal only: a file or another format never gets it.
    as_json = run_cli("files", "--format", "json", cwd=repo.path, env=env)
    assert "\x1b[" not in as_json.out


def test_a_report_that_cannot_be_written_is_an_error(
    allowed_and_found: tuple[GitRepo, str, str], tmp_path: Path
) -> None:
    repo, _, _ = allowed_and_found
    run = run_cli("files", "--report", f"sarif:{tmp_path}/missing/out.sarif", cwd=repo.path)
    assert run.code == 2, run.all
    assert "cannot write" in run.err and "missing/out.sarif" in run.err
