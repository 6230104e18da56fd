"""The GitHub Action (action.yml) run as a runner runs a composite action: each `run:` step
through `bash --noprofile --norc -eo pipefail`, with the step's `env:` expressions evaluated
and the variables and event file a real runner sets, against real clones of a real remote.

The install step runs once per session (the scanner from the action's own checkout, offline
from the session's wheelhouse); each scenario then runs the scan step as the runner would.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests import packaging
from tests.gitrepo import GitRepo
from tests.remotes import ZERO, cloned, key_line, readme_block, with_origin

ACTION = packaging.ROOT / "action.yml"


def action() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(ACTION.read_text(encoding="utf-8"))
    return loaded


def _expression(text: str, inputs: dict[str, str], action_path: Path) -> str:
    """The few expressions the action's `env:` may use; any other one fails the test."""

    def value(match: re.Match[str]) -> str:
        expr = match.group(1).strip()
        if expr == "github.action_path":
            return str(action_path)
        if expr.startswith("inputs."):
            return inputs[expr.removeprefix("inputs.")]
        raise AssertionError(f"expression the test runner does not know: {expr}")

    return re.sub(r"\$\{\{(.*?)\}\}", value, text)


@dataclass
class Runner:
    """One job's runner: its files, environment and the action's checkout."""

    tmp: Path
    action_path: Path
    temp: Path  # RUNNER_TEMP
    extra_env: dict[str, str] = field(default_factory=dict)

    def env(
        self, workspace: Path, event: str, payload: dict[str, Any], **more: str
    ) -> dict[str, str]:
        run_dir = workspace.parent
        event_path = run_dir / f"{event}-event.json"
        event_path.write_text(json.dumps(payload), encoding="utf-8")
        for name in ("step-summary.md", "output.txt", "path.txt", "env.txt"):
            (run_dir / name).write_text("", encoding="utf-8")
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("GITHUB_", "GITLAB_", "CI_", "RUNNER_"))
        }
        env.update(self.extra_env)
        env.update(
            CI="true",
            GITHUB_ACTIONS="true",
            GITHUB_EVENT_NAME=event,
            GITHUB_EVENT_PATH=str(event_path),
            GITHUB_STEP_SUMMARY=str(run_dir / "step-summary.md"),
            GITHUB_OUTPUT=str(run_dir / "output.txt"),
            GITHUB_PATH=str(run_dir / "path.txt"),
            GITHUB_ENV=str(run_dir / "env.txt"),
            GITHUB_WORKSPACE=str(workspace),
            GITHUB_REPOSITORY="octo/app",
            GITHUB_ACTION_PATH=str(self.action_path),
            RUNNER_TEMP=str(self.temp),
            RUNNER_OS="Linux",
            GITHUB_BASE_REF="",
            GITHUB_HEAD_REF="",
        )
        env.update(more)
        return env

    def step(
        self, name: str, env: dict[str, str], inputs: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        spec = action()
        given = {key: str(value.get("default", "")) for key, value in spec["inputs"].items()}
        unknown = set(inputs or {}) - set(given)
        assert not unknown, f"inputs the action does not declare: {unknown}"
        given.update(inputs or {})
        [step] = [s for s in spec["runs"]["steps"] if s.get("name") == name]
        assert step["shell"] == "bash"
        step_env = {k: _expression(str(v), given, self.action_path) for k, v in step["env"].items()}
        assert "${{" not in step["run"], "inputs reach scripts through env:, never spliced in"
        script = self.temp.parent / f"step-{name.replace(' ', '-')}.sh"
        script.write_text(step["run"], encoding="utf-8")
        # What GitHub runs for `shell: bash`, in the job's working directory (the workspace).
        return subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=env["GITHUB_WORKSPACE"],
            env={**env, **step_env},
            capture_output=True,
            text=True,
            check=False,
        )


