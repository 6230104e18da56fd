"""A staged file larger than a scanning window is read from its blob one window at a time,
never parsed from the patch (which held it at ~10x its size: issue 14, goal 3).

The window is made small (KIMI_SECRET_SCAN_WINDOW) so that files of a few hundred KB take
the path a file of hundreds of MB takes. Like a binary file, such a file's keys count
unless its earlier version already held them.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from kimi_secret_scan import git
from kimi_secret_scan.sources import staged
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


def test_a_diff_attribute_does_not_make_a_large_file_a_patch_to_hold(repo: GitRepo) -> None:
    # `* diff` (the committer's to write) makes git print a file of any size as text,
    # whatever core.bigFileThreshold says: the patch section is cut at a window and the
    # file read from its blob instead, in windows (its keys found at their lines).
    repo.commit_file(".gitattributes", "* diff\n")
    key, small_key = kimi_code_key(), moonshot_key()
    repo.write("data/big.txt", _filler(20_000) + f"KIMI_API_KEY={key}\n" + _filler(10))
    repo.write("app.py", f'MOONSHOT_API_KEY = "{small_key}"\n')
    repo.add()
    code, report = _staged(repo)
    assert code == 1
    found = {(f["path"], f["line"], f["secret"]) for f in report["findings"]}
    assert found == {("data/big.txt", 20_001, key), ("app.py", 1, small_key)}


def test_a_file_of_many_short_lines_is_not_a_patch_to_hold(repo: GitRepo) -> None:
    # Parsing a patch costs ~100 bytes per added line: 4 MB of empty lines cost 495 MiB.
    # Over 2**18 lines the section is cut and the file read from its blob as a whole.
    repo.commit_file("README.md", "# demo\n")
    key = kimi_code_key()
    repo.write("blank.txt", "\n" * 300_000 + f"KIMI_API_KEY={key}\n")
    repo.add()
    code, report = _staged(repo)
    assert code == 1
    assert [(f["path"], f["line"]) for f in report["findings"]] == [("blank.txt", 300_001)]


def test_a_cut_section_does_not_hide_the_files_after_it(repo: GitRepo) -> None:
    # The patch goes on after a cut section: later files are still parsed line by line
    # (only the added line is reported, not the key the file already held).
    old = kimi_code_key()
    repo.commit_file(".gitattributes", "* diff\n")
    repo.commit_file("z.env", f"OLD={old}\n")
    new = kimi_code_key()
    repo.write("a-big.txt", _filler(20_000))
    repo.write("z.env", f"OLD={old}\nKIMI_API_KEY={new}\n")
    repo.add()
    code, report = _staged(repo)
    assert code == 1
    assert [(f["path"], f["line"], f["secret"]) for f in report["findings"]] == [("z.env", 2, new)]


def test_what_is_held_of_a_patch_stays_under_the_section_bounds(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The bound itself, in-process with small sections: a file of 1 MB under `* diff`
    # leaves a cut section (its header and the binary mark) and the small file's section.
    monkeypatch.setattr(staged, "_SECTION_BYTES", 64 << 10)
    repo.commit_file(".gitattributes", "* diff\n")
    repo.write("big.txt", _filler(20_000))
    repo.write("small.txt", "a line\n")
    repo.add()
    held = staged._bounded(git.stream_git(staged._diff_args(1 << 30), repo.path))
    assert len(held) < 4096
    assert held.count(staged._CUT) == 1
    sections = staged._parse_patch(staged._parse_raw(held)[1])
    assert [(s.binary, sorted(s.lines)) for s in sections] == [(True, []), (False, [1])]


def test_a_few_lines_added_to_a_large_text_file_read_it_in_windows(repo: GitRepo) -> None:
    # Under `* diff` a large file's patch is text, and small when a few lines change: its
    # blob (and, for keys off the added lines, its earlier version) is read in windows.
    old_key, new_key = kimi_code_key(), kimi_code_key()
    repo.commit_file(".gitattributes", "* diff\n")
    repo.commit_file("big.env", f"KIMI_API_KEY={old_key}\n" + _filler(10_000))
    repo.write("big.env", f"KIMI_API_KEY={old_key}\n" + _filler(10_000) + f"K={new_key}\n")
    repo.add()
    code, report = _staged(repo)
    assert code == 1
    assert [(f["line"], f["secret"]) for f in report["findings"]] == [(10_002, new_key)]


def test_a_large_blob_behind_a_text_section_is_not_held(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(staged, "WINDOW", 64 << 10)
    repo.commit_file(".gitattributes", "* diff\n")
    repo.commit_file("big.txt", _filler(10_000))
    repo.write("big.txt", _filler(10_000) + "one more line\n")
    repo.add()
    [content] = list(staged.iter_staged(git.find_repo(repo.path)))
    assert isinstance(content, staged.Content)
    assert content.data == b"" and content.chunks is not None
    assert content.lines == frozenset({10_001})
