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


def _metadata_findings(repo: GitRepo, base: str) -> set[tuple[str, int, str]]:
    run = run_cli(
        "range", f"{base}..HEAD", "--format", "json", "--show-secrets", cwd=repo.path, env=SMALL
    )
    assert run.code == 1, run.all
    return {(f["path"], f["line"], f["secret"]) for f in json.loads(run.out)["findings"]}


def test_a_commit_message_over_a_window_is_read_in_chunks(repo: GitRepo) -> None:
    # A push may carry a message of any size: one over a window is scanned in windows
    # (a 54 MB message cost `range` 266 MiB when held whole).
    base = repo.commit_file("README.md", "# demo\n")
    key = kimi_code_key()
    (repo.path / ".git" / "MSG").write_text(
        "Subject\n\n" + _filler(8_000) + f"KIMI_API_KEY={key}\n" + _filler(10)
    )
    repo.commit_file("a.txt", "a\n", message="placeholder")
    repo.git("commit", "--amend", "-q", "--no-verify", "-F", ".git/MSG")
    sha = repo.head()
    assert _metadata_findings(repo, base) == {(f"commit message of {sha[:12]}", 8_003, key)}


def test_a_tag_message_and_a_note_over_a_window_are_read_in_chunks(repo: GitRepo) -> None:
    base = repo.commit_file("README.md", "# demo\n")
    repo.commit_file("a.txt", "a\n")
    tag_key, note_key = kimi_code_key(), kimi_code_key()
    (repo.path / ".git" / "TAG").write_text(
        "Release\n\n" + _filler(8_000) + f"KIMI_API_KEY={tag_key}\n"
    )
    repo.git("tag", "-a", "v1", "-F", ".git/TAG")
    (repo.path / ".git" / "NOTE").write_text(_filler(8_000) + f"KIMI_API_KEY={note_key}\n")
    repo.git("notes", "add", "-F", ".git/NOTE", "HEAD")
    sha = repo.head()
    assert _metadata_findings(repo, base) == {
        ("tag message of v1", 8_003, tag_key),
        (f"note on {sha[:12]} (refs/notes/commits)", 8_001, note_key),
    }