@pytest.fixture(scope="session")
def runner(
    tmp_path_factory: pytest.TempPathFactory, source_snapshot: Path, wheelhouse: Path
) -> Runner:
    """The install step, run once: the scanner from the action's checkout into RUNNER_TEMP."""
    tmp = tmp_path_factory.mktemp("runner")
    temp = tmp / "runner-temp"
    temp.mkdir()
    run = Runner(tmp, source_snapshot, temp, packaging.offline_env(wheelhouse))
    workspace = tmp / "install-workspace"
    workspace.mkdir()
    installed = run.step("Install kimi-secret-scan", run.env(workspace, "push", {}))
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert f"kimi-secret-scan, version {packaging.version()}" in installed.stdout
    return run


@dataclass
class Remote:
    origin: GitRepo
    old_main: str  # on the remote before the push; its history already holds a key
    new_main: str  # main after a push that adds main.py with a key
    feature: str  # a branch off old_main that adds feature.py with a key
    topic: str  # a new branch off new_main with one clean commit
    tmp: Path

    def checkout(self, name: str, ref: str) -> Path:
        """actions/checkout with fetch-depth: 0: a full clone, `ref` checked out."""
        (self.tmp / name).mkdir()
        repo = cloned(f"file://{self.origin.path}", self.tmp / name / "workspace")
        repo.git("checkout", "-q", ref)
        return repo.path


@pytest.fixture
def remote(tmp_path: Path) -> Remote:
    origin, work = with_origin(tmp_path)
    work.commit_file("legacy.py", key_line()[0], "an old key, already on the remote")
    old_main = work.commit_file("README.md", "hello\n")
    work.git("push", "-q", "origin", "main")
    work.git("checkout", "-q", "-b", "feature")
    work.commit_file("feature.py", key_line()[0], "feature adds a key")
    feature = work.head()
    work.git("push", "-q", "origin", "feature")
    work.git("checkout", "-q", "main")
    new_main = work.commit_file("main.py", key_line()[0], "main adds a key")
    work.git("push", "-q", "origin", "main")
    work.git("checkout", "-q", "-b", "topic")
    topic = work.commit_file("notes.txt", "clean\n", "a clean change")
    work.git("push", "-q", "origin", "topic")
    return Remote(origin, old_main, new_main, feature, topic, tmp_path)


def _outputs(env: dict[str, str]) -> dict[str, str]:
    text = Path(env["GITHUB_OUTPUT"]).read_text(encoding="utf-8")
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


def _sarif_paths(path: Path) -> list[str]:
    results = json.loads(path.read_text(encoding="utf-8"))["runs"][0]["results"]
    return [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results]


def test_push_writes_sarif_annotations_and_summary_from_one_scan(
    runner: Runner, remote: Remote
) -> None:
    workspace = remote.checkout("push", remote.new_main)
    payload = {"before": remote.old_main, "after": remote.new_main, "ref": "refs/heads/main"}
    env = runner.env(
        workspace, "push", payload, GITHUB_SHA=remote.new_main, GITHUB_REF="refs/heads/main"
    )
    scan = runner.step("Scan", env)
    assert scan.returncode == 1, scan.stdout + scan.stderr
    # One scan: the range is said once, and every report names the same one finding.
    assert scan.stderr.count("GitHub Actions push to main") == 1, scan.stderr
    assert _sarif_paths(workspace / "kimi-secret-scan.sarif") == ["main.py"]
    annotations = [line for line in scan.stdout.splitlines() if line.startswith("::error ")]
    assert len(annotations) == 1 and "file=main.py,line=1," in annotations[0]
    # Only workflow commands and the summary line on stdout, which the runner parses.
    assert [line for line in scan.stdout.splitlines() if not line.startswith("::")] == [
        line for line in scan.stdout.splitlines() if line.startswith("kimi-secret-scan: ")
    ]
    summary = Path(env["GITHUB_STEP_SUMMARY"]).read_text(encoding="utf-8")
    assert "## kimi-secret-scan" in summary and "<code>main.py:1:17</code>" in summary
    assert _outputs(env) == {"exit-code": "1", "sarif": "kimi-secret-scan.sarif"}


