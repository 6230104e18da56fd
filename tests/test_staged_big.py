"""A staged file larger than a scanning window is read from its blob one window at a time,
never parsed from the patch (which held it at ~10x its size: issue 14, goal 3).

The window is made small (KIMI_SECRET_SCAN_WINDOW) so that files of a few hundred KB take
the path a file of hundreds of MB takes. Like a binary file, such a file's keys count
unless its earlier version already held them.
"""

from __future__ import annotations

import json
from typing import Any

from tests.gitrepo import GitRepo, run_cli
from tests.keygen import kimi_code_key, moonshot_key

WINDOW = 128 << 10
SMALL = {"KIMI_SECRET_SCAN_WINDOW": str(WINDOW)}


def _filler(lines: int) -> str:
    return "".join(f"row {i}: ordinary text of a large generated file\n" for i in range(lines))


def _staged(repo: GitRepo) -> tuple[int, dict[str, Any]]:
    run = run_cli("staged", "--format", "json", "--show-secrets", cwd=repo.path, env=SMALL)
    return run.code, json.loads(run.out)


def test_a_new_file_over_a_window_is_scanned_in_windows(repo: GitRepo) -> None:
    repo.commit_file("README.md", "# demo\n")
    key = kimi_code_key()
    body = _filler(20_000)  # ~1 MB: several windows
    repo.write("data/big.txt", body + f"KIMI_API_KEY={key}\n" + _filler(10))
    small_key = moonshot_key()
    repo.write("app.py", f'MOONSHOT_API_KEY = "{small_key}"\n')
    repo.add()
    code, report = _staged(repo)
    assert code == 1
    found = {(f["path"], f["line"], f["secret"]) for f in report["findings"]}
    assert found == {("data/big.txt", 20_001, key), ("app.py", 1, small_key)}


def test_a_modified_file_over_a_window_reports_only_keys_it_did_not_hold(repo: GitRepo) -> None:
    old_key, new_key = kimi_code_key(), kimi_code_key()
    repo.commit_file("big.env", f"KIMI_API_KEY={old_key}\n" + _filler(10_000))
    repo.write("big.env", f"KIMI_API_KEY={old_key}\n" + _filler(10_000) + f"KIMI_KEY={new_key}\n")
    repo.add()
    code, report = _staged(repo)
    assert code == 1
    assert [(f["line"], f["secret"]) for f in report["findings"]] == [(10_002, new_key)]


def test_a_file_over_the_limit_is_still_skipped_and_said(repo: GitRepo) -> None:
    repo.commit_file("README.md", "# demo\n")
    repo.write("huge.txt", _filler(10_000))
    repo.add()
    run = run_cli("staged", "--max-file-size", "1000", cwd=repo.path, env=SMALL)
    assert run.code == 0, run.all
    assert "skipped huge.txt: larger than the size limit" in run.all
