"""range / pre-push / ci read a blob larger than a scanning window in chunks, never whole,
and skip one over the size limit from its size alone (issue 14, goal 3). The window is
made small (KIMI_SECRET_SCAN_WINDOW) so that a few hundred KB take that path."""

from __future__ import annotations

import json

from tests.gitrepo import GitRepo, run_cli
from tests.keygen import kimi_code_key

SMALL = {"KIMI_SECRET_SCAN_WINDOW": str(128 << 10)}


def _filler(lines: int) -> str:
    return "".join(f"row {i}: ordinary text of a large generated file\n" for i in range(lines))


def test_range_reads_a_large_blob_in_windows(repo: GitRepo) -> None:
    old_key, new_key = kimi_code_key(), kimi_code_key()
    base = repo.commit_file("big.env", f"KIMI_API_KEY={old_key}\n" + _filler(10_000))
    repo.commit_file(
        "big.env", f"KIMI_API_KEY={old_key}\n" + _filler(10_000) + f"KIMI_KEY={new_key}\n"
    )
    repo.commit_file("new.txt", _filler(8_000) + f"KIMI_API_KEY={old_key}x\n")
    run = run_cli(
        "range", f"{base}..HEAD", "--format", "json", "--show-secrets", cwd=repo.path, env=SMALL
    )
    assert run.code == 1, run.all
    found = {(f["path"], f["line"], f["secret"]) for f in json.loads(run.out)["findings"]}
    # The key the parent's version held is not new; the added one is, at its line.
    assert ("big.env", 10_002, new_key) in found
    assert all(secret != old_key for _, _, secret in found)


def test_range_skips_a_blob_over_the_limit_from_its_size(repo: GitRepo) -> None:
    base = repo.commit_file("README.md", "# demo\n")
    repo.commit_file("huge.txt", _filler(10_000))
    run = run_cli("range", f"{base}..HEAD", "--max-file-size", "1000", cwd=repo.path, env=SMALL)
    assert run.code == 0, run.all
    assert "huge.txt" in run.all and "larger than the size limit" in run.all