def test_pull_request_scans_base_to_head(runner: Runner, remote: Remote) -> None:
    workspace = remote.checkout("pr", remote.feature)
    payload = {
        "number": 7,
        "pull_request": {
            "number": 7,
            "base": {"sha": remote.old_main, "ref": "main"},
            "head": {"sha": remote.feature, "ref": "feature"},
        },
    }
    env = runner.env(
        workspace,
        "pull_request",
        payload,
        # The checked-out merge commit is not in this clone: the head sha is used.
        GITHUB_SHA="f" * 40,
        GITHUB_REF="refs/pull/7/merge",
        GITHUB_BASE_REF="main",
        GITHUB_HEAD_REF="feature",
    )
    scan = runner.step("Scan", env, {"sarif": "reports/pr.sarif"})
    assert scan.returncode == 1, scan.stdout + scan.stderr
    assert "pull request #7" in scan.stderr
    assert _sarif_paths(workspace / "reports" / "pr.sarif") == ["feature.py"]
    assert "::error file=feature.py,line=1," in scan.stdout
    assert "<code>feature.py:1:17</code>" in Path(env["GITHUB_STEP_SUMMARY"]).read_text("utf-8")
    assert _outputs(env) == {"exit-code": "1", "sarif": "reports/pr.sarif"}


def test_new_branch_scans_only_its_own_commits_and_passes(runner: Runner, remote: Remote) -> None:
    workspace = remote.checkout("new-branch", remote.topic)
    payload = {"before": ZERO, "after": remote.topic, "ref": "refs/heads/topic", "created": True}
    env = runner.env(
        workspace, "push", payload, GITHUB_SHA=remote.topic, GITHUB_REF="refs/heads/topic"
    )
    scan = runner.step("Scan", env)
    assert scan.returncode == 0, scan.stdout + scan.stderr
    assert "new branch topic" in scan.stderr and ": 1 commit" in scan.stderr
    assert _sarif_paths(workspace / "kimi-secret-scan.sarif") == []
    assert "::error" not in scan.stdout
    assert "no Kimi keys found" in Path(env["GITHUB_STEP_SUMMARY"]).read_text("utf-8")
    assert _outputs(env) == {"exit-code": "0", "sarif": "kimi-secret-scan.sarif"}


def test_scheduled_history_audit_and_inputs(runner: Runner, remote: Remote) -> None:
    workspace = remote.checkout("schedule", "main")
    env = runner.env(
        workspace, "schedule", {"schedule": "0 3 * * 1"}, GITHUB_SHA=remote.new_main,
        GITHUB_REF="refs/heads/main",
    )  # fmt: skip
    scan = runner.step("Scan", env, {"command": "history", "sarif": ""})
    assert scan.returncode == 1, scan.stdout + scan.stderr
    annotated = {
        m.group(1) for m in re.finditer(r"^::error file=([^,]+),", scan.stdout, flags=re.M)
    }
    assert annotated == {"legacy.py", "feature.py", "main.py"}
    assert not list(workspace.glob("*.sarif"))
    assert _outputs(env) == {"exit-code": "1", "sarif": ""}
    # High confidence only: these keys are high confidence, so the job still fails.
    high = runner.step("Scan", env, {"command": "history", "min-confidence": "high"})
    assert high.returncode == 1
    # The repository's own configuration: listed as not applied, unless the input names it.
    (workspace / ".kimi-secret-scan.toml").write_text('exclude = ["legacy.py"]\n')
    plain = runner.step("Scan", env, {"command": "history", "sarif": ""})
    assert "::error file=legacy.py," in plain.stdout
    assert "own configuration, not applied" in plain.stdout
    named = runner.step(
        "Scan", env, {"command": "history", "sarif": "", "config": ".kimi-secret-scan.toml"}
    )
    assert "::error file=legacy.py," not in named.stdout
    assert "::error file=main.py," in named.stdout
    # The repository's inline allow comments: reported with a note, unless the input asks.
    repo = GitRepo(workspace)
    repo.commit_file("fixture.py", key_line()[0].rstrip("\n") + "  # kimi-secret-scan: allow\n")
    noted = runner.step("Scan", env, {"command": "history", "sarif": ""})
    assert "::error file=fixture.py," in noted.stdout
    assert "kimi-secret-scan history --inline-allows" in noted.stdout
    applied = runner.step("Scan", env, {"command": "history", "sarif": "", "inline-allows": "true"})
    assert "::error file=fixture.py," not in applied.stdout
    assert "::error file=main.py," in applied.stdout


