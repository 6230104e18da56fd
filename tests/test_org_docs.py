"""docs/org-audit.md, executed: its shell lines, and its GitHub Actions and GitLab CI
workflows run as the CI systems would run them (matrix shards with artifacts, then the merge
job), against repositories served through file:// URLs."""

from __future__ import annotations

import fnmatch
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.gitrepo import GitRepo, git
from tests.keygen import kimi_code_key, moonshot_key
from tests.remotes import scanner_path_env

DOC = Path(__file__).resolve().parent.parent / "docs" / "org-audit.md"


def blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


@pytest.fixture
def org(tmp_path: Path) -> tuple[Path, str]:
    """Six bare repositories (a key shared by two of them), and repos.txt naming them."""
    shared = moonshot_key()
    urls = []
    for i in range(6):
        work = GitRepo(tmp_path / "src" / f"r{i}")
        work.commit_file("README.md", f"{i}\n")
        if i in (1, 4):
            work.commit_file(".env", f"MOONSHOT_API_KEY={shared}\n")
        if i == 2:
            work.commit_file("app.py", f'KIMI_API_KEY = "{kimi_code_key()}"\n')
        bare = tmp_path / "served" / f"r{i}.git"
        git(tmp_path, "clone", "-q", "--mirror", str(work.path), str(bare))
        urls.append(bare.as_uri())
    listing = tmp_path / "repos.txt"
    listing.write_text("\n".join(urls) + "\n")
    return listing, shared


def bash(
    line: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full = dict(os.environ, **scanner_path_env(), CI="true", **(env or {}))
    return subprocess.run(
        ["bash", "-eo", "pipefail", "-c", line],
        cwd=cwd,
        env=full,
        capture_output=True,
        text=True,
        check=False,
    )


def _installs(line: str) -> bool:
    return line.strip().startswith("pip install")  # this test runs the checkout's own tool


def test_the_shell_lines(org: tuple[Path, str], tmp_path: Path) -> None:
    listing, shared = org
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(listing, work / "repos.txt")
    for name, source in (("service", "r1"), ("deploy-config", "r3")):
        git(
            tmp_path,
            "clone",
            "-q",
            str(tmp_path / "served" / f"{source}.git"),
            str(tmp_path / name),
        )
    targets, merging = blocks("sh")[:2]
    for line in targets.strip().splitlines():
        run = bash(line, work)
        assert run.returncode == 1, (line, run.stderr)
        assert shared not in run.stdout + run.stderr
    for k in (1, 2):
        assert bash(
            f"kimi-secret-scan audit --targets repos.txt --shard {k}/2 --output-dir shard-{k}", work
        ).returncode in (0, 1)
    for line in merging.strip().splitlines():
        run = bash(line, work)
        assert run.returncode == 1, (line, run.stderr)
    assert "<svg" in (work / "kimi-audit.html").read_text()


def _github_expr(text: str, values: dict[str, str]) -> str:
    def sub(match: re.Match[str]) -> str:
        name = match.group(1).strip()
        assert name in values, f"unexpected expression {name}"
        return values[name]

    return re.sub(r"\$\{\{(.*?)\}\}", sub, text)


def test_the_github_actions_workflow(org: tuple[Path, str], tmp_path: Path) -> None:
    listing, shared = org
    (workflow,) = [b for b in blocks("yaml") if "strategy:" in b]
    jobs: dict[str, Any] = yaml.safe_load(workflow)["jobs"]
    shards = jobs["audit"]["strategy"]["matrix"]["shard"]
    artifacts = tmp_path / "artifacts"
    secrets = {"secrets.ORG_READ_TOKEN": "", "github.run_id": "1", "!cancelled()": "true"}

    def run_job(job: dict[str, Any], cwd: Path, values: dict[str, str]) -> list[int]:
        codes = []
        for step in job["steps"]:
            uses = step.get("uses", "")
            with_ = {k: _github_expr(str(v), values) for k, v in step.get("with", {}).items()}
            if uses.startswith("actions/upload-artifact"):
                target = artifacts / with_["name"]
                source = cwd / with_["path"]
                if source.is_dir():
                    shutil.copytree(source, target)
                else:
                    target.mkdir(parents=True)
                    shutil.copy(source, target)
            elif uses.startswith("actions/download-artifact"):
                for found in sorted(artifacts.iterdir()):
                    if fnmatch.fnmatch(found.name, with_["pattern"]):
                        shutil.copytree(found, cwd / with_["path"] / found.name)
            elif "run" in step and not _installs(step["run"]):
                env = {k: _github_expr(str(v), values) for k, v in step.get("env", {}).items()}
                run = bash(_github_expr(step["run"], values), cwd, env)
                assert shared not in run.stdout + run.stderr
                codes.append(run.returncode)
        return codes

    for shard in shards:
        job_dir = tmp_path / f"runner-{shard}"
        job_dir.mkdir()
        shutil.copy(listing, job_dir / "repos.txt")
        codes = run_job(jobs["audit"], job_dir, {"matrix.shard": str(shard), **secrets})
        assert codes == [0], f"shard {shard}: a shard job passes when it found keys"
    assert sorted(p.name for p in artifacts.iterdir()) == [f"kimi-audit-shard-{s}" for s in shards]
    reports = [
        p.name for p in artifacts.glob("kimi-audit-shard-*/*.json") if "-shard-" not in p.name
    ]
    assert len(reports) == len(set(reports)) == 6  # each repository in exactly one shard
    # and each shard says what it is, so the merge can tell when one is missing
    said = list(artifacts.glob("kimi-audit-shard-*/kimi-secret-scan-shard-*.json"))
    assert len(said) == len(shards)
    merge_dir = tmp_path / "runner-merge"
    merge_dir.mkdir()
    codes = run_job(jobs["merge"], merge_dir, secrets)
    assert codes == [0, 1]  # the HTML is published; then the job fails: keys were found
    assert (artifacts / "kimi-audit-report" / "kimi-audit.html").is_file()


def test_the_gitlab_pipeline(org: tuple[Path, str], tmp_path: Path) -> None:
    listing, shared = org
    (pipeline,) = [b for b in blocks("yaml") if "parallel:" in b]
    jobs: dict[str, Any] = yaml.safe_load(pipeline)
    audit, report = jobs["kimi-org-audit"], jobs["kimi-org-report"]
    total = int(audit["parallel"])
    merge_dir = tmp_path / "report-job"
    merge_dir.mkdir()
    for index in range(1, total + 1):
        job_dir = tmp_path / f"audit-job-{index}"
        job_dir.mkdir()
        shutil.copy(listing, job_dir / "repos.txt")
        env = {"CI_NODE_INDEX": str(index), "CI_NODE_TOTAL": str(total)}
        for line in audit["script"]:
            if not _installs(line):
                run = bash(line, job_dir, env)
                assert run.returncode == 0, run.stderr
                assert f"shard {index}/{total}:" in run.stderr
        for pattern in audit["artifacts"]["paths"]:
            for found in job_dir.glob(pattern.rstrip("/")):
                shutil.copytree(found, merge_dir / found.name)
    reports = [p.name for p in merge_dir.glob("shard-*/*.json") if "-shard-" not in p.name]
    assert len(reports) == len(set(reports)) == 6
    codes = []
    for line in report["script"]:
        if not _installs(line):
            run = bash(line, merge_dir)
            codes.append(run.returncode)
            assert shared not in run.stdout + run.stderr
    assert codes == [0, 1]
    assert "2 distinct key(s) in 3 of 6 audited repositories" in run.stdout
    assert (merge_dir / "kimi-audit.html").is_file()
