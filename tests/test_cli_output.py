"""What every command prints: text and JSON reports, redaction, colour, --output, exit codes."""

from __future__ import annotations

import hashlib
import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.gitrepo import GitRepo, Run, run_cli
from tests.keygen import kimi_code_key, moonshot_key

ROOT = Path(__file__).resolve().parents[1]
ANSI = "\x1b["

FINDING_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": [
        "rule",
        "title",
        "confidence",
        "path",
        "line",
        "column",
        "end_column",
        "secret",
        "secret_sha256",
        "commit",
        "author",
        "date",
    ],
    "properties": {
        "rule": {"type": "string"},
        "title": {"type": "string"},
        "confidence": {"enum": ["low", "medium", "high"]},
        "path": {"type": "string"},
        "line": {"type": "integer", "minimum": 1},
        "column": {"type": "integer", "minimum": 1},
        "end_column": {"type": "integer", "minimum": 2},
        "secret": {"type": "string"},
        "secret_sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        "commit": {"type": ["string", "null"]},
        "author": {"type": ["string", "null"]},
        "date": {"type": ["string", "null"]},
    },
}
REPORT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["tool", "version", "mode", "findings", "stats"],
    "properties": {
        "tool": {"const": "kimi-secret-scan"},
        "version": {"type": "string"},
        "mode": {"type": "string"},
        "findings": {"type": "array", "items": FINDING_SCHEMA},
        "stats": {
            "type": "object",
            "required": ["files", "lines", "findings", "skipped"],
        },
    },
}


@pytest.fixture
def leaky(repo: GitRepo) -> tuple[GitRepo, str, str]:
    """A repository with two keys staged: a Kimi Code key and a China platform key."""
    code, platform = kimi_code_key(), moonshot_key()
    repo.write("app/kimi.py", f'import os\nKIMI_API_KEY = "{code}"\n')
    repo.write(
        "app/client.py",
        f'client = OpenAI(api_key="{platform}", base_url="https://api.moonshot.cn/v1")\n',
    )
    repo.add()
    return repo, code, platform


def test_text_report(leaky: tuple[GitRepo, str, str]) -> None:
    repo, code, platform = leaky
    run = run_cli("staged", cwd=repo.path)
    assert run.code == 1
    assert run.err == ""
    out = run.out
    assert "app/client.py:1:26: Moonshot / Kimi Open Platform API key" in out
    assert "app/kimi.py:2:17: Kimi Code API key" in out
    # Redacted: prefix, first four and last four characters of the body, nothing more.
    assert code not in out and platform not in out
    assert f"sk-kimi-{code[8:12]}…{code[-4:]}" in out
    assert f"sk-{platform[3:7]}…{platform[-4:]}" in out
    assert f'KIMI_API_KEY = "sk-kimi-{code[8:12]}…{code[-4:]}"' in out
    assert code[12:-4] not in out and platform[7:-4] not in out
    # One plan for a staged commit: no need to revoke (said once, with each console), the
    # files named once, and the command that stages the fix.
    assert out.count("What to do: the keys are staged, not committed yet") == 1
    assert "Nothing has left this machine through git yet" in out
    assert "https://www.kimi.com/code/console" in out
    assert "https://platform.moonshot.cn/console/api-keys" in out
    assert "In app/client.py, app/kimi.py: read the key from the environment" in out
    assert "&& git add -- app/client.py app/kimi.py" in out
    last = out.rstrip("\n").splitlines()[-1]
    assert last == (
        "kimi-secret-scan: 2 findings (2 distinct keys) in 2 files; "
        "scanned 2 files, 3 added lines (staged changes against the empty tree (first commit))"
    )
    assert ANSI not in out


def test_json_report(leaky: tuple[GitRepo, str, str]) -> None:
    repo, code, platform = leaky
    run = run_cli("staged", "--format", "json", cwd=repo.path)
    assert run.code == 1
    assert code not in run.all and platform not in run.all
    report = json.loads(run.out)
    jsonschema.validate(report, REPORT_SCHEMA)
    assert report["tool"] == "kimi-secret-scan"
    assert report["mode"] == "staged"
    by_path = {f["path"]: f for f in report["findings"]}
    kimi = by_path["app/kimi.py"]
    assert kimi["rule"] == "kimi-code-api-key"
    assert kimi["confidence"] == "high"
    assert (kimi["line"], kimi["column"], kimi["end_column"]) == (2, 17, 17 + len(code))
    assert kimi["secret"] == f"sk-kimi-{code[8:12]}…{code[-4:]}"
    assert kimi["secret_sha256"] == hashlib.sha256(code.encode()).hexdigest()
    assert (kimi["commit"], kimi["author"], kimi["date"]) == (None, None, None)
    client = by_path["app/client.py"]
    assert client["rule"] == "moonshot-api-key"
    assert client["secret_sha256"] == hashlib.sha256(platform.encode()).hexdigest()
    assert report["stats"]["files"] == 2
    assert report["stats"]["lines"] == 3
    assert report["stats"]["findings"] == 2