def test_a_command_input_other_than_ci_or_history_is_refused(
    runner: Runner, remote: Remote
) -> None:
    workspace = remote.checkout("bad-input", "main")
    env = runner.env(workspace, "push", {}, GITHUB_SHA=remote.new_main)
    scan = runner.step("Scan", env, {"command": "ci; touch pwned"})
    assert scan.returncode == 2
    assert "::error title=kimi-secret-scan::the command input must be ci or history" in scan.stdout
    assert not (workspace / "pwned").exists()


def test_documented_workflow_uses_this_action_with_what_it_needs() -> None:
    """docs/ci.md's workflow: full history, one scan through the action, the SARIF upload
    with the permission it needs, and the inputs it passes exist."""
    workflow = yaml.safe_load(readme_block("upload-sarif", "yaml"))
    assert workflow["permissions"] == {"contents": "read", "security-events": "write"}
    steps = workflow["jobs"]["scan"]["steps"]
    checkout = next(s for s in steps if str(s.get("uses", "")).startswith("actions/checkout"))
    assert checkout["with"]["fetch-depth"] == 0
    [scan] = [s for s in steps if str(s.get("uses", "")).startswith("kimi-secret-scan/")]
    assert scan["uses"] == f"kimi-secret-scan/kimi-secret-scan@{packaging.release_tag()}"
    assert set(scan.get("with", {})) <= set(action()["inputs"])
    upload = next(s for s in steps if "upload-sarif" in str(s.get("uses", "")))
    sarif = scan.get("with", {}).get("sarif", action()["inputs"]["sarif"]["default"])
    assert upload["with"]["sarif_file"] == sarif
    assert "cancelled()" in upload["if"]  # uploaded when the scan step fails, too
    # No step runs the scanner a second time.
    assert not [s for s in steps if "kimi-secret-scan " in str(s.get("run", ""))]


def test_documented_scheduled_audit_uses_the_history_command() -> None:
    workflow = yaml.safe_load(readme_block("command: history", "yaml"))
    assert workflow[True]["schedule"]  # YAML 1.1 reads `on` as True
    steps = workflow["jobs"]["audit"]["steps"]
    assert steps[0]["with"]["fetch-depth"] == 0
    [scan] = [s for s in steps if str(s.get("uses", "")).startswith("kimi-secret-scan/")]
    assert scan["with"] == {"command": "history", "sarif": ""}
    assert set(scan["with"]) <= set(action()["inputs"])


def test_a_shallow_checkout_fails_with_exit_2_and_says_why(runner: Runner, remote: Remote) -> None:
    """actions/checkout's default depth of 1: the push's base is missing, and the job fails
    with the scanner's exit code 2 rather than passing on what it could not scan."""
    (remote.tmp / "shallow").mkdir()
    workspace = cloned(
        f"file://{remote.origin.path}", remote.tmp / "shallow" / "workspace", "--depth", "1"
    ).path
    payload = {"before": remote.old_main, "after": remote.new_main, "ref": "refs/heads/main"}
    env = runner.env(
        workspace, "push", payload, GITHUB_SHA=remote.new_main, GITHUB_REF="refs/heads/main"
    )
    scan = runner.step("Scan", env)
    assert scan.returncode == 2, scan.stdout + scan.stderr
    assert "fetch-depth: 0" in scan.stderr
    assert _outputs(env)["exit-code"] == "2"
