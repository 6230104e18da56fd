"""A key a parent's version held is "known" (not new) only when that version is outside the
range, or was scanned in it and the key reported there (review h8b, finding 2): a key
first committed where an exclude hides it, or in a file over the size limit, and then moved
to a scanned path in the same range, is reported. Real repositories, the real CLI, and a
real `git push` through the documented pre-receive hook."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.gitrepo import GitRepo, run_cli
from tests.remotes import ZERO, guarded_server, key_line

CONFIG = 'exclude = ["tests/fixtures/"]\nnew-suppressions = "fail"\n'


def _launder(work: GitRepo) -> str:
    """A branch whose first commit adds a key where main's exclude hides it, and whose
    second moves that file (git mv) to a path nothing excludes."""
    work.git("checkout", "-q", "-b", "laundered", "main")
    work.commit_file("tests/fixtures/k.env", key_line()[0], "fixture")
    (work.path / "app").mkdir()
    work.git("mv", "tests/fixtures/k.env", "app/.env")
    return work.commit("move")


def _paths(run_out: str) -> list[str]:
    return [f["path"] for f in json.loads(run_out)["findings"]]


def test_a_key_moved_out_of_an_excluded_path_is_reported(tmp_path: Path) -> None:
    server, work, env = guarded_server(tmp_path)
    work.commit_file(".kimi-secret-scan.toml", CONFIG, "config")
    (server.path / ".kimi-secret-scan.toml").write_text(CONFIG, encoding="utf-8")
    push = ["git", "push", "-q", "origin", "main"]
    assert subprocess.run(push, cwd=work.path, env=env, check=False).returncode == 0
    tip = _launder(work)

    run = run_cli(
        "range", "refs/heads/main..refs/heads/laundered", "--format", "json", cwd=work.path
    )
    assert run.code == 1, run.all
    assert _paths(run.out) == ["app/.env"]
    ci = ["ci", "--base", "refs/heads/main", "--head", "refs/heads/laundered"]
    run = run_cli(*ci, cwd=work.path)
    assert run.code == 1 and f"{tip[:12]}:app/.env:1:" in run.out, run.all
    line = f"refs/heads/laundered {tip} refs/heads/laundered {ZERO}\n"
    run = run_cli("pre-push", "origin", "x", cwd=work.path, input=line.encode())
    assert run.code == 1, run.all

    push = ["git", "push", "origin", "laundered"]
    proc = subprocess.run(push, cwd=work.path, env=env, capture_output=True, text=True)
    assert proc.returncode != 0 and "pre-receive hook declined" in proc.stderr, proc.stderr
    assert "app/.env" in proc.stderr
    assert server.git("for-each-ref", "refs/heads/laundered") == ""


def test_a_key_cut_out_of_a_file_over_the_size_limit_is_reported(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "r")
    repo.commit_file("r.txt", "hi\n", "base")
    repo.git("checkout", "-q", "-b", "big")
    line = key_line()[0]
    repo.commit_file("app.env", "# padding\n" * 400 + line, "big file")
    tip = repo.commit_file("app.env", line, "cut down to the key")
    args = ["range", "refs/heads/main..refs/heads/big", "--max-file-size", "1000"]
    run = run_cli(*args, cwd=repo.path)
    assert run.code == 1, run.all
    assert f"{tip[:12]}:app.env:1:" in run.out and "larger than the size limit" in run.all


def test_a_reported_key_is_reported_once_however_often_it_moves(tmp_path: Path) -> None:
    """The accepted case stays: a rename publishes no new bytes when its source was reported
    in the range (or is on the base side, tests/test_range.py)."""
    repo = GitRepo(tmp_path / "r")
    base = repo.commit_file("r.txt", "hi\n", "base")
    added = repo.commit_file("a.env", "A=1\n" + key_line()[0], "add a key")
    repo.git("mv", "a.env", "b.env")
    repo.commit("rename")
    repo.commit_file("b.env", "A=2\n" + (repo.path / "b.env").read_text().split("\n", 1)[1])
    run = run_cli("range", f"{base}..HEAD", "--format", "json", cwd=repo.path)
    assert run.code == 1, run.all
    [finding] = json.loads(run.out)["findings"]
    assert finding["path"] == "a.env" and finding["commit"] == added

    # An allow comment where the key was added hides it there, not at the path it moves to.
    repo.git("checkout", "-q", "-b", "allowed", base)
    key = key_line()[0].rstrip("\n")
    repo.commit_file("c.env", f"{key}  # kimi-secret-scan: allow\n", "allowed")
    repo.git("mv", "c.env", "d.env")
    moved = repo.commit_file("d.env", key + "\n", "drop the comment")
    run = run_cli("range", f"{base}..HEAD", "--format", "json", cwd=repo.path)
    assert run.code == 1, run.all
    [finding] = json.loads(run.out)["findings"]
    assert finding["path"] == "d.env" and finding["commit"] == moved


def test_a_large_version_is_compared_after_the_version_it_inherits(tmp_path: Path) -> None:
    """A blob over a scanning window is read in chunks, apart from the others: it still
    waits for the earlier version of the range it is compared with (one finding, not two)."""
    repo = GitRepo(tmp_path / "r")
    base = repo.commit_file("a.env", "A=1\n", "base")
    line = key_line()[0]
    added = repo.commit_file("a.env", "A=1\n" + line, "add a key")
    repo.commit_file("a.env", "A=1\n" + line + "row of a large file\n" * 10_000, "grow")
    env = {"KIMI_SECRET_SCAN_WINDOW": str(64 << 10)}
    run = run_cli("range", f"{base}..HEAD", "--format", "json", cwd=repo.path, env=env)
    assert run.code == 1, run.all
    [finding] = json.loads(run.out)["findings"]
    assert finding["path"] == "a.env" and finding["commit"] == added


def _raised(repo: GitRepo) -> tuple[str, str]:
    """A branch whose first commit holds a key below `high` (a plain `token = ...`), and
    whose second makes the same key a Moonshot setting (high)."""
    from tests.keygen import moonshot_key

    key = moonshot_key()
    repo.git("checkout", "-q", "-b", "raised", "main")
    repo.commit_file("conf.py", f'token = "{key}"\n', "medium")
    setting = f'MOONSHOT_API_KEY = "{key}"\nbase_url = "https://api.moonshot.cn/v1"\n'
    return key, repo.commit_file("conf.py", setting, "high")


def test_a_key_below_the_minimum_confidence_is_not_known_to_a_later_version(
    tmp_path: Path,
) -> None:
    """Review h9a, finding 1: with `min-confidence = "high"`, an earlier version reporting
    the key at medium (reported, not failing) made the high version in HEAD known: exit 0."""
    repo = GitRepo(tmp_path / "r")
    repo.commit_file("pyproject.toml", '[tool.kimi-secret-scan]\nmin-confidence = "high"\n', "c")
    key, tip = _raised(repo)
    shown = f"{tip[:12]}:conf.py:1:"
    for args in (
        ["range", "refs/heads/main..refs/heads/raised"],
        ["ci", "--base", "refs/heads/main"],
    ):
        run = run_cli(*args, cwd=repo.path)
        assert run.code == 1, (args, run.all)
        assert shown in run.out and "high confidence" in run.out and key not in run.all
    subprocess.run(["git", "init", "-q", "--bare", str(tmp_path / "o.git")], check=True)
    repo.git("remote", "add", "origin", str(tmp_path / "o.git"))
    repo.git("push", "-q", "origin", "main")
    line = f"refs/heads/raised {tip} refs/heads/raised {ZERO}\n"
    run = run_cli("pre-push", "origin", "x", cwd=repo.path, input=line.encode())
    assert run.code == 1, run.all

    # The same through the command line's option (the action's `min-confidence` input).
    other = GitRepo(tmp_path / "o")
    other.commit_file("r.txt", "hi\n", "base")
    _, tip = _raised(other)
    args = ["range", "--min-confidence", "high", "refs/heads/main..refs/heads/raised"]
    run = run_cli(*args, cwd=other.path)
    assert run.code == 1 and f"{tip[:12]}:conf.py:1:" in run.out, run.all