def test_show_secrets_is_the_only_way_to_print_a_key(leaky: tuple[GitRepo, str, str]) -> None:
    repo, code, platform = leaky
    text = run_cli("staged", "--show-secrets", cwd=repo.path)
    assert text.code == 1
    assert code in text.out and platform in text.out
    report = json.loads(run_cli("staged", "--format", "json", "--show-secrets", cwd=repo.path).out)
    assert sorted(f["secret"] for f in report["findings"]) == sorted([code, platform])


def test_output_file(leaky: tuple[GitRepo, str, str], tmp_path: Path) -> None:
    repo, code, _ = leaky
    target = tmp_path / "report.json"
    run = run_cli("staged", "--format", "json", "--output", str(target), cwd=repo.path)
    assert run.code == 1
    assert run.out == ""
    # The summary still reaches a person, on stderr.
    assert run.err.startswith("kimi-secret-scan: 2 findings")
    report = json.loads(target.read_text(encoding="utf-8"))
    assert len(report["findings"]) == 2
    assert code not in target.read_text(encoding="utf-8")

    text_target = tmp_path / "report.txt"
    run = run_cli("staged", "--output", str(text_target), cwd=repo.path)
    assert run.code == 1
    assert ANSI not in text_target.read_text(encoding="utf-8")
    assert "app/kimi.py:2:17" in text_target.read_text(encoding="utf-8")


def test_output_to_an_unwritable_place_is_an_error(
    leaky: tuple[GitRepo, str, str], tmp_path: Path
) -> None:
    repo, _, _ = leaky
    run = run_cli("staged", "--output", str(tmp_path / "no" / "such" / "dir.txt"), cwd=repo.path)
    assert run.code == 2
    assert len(run.err.strip().splitlines()) == 1, run.err
    assert "cannot write" in run.err


def test_summary_line_when_clean_and_when_nothing_was_scanned(repo: GitRepo) -> None:
    run = run_cli("staged", cwd=repo.path)
    assert run.code == 0
    assert run.out.strip().splitlines() == [
        "kimi-secret-scan: nothing to scan; scanned 0 files, 0 added lines "
        "(staged changes against the empty tree (first commit))"
    ]
    repo.write("a.txt", "hello\n")
    repo.add()
    run = run_cli("staged", cwd=repo.path)
    assert run.out.strip().splitlines()[-1] == (
        "kimi-secret-scan: no Kimi keys found; scanned 1 file, 1 added line "
        "(staged changes against the empty tree (first commit))"
    )


def _run_on_a_terminal(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    """Run the CLI with stdout on a pseudo-terminal, as a person at a shell would."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "kimi_secret_scan", *args],
        cwd=cwd,
        env=env,
        stdout=follower,
        stderr=subprocess.PIPE,
    )
    os.close(follower)
    chunks: list[bytes] = []
    # Read to the end of the output (EIO once the child has closed the terminal), however
    # long it is silent: stopping at 10 s of silence cut the output short on a loaded
    # runner. The deadline only catches a hang, and says so.
    deadline = time.monotonic() + 120
    while True:
        ready, _, _ = select.select([leader], [], [], 1)
        if not ready:
            if time.monotonic() > deadline:
                proc.kill()
                raise AssertionError("the CLI on a terminal did not end within 120 s")
            continue
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    proc.wait(timeout=30)
    os.close(leader)
    return b"".join(chunks).decode("utf-8", "replace")


def test_colour_on_a_terminal_only_and_never_with_no_color(
    leaky: tuple[GitRepo, str, str],
) -> None:
    repo, code, _ = leaky
    env = dict(os.environ, PYTHONPATH=str(ROOT), TERM="xterm")
    env.pop("NO_COLOR", None)
    coloured = _run_on_a_terminal(["staged"], repo.path, env)
    assert ANSI in coloured
    assert "app/kimi.py:2:17" in coloured
    assert code not in coloured
    plain = _run_on_a_terminal(["staged"], repo.path, dict(env, NO_COLOR="1"))
    assert "app/kimi.py:2:17" in plain
    assert ANSI not in plain
    # Piped (not a terminal): no colour either.
    assert ANSI not in run_cli("staged", cwd=repo.path).out


def test_exit_codes(repo: GitRepo, tmp_path: Path) -> None:
    assert run_cli("staged", cwd=repo.path).code == 0
    repo.write("a.py", f"K = '{kimi_code_key()}'\n")
    repo.add()
    assert run_cli("staged", cwd=repo.path).code == 1
    errors: list[Run] = [
        run_cli("staged", cwd=tmp_path),  # not a repository
        run_cli("files", str(tmp_path / "missing"), cwd=tmp_path),
        run_cli("commit-msg", str(tmp_path / "missing"), cwd=tmp_path),
        run_cli("staged", "--format", "yaml", cwd=repo.path),  # bad option
    ]
    for run in errors:
        assert run.code == 2, run.all
        assert "Traceback" not in run.all
        assert run.out == ""


def test_version_and_help(tmp_path: Path) -> None:
    run = run_cli("--version", cwd=tmp_path)
    assert run.code == 0 and "kimi-secret-scan" in run.out
    run = run_cli("--help", cwd=tmp_path)
    assert run.code == 0
    for command in ("staged", "files", "commit-msg"):
        assert command in run.out
