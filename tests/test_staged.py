"""`kimi-secret-scan staged` on real repositories: what the next commit adds, from the index."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.gitrepo import GitRepo, Run, run_cli
from tests.keygen import kimi_code_key, moonshot_key

ROOT = Path(__file__).resolve().parents[1]


def staged(repo: GitRepo, *args: str, cwd: Path | None = None) -> tuple[Run, dict[str, Any]]:
    run = run_cli("staged", "--format", "json", *args, cwd=cwd or repo.path)
    assert run.code in (0, 1), run.all
    return run, json.loads(run.out)


def found(report: dict[str, Any]) -> list[tuple[str, int, int]]:
    return [(f["path"], f["line"], f["column"]) for f in report["findings"]]


def secrets(report: dict[str, Any]) -> list[str]:
    return [f["secret_sha256"] for f in report["findings"]]


def sha(key: str) -> str:
    import hashlib

    return hashlib.sha256(key.encode()).hexdigest()


def assert_one_line_error(run: Run, *words: str) -> None:
    assert run.code == 2, run.all
    assert run.out == ""
    lines = run.err.strip().splitlines()
    assert len(lines) == 1, run.err
    assert lines[0].startswith("kimi-secret-scan: error: ")
    assert "Traceback" not in run.err
    for word in words:
        assert word in lines[0]


# --- the first commit, and what is (not) in the index ------------------------------------


def test_first_commit_without_head(repo: GitRepo) -> None:
    key = kimi_code_key()
    repo.write("README.md", "hello\n")
    repo.write("app/config.py", f'import os\nKIMI_KEY = "{key}"\n')
    repo.add()
    run, report = staged(repo)
    assert run.code == 1
    assert found(report) == [("app/config.py", 2, 13)]
    assert report["mode"] == "staged"
    assert "first commit" in report["scope"]
    assert report["stats"]["files"] == 2
    assert report["stats"]["lines"] == 3


def test_first_commit_clean(repo: GitRepo) -> None:
    repo.write("README.md", "hello\nsk-xxxx placeholder\n")
    repo.add()
    run = run_cli("staged", cwd=repo.path)
    assert run.code == 0, run.all
    assert "no Kimi keys found" in run.out
    assert "scanned 1 file, 2 added lines" in run.out


def test_nothing_staged_says_so(repo: GitRepo) -> None:
    repo.commit_file("a.txt", "a\n")
    run = run_cli("staged", cwd=repo.path)
    assert run.code == 0, run.all
    assert "nothing to scan" in run.out


def test_empty_repository_says_so(repo: GitRepo) -> None:
    run = run_cli("staged", cwd=repo.path)
    assert run.code == 0, run.all
    assert "nothing to scan" in run.out


def test_key_only_in_working_tree_is_not_reported(repo: GitRepo) -> None:
    repo.commit_file("app.py", "print('hi')\n")
    repo.write("app.py", f"print('hi')\nKEY = '{kimi_code_key()}'\n")  # tracked, not staged
    repo.write("new.py", f"KEY = '{kimi_code_key()}'\n")  # untracked
    repo.commit_file("other.txt", "x\n")
    repo.write("other.txt", "x\ny\n")
    repo.add("other.txt")
    run, report = staged(repo)
    assert run.code == 0
    assert report["findings"] == []
    assert report["stats"]["files"] == 1


def test_key_staged_then_removed_from_working_tree_is_reported(repo: GitRepo) -> None:
    repo.commit_file("app.py", "print('hi')\n")
    key, other = kimi_code_key(), kimi_code_key()
    repo.write("app.py", f"print('hi')\nKEY = '{key}'\n")
    repo.write("gone.py", f"KEY = '{other}'\n")
    repo.add()
    repo.write("app.py", "print('hi')\nKEY = os.environ['KIMI_API_KEY']\n")
    (repo.path / "gone.py").unlink()
    run, report = staged(repo)
    assert run.code == 1
    assert found(report) == [("app.py", 2, 8), ("gone.py", 1, 8)]
    assert secrets(report) == [sha(key), sha(other)]


def test_intent_to_add_is_not_in_the_commit(repo: GitRepo) -> None:
    repo.commit_file("a.txt", "a\n")
    repo.write("later.py", f"KEY = '{kimi_code_key()}'\n")
    repo.git("add", "-N", "later.py")
    run, report = staged(repo)
    assert run.code == 0, report


# --- partial staging -----------------------------------------------------------------------


def _stage_content(repo: GitRepo, name: str, content: str) -> None:
    """Write `content` to the index only (what `git add -p` of some hunks leaves behind)."""
    oid = repo.git("hash-object", "-w", "--stdin", input=content.encode()).strip()
    repo.git("update-index", "--cacheinfo", f"100644,{oid},{name}")


def test_partial_staging_unstaged_hunk_with_key_is_not_reported(repo: GitRepo) -> None:
    lines = [f"line {n}\n" for n in range(1, 21)]
    repo.commit_file("app.py", "".join(lines))
    key = kimi_code_key()
    worktree = lines.copy()
    worktree[1] = "line 2 changed\n"
    worktree[15] = f"KEY = '{key}'\n"
    repo.write("app.py", "".join(worktree))
    index = lines.copy()
    index[1] = "line 2 changed\n"  # only the first hunk is staged
    _stage_content(repo, "app.py", "".join(index))
    run, report = staged(repo)
    assert run.code == 0, report
    assert report["stats"]["lines"] == 1


def test_partial_staging_staged_hunk_with_key_is_reported_at_index_line(repo: GitRepo) -> None:
    lines = [f"line {n}\n" for n in range(1, 21)]
    repo.commit_file("app.py", "".join(lines))
    key = kimi_code_key()
    index = lines.copy()
    index[15] = f"KEY = '{key}'\n"
    _stage_content(repo, "app.py", "".join(index))
    # The working tree gains lines above the key: the line number must come from the index.
    repo.write("app.py", "extra\nextra\n" + "".join(index))
    run, report = staged(repo)
    assert run.code == 1
    assert found(report) == [("app.py", 16, 8)]


# --- only the lines the commit adds ---------------------------------------------------------


def test_key_already_in_head_on_unchanged_line_is_not_reported(repo: GitRepo) -> None:
    key = kimi_code_key()
    body = [f"line {n}\n" for n in range(1, 11)]
    body[0] = f"KEY = '{key}'\n"
    repo.commit_file("config.py", "".join(body))
    body[6] = "line 7 changed\n"
    repo.write("config.py", "".join(body))
    repo.add()
    run, report = staged(repo)
    assert run.code == 0, report
    assert report["stats"]["lines"] == 1


def test_new_key_beside_old_key_reports_only_the_new(repo: GitRepo) -> None:
    old, new = kimi_code_key(), kimi_code_key()
    repo.commit_file("config.py", f"OLD = '{old}'\n")
    repo.write("config.py", f"OLD = '{old}'\nNEW = '{new}'\n")
    repo.add()
    run, report = staged(repo)
    assert run.code == 1
    assert secrets(report) == [sha(new)]
    assert found(report) == [("config.py", 2, 8)]


@pytest.mark.parametrize(
    "config",
    [
        # Fuses nearby hunks and shows the unchanged lines between them as context.
        ("diff.interHunkContext", "10"),
        ("diff.noprefix", "true"),
        ("diff.mnemonicPrefix", "true"),
        ("color.ui", "always"),
        ("diff.renames", "copies"),
        ("diff.external", "false"),
        ("diff.relative", "true"),
    ],
)
def test_user_diff_configuration_does_not_change_the_result(
    repo: GitRepo, config: tuple[str, str]
) -> None:
    old = kimi_code_key()
    body = [f"line {n}\n" for n in range(1, 12)]
    body[5] = f"OLD = '{old}'\n"
    repo.commit_file("config.py", "".join(body))
    repo.commit_file("sub/copy-source.py", "".join(body))
    repo.git("config", *config)
    new = kimi_code_key()
    body[3] = "line 4 changed\n"
    body[7] = f"NEW = '{new}'\n"
    repo.write("config.py", "".join(body))
    repo.add()
    run, report = staged(repo, cwd=repo.path / "sub")
    assert run.code == 1, run.all
    assert found(report) == [("config.py", 8, 8)]
    assert secrets(report) == [sha(new)]
    assert report["stats"]["lines"] == 2


def test_git_diff_opts_in_the_environment_does_not_widen_hunks(repo: GitRepo) -> None:
    """GIT_DIFF_OPTS=--unified=N overrides -U0 on git's command line; it must not apply."""
    old = kimi_code_key()
    body = [f"line {n}\n" for n in range(1, 12)]
    body[4] = f"OLD = '{old}'\n"
    repo.commit_file("config.py", "".join(body))
    body[5] = "line 6 changed\n"
    repo.write("config.py", "".join(body))
    repo.add()
    run = run_cli("staged", "--format", "json", cwd=repo.path, env={"GIT_DIFF_OPTS": "-u5"})
    assert run.code == 0, run.all
    assert json.loads(run.out)["stats"]["lines"] == 1


def test_linked_worktree_with_a_merge_in_progress(repo: GitRepo, tmp_path: Path) -> None:
    key = kimi_code_key()
    _merge_with_key_on_the_other_side(repo, key)
    linked = tmp_path / "linked"
    repo.git("worktree", "add", "-q", "-b", "feature", str(linked), "main")
    subprocess.run(["git", "merge", "--no-commit", "--no-ff", "-q", "side"], cwd=linked, check=True)
    run = run_cli("staged", "--format", "json", cwd=linked)
    assert run.code == 0, run.all
    (linked / "conf.py").write_text(f"import os\nKEY = '{key}'\nNEW = '{kimi_code_key()}'\n")
    subprocess.run(["git", "add", "conf.py"], cwd=linked, check=True)
    run = run_cli("staged", "--format", "json", cwd=linked)
    assert run.code == 1, run.all
    assert found(json.loads(run.out)) == [("conf.py", 3, 8)]


# --- deletions, renames, mode and type changes ------------------------------------------------


def test_deleting_a_file_with_a_key_is_clean(repo: GitRepo) -> None:
    repo.commit_file("leak.py", f"KEY = '{kimi_code_key()}'\n")
    repo.git("rm", "-q", "leak.py")
    run, report = staged(repo)
    assert run.code == 0, report
    assert "nothing to scan" in run_cli("staged", cwd=repo.path).out


def test_removing_the_key_line_is_clean(repo: GitRepo) -> None:
    repo.commit_file("leak.py", f"import os\nKEY = '{kimi_code_key()}'\nprint(KEY)\n")
    repo.write("leak.py", "import os\nKEY = os.environ['KIMI_API_KEY']\nprint(KEY)\n")
    repo.add()
    run, report = staged(repo)
    assert run.code == 0, report


def test_pure_rename_is_not_reported_again(repo: GitRepo) -> None:
    repo.commit_file("old name.py", f"KEY = '{kimi_code_key()}'\n" + "x = 1\n" * 20)
    repo.git("mv", "old name.py", "new name.py")
    run, report = staged(repo)
    assert run.code == 0, report


def test_rename_with_small_edit_reports_nothing_old(repo: GitRepo) -> None:
    body = f"KEY = '{kimi_code_key()}'\n" + "".join(f"x{n} = {n}\n" for n in range(20))
    repo.commit_file("src/a.py", body)
    repo.git("mv", "src/a.py", "src/b.py")
    repo.write("src/b.py", body + "y = 2\n")
    repo.add()
    run, report = staged(repo)
    assert run.code == 0, report
    assert report["stats"]["lines"] == 1


def test_rename_adding_a_key_is_reported_at_the_new_path(repo: GitRepo) -> None:
    body = "".join(f"x{n} = {n}\n" for n in range(20))
    repo.commit_file("src/a.py", body)
    repo.git("mv", "src/a.py", "src/b.py")
    repo.write("src/b.py", body + f"KEY = '{kimi_code_key()}'\n")
    repo.add()
    run, report = staged(repo)
    assert run.code == 1
    assert found(report) == [("src/b.py", 21, 8)]


def test_mode_change_only_is_clean(repo: GitRepo) -> None:
    repo.commit_file("run.sh", f"#!/bin/sh\nKEY='{kimi_code_key()}'\n")
    repo.git("update-index", "--chmod=+x", "run.sh")
    run, report = staged(repo)
    assert run.code == 0, report


def test_file_replaced_by_symlink_and_back(repo: GitRepo) -> None:
    key = kimi_code_key()
    repo.commit_file("target.py", "x = 1\n")
    repo.commit_file("conf.py", f"KEY = '{key}'\n")
    (repo.path / "conf.py").unlink()
    (repo.path / "conf.py").symlink_to("target.py")
    repo.add()
    run, report = staged(repo)
    assert run.code == 0, report
    repo.commit("to a symlink")
    # and back: a symlink replaced by a regular file holding a key
    (repo.path / "conf.py").unlink()
    repo.write("conf.py", f"KEY = '{kimi_code_key()}'\n")
    repo.add()
    run, report = staged(repo)
    assert run.code == 1
    assert found(report) == [("conf.py", 1, 8)]


# --- binary files ----------------------------------------------------------------------------


def test_binary_file_with_a_key_is_reported(repo: GitRepo) -> None:
    key = kimi_code_key()
    repo.commit_file("a.txt", "a\n")
    repo.write("blob.bin", b"\x00\x01\x02header\x00" + f"key={key}\n".encode() + b"\x00\xff")
    repo.add()
    run, report = staged(repo)
    assert run.code == 1
    assert secrets(report) == [sha(key)]
    assert report["findings"][0]["path"] == "blob.bin"


def test_binary_file_keeping_its_old_key_is_clean_but_a_new_key_is_not(repo: GitRepo) -> None:
    old, new = kimi_code_key(), kimi_code_key()
    repo.commit_file("blob.bin", b"\x00" + f"key={old}\n".encode() + b"\x00v1")
    repo.write("blob.bin", b"\x00" + f"key={old}\n".encode() + b"\x00v2")
    repo.add()
    run, report = staged(repo)
    assert run.code == 0, report
    repo.write("blob.bin", b"\x00" + f"key={old}\nkey={new}\n".encode() + b"\x00v3")
    repo.add()
    run, report = staged(repo)
    assert run.code == 1
    assert secrets(report) == [sha(new)]


# --- file names ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "with space.py",
        "quote\"and'apostrophe.py",
        "naïve/日本語 ключ.py",
        "new\nline.py",
        "tab\tname.py",
        "back\\slash.py",
        "-leading-dash.py",
    ],
)
def test_unusual_file_names(repo: GitRepo, name: str) -> None:
    repo.commit_file("a.txt", "a\n")
    repo.write(name, f"x = 1\nKEY = '{kimi_code_key()}'\n")
    repo.add(name)
    run, report = staged(repo)
    assert run.code == 1, run.all
    assert found(report) == [(name, 2, 8)]
    # In text, each finding's location stays on one line.
    text = run_cli("staged", cwd=repo.path).out
    shown = json.dumps(name, ensure_ascii=False) if not name.isprintable() else name
    assert f"{shown}:2:8: Kimi Code API key" in text.splitlines()[0]


def test_paths_limit_the_scan_and_accept_unusual_names(repo: GitRepo) -> None:
    repo.commit_file("a.txt", "a\n")
    names = ["one two.py", "ключ.py", "other.py"]
    for name in names:
        repo.write(name, f"KEY = '{kimi_code_key()}'\n")
    repo.add()
    run, report = staged(repo, "one two.py", "ключ.py")
    assert run.code == 1
    assert [p for p, _, _ in found(report)] == ["one two.py", "ключ.py"]


# --- merges --------------------------------------------------------------------------------


def _merge_with_key_on_the_other_side(repo: GitRepo, key: str) -> None:
    repo.commit_file("base.txt", "base\n")
    repo.git("checkout", "-q", "-b", "side")
    repo.commit_file("conf.py", f"import os\nKEY = '{key}'\n")
    repo.commit_file("shared.txt", "one\ntwo\nthree\n")
    repo.git("checkout", "-q", "main")
    repo.commit_file("other.txt", "x\n")


def test_merge_in_progress_does_not_report_the_other_sides_key(repo: GitRepo) -> None:
    _merge_with_key_on_the_other_side(repo, kimi_code_key())
    repo.git("merge", "--no-commit", "--no-ff", "-q", "side")
    assert (repo.path / ".git" / "MERGE_HEAD").exists()
    run, report = staged(repo)
    assert run.code == 0, report
    assert report["stats"]["files"] >= 1


def test_merge_in_progress_reports_a_key_added_in_the_resolution(repo: GitRepo) -> None:
    old, new, third = kimi_code_key(), kimi_code_key(), kimi_code_key()
    _merge_with_key_on_the_other_side(repo, old)
    repo.git("merge", "--no-commit", "--no-ff", "-q", "side")
    repo.write("conf.py", f"import os\nKEY = '{old}'\nNEW = '{new}'\n")
    repo.write("added in merge.py", f"KEY = '{third}'\n")  # not on either side
    repo.add()
    run, report = staged(repo)
    assert run.code == 1
    assert found(report) == [("added in merge.py", 1, 8), ("conf.py", 3, 8)]
    assert secrets(report) == [sha(third), sha(new)]


def test_conflicted_merge_resolved_with_a_key(repo: GitRepo) -> None:
    repo.commit_file("conf.py", "KEY = None\n")
    repo.git("checkout", "-q", "-b", "side")
    repo.commit_file("conf.py", "KEY = 'side'\n")
    repo.git("checkout", "-q", "main")
    repo.commit_file("conf.py", "KEY = 'main'\n")
    subprocess.run(["git", "merge", "-q", "side"], cwd=repo.path, capture_output=True)
    # Unresolved: the path cannot be scanned yet, and the output says so.
    run = run_cli("staged", cwd=repo.path)
    assert run.code == 0, run.all
    assert "skipped conf.py: unmerged" in run.out
    key = kimi_code_key()
    repo.write("conf.py", f"KEY = '{key}'\n")
    repo.add("conf.py")
    run, report = staged(repo)
    assert run.code == 1
    assert found(report) == [("conf.py", 1, 8)]


# --- git commit -a / git commit PATH (a temporary GIT_INDEX_FILE) ---------------------------


def _install_plain_hook(repo: GitRepo) -> None:
    hook = repo.path / ".git" / "hooks" / "pre-commit"
    hook.parent.mkdir(parents=True, exist_ok=True)
    hook.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m kimi_secret_scan staged\n')
    hook.chmod(0o755)


def _commit(repo: GitRepo, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(
        ["git", "commit", "-q", *args], cwd=repo.path, env=env, capture_output=True, text=True
    )


def test_git_commit_all_is_blocked_by_an_unstaged_key_edit(repo: GitRepo) -> None:
    repo.commit_file("app.py", "print('hi')\n")
    repo.commit_file("other.py", "x = 1\n")
    _install_plain_hook(repo)
    head = repo.head()
    repo.write("app.py", f"print('hi')\nKEY = '{kimi_code_key()}'\n")  # not staged

    proc = _commit(repo, "-a", "-m", "everything")
    assert proc.returncode != 0
    assert "app.py:2:8" in proc.stdout + proc.stderr
    assert repo.head() == head

    proc = _commit(repo, "app.py", "-m", "only this path")
    assert proc.returncode != 0
    assert "app.py:2:8" in proc.stdout + proc.stderr
    assert repo.head() == head

    # A clean `commit -a` passes, and the key in app.py (left unstaged) does not stop it.
    repo.git("checkout", "--", "app.py")
    repo.write("other.py", "x = 2\n")
    proc = _commit(repo, "-a", "-m", "clean")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert repo.head() != head


# --- things that are reported as skipped ------------------------------------------------------


def test_submodule_entry_is_reported_as_skipped(repo: GitRepo) -> None:
    head = repo.commit_file("a.txt", "a\n")
    repo.git("update-index", "--add", "--cacheinfo", f"160000,{head},vendor/lib")
    run = run_cli("staged", cwd=repo.path)
    assert run.code == 0, run.all
    assert "skipped vendor/lib: submodule" in run.out
    assert "1 skipped" in run.out
    _, report = staged(repo)
    assert report["stats"]["skipped"][0]["path"] == "vendor/lib"


def test_submodule_configuration_does_not_hide_or_break_anything(repo: GitRepo) -> None:
    """diff.submodule=log writes no `diff --git` section for a submodule; ignoreSubmodules
    would drop it from the list: neither may shift the other files' lines."""
    head = repo.commit_file("a.txt", "a\n")
    repo.git("config", "diff.submodule", "log")
    repo.git("config", "diff.ignoreSubmodules", "all")
    repo.git("update-index", "--add", "--cacheinfo", f"160000,{head},0-first/lib")
    repo.write("z-last.py", f"x = 1\nKEY = '{kimi_code_key()}'\n")
    repo.add("z-last.py")
    run = run_cli("staged", cwd=repo.path)
    assert run.code == 1, run.all
    assert "z-last.py:2:8" in run.out
    assert "skipped 0-first/lib: submodule" in run.out


def test_file_replaced_by_a_submodule_is_reported_as_skipped(repo: GitRepo) -> None:
    head = repo.commit_file("vendor", f"KEY = '{kimi_code_key()}'\n")
    repo.git("rm", "-q", "--cached", "vendor")
    repo.git("update-index", "--add", "--cacheinfo", f"160000,{head},vendor")
    run = run_cli("staged", cwd=repo.path)
    assert run.code == 0, run.all
    assert "skipped vendor: submodule" in run.out


def test_file_over_the_size_limit_is_reported_as_skipped(repo: GitRepo) -> None:
    repo.write("big.txt", "x" * 5000 + "\n")
    repo.add()
    run = run_cli("staged", "--max-file-size", "1000", cwd=repo.path)
    assert run.code == 0, run.all
    assert "skipped big.txt: larger than the size limit" in run.out


# --- where it runs from ---------------------------------------------------------------------


def test_subdirectory_and_repo_option_report_paths_from_the_top(
    repo: GitRepo, tmp_path: Path
) -> None:
    repo.commit_file("a.txt", "a\n")
    repo.write("pkg/mod.py", f"KEY = '{moonshot_key()}'  # api.moonshot.cn\n")
    repo.add()
    _, from_sub = staged(repo, cwd=repo.path / "pkg")
    _, from_outside = staged(repo, "--repo", str(repo.path), cwd=tmp_path)
    assert found(from_sub) == found(from_outside) == [("pkg/mod.py", 1, 8)]
    assert from_sub["findings"][0]["key_kind"] == "moonshot-platform-cn"


# --- could not scan (exit 2, one line) --------------------------------------------------------


def test_not_a_repository(tmp_path: Path) -> None:
    (tmp_path / "plain").mkdir()
    run = run_cli("staged", cwd=tmp_path / "plain")
    assert_one_line_error(run, "not inside a git repository")


def test_repo_option_pointing_nowhere(tmp_path: Path) -> None:
    run = run_cli("staged", "--repo", str(tmp_path / "missing"), cwd=tmp_path)
    assert_one_line_error(run, "does not exist")


def test_bare_repository(tmp_path: Path) -> None:
    bare = GitRepo(tmp_path / "bare.git", bare=True)
    run = run_cli("staged", cwd=bare.path)
    assert_one_line_error(run, "bare")


def test_git_missing_from_path(repo: GitRepo, tmp_path: Path) -> None:
    repo.write("a.py", f"KEY = '{kimi_code_key()}'\n")
    repo.add()
    bin_dir = tmp_path / "bin-without-git"
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to(sys.executable)
    run = run_cli("staged", cwd=repo.path, env={"PATH": str(bin_dir)})
    assert_one_line_error(run, "git was not found")


def test_named_paths_that_are_not_staged_are_scanned_whole(repo: GitRepo) -> None:
    """What `pre-commit run --all-files` / `--files` ask: the given files, whole."""
    repo.commit_file("pkg/old.py", f"x = 1\nKEY = '{kimi_code_key()}'\n")
    repo.write("new.py", "x = 1\n")
    repo.add("new.py")
    run, report = staged(repo, "old.py", "../new.py", cwd=repo.path / "pkg")
    assert run.code == 1
    assert report["mode"] == "files"
    assert "whole" in report["scope"]
    assert found(report) == [("pkg/old.py", 2, 8)]
    assert report["stats"]["files"] == 2
    assert report["stats"]["lines"] == 3


def test_a_named_symbolic_link_is_read_as_git_stores_it_not_followed(
    repo: GitRepo, tmp_path: Path
) -> None:
    """A committed link to a file outside the repository (/proc/self/environ, ~/.netrc):
    named to the hook, its target's name is scanned, never the target it points at."""
    secret = tmp_path / "outside.env"
    secret.write_text(f"KIMI_API_KEY={kimi_code_key()}\n")
    repo.commit_file("README.md", "hi\n")
    (repo.path / "env.txt").symlink_to(secret)
    repo.add("env.txt")
    repo.commit("a link")
    run, report = staged(repo, "env.txt", "README.md")
    assert run.code == 0, run.all
    assert report["stats"]["files"] == 2


def test_new_file_content_is_rebuilt_exactly_from_the_patch(repo: GitRepo) -> None:
    """New files are read from the patch (not a second git call) only when byte-exact."""
    from kimi_secret_scan import git as kgit
    from kimi_secret_scan.sources.staged import staged_changes

    contents = {
        "crlf.txt": b"one\r\ntwo\r\n",
        "no-final-newline.txt": b"one\ntwo",
        "empty.txt": b"",
        "only-newline.txt": b"\n",
        "blank-lines.txt": b"\n\n\nx\n\n",
        "lookalike-lines.txt": b"+plus\n\\ backslash\n@@ -0,0 +1 @@\ndiff --git a/x b/x\n",
        "latin1.txt": b"caf\xe9\n",
        "lone-cr.txt": b"a\rb\n",
    }
    for name, data in contents.items():
        repo.write(name, data)
    repo.add()
    changes = staged_changes(kgit.find_repo(repo.path))
    rebuilt = {change.path: section.content for change, section in changes}
    for name, data in contents.items():
        if data:  # an empty file has no hunk, and nothing to rebuild
            assert rebuilt[name] == data, name
    run, report = staged(repo)
    assert run.code == 0
    assert report["stats"]["files"] == len(contents) - 1  # the empty file adds no line


def test_key_in_pieces_starting_on_an_unchanged_line_is_reported(repo: GitRepo) -> None:
    """The first piece was committed alone (no key); the change adds the rest on the next
    line. The joined key is reported at its first line, which the change did not touch: it
    counts all the same, since the earlier version held no such key (a gate must not pass
    a key because of where it starts)."""
    key = kimi_code_key()
    repo.commit_file("app.py", f'KIMI_API_KEY = ("{key[:40]}"\n    "")\n', "start")
    repo.write("app.py", f'KIMI_API_KEY = ("{key[:40]}"\n    "{key[40:]}")\n')
    repo.add("app.py")
    run = run_cli("staged", "--format", "json", cwd=repo.path)
    assert run.code == 1, run.all
    [finding] = json.loads(run.out)["findings"]
    assert (finding["path"], finding["line"]) == ("app.py", 1)
    assert key not in run.all


def test_key_already_held_in_pieces_is_not_reported_again(repo: GitRepo) -> None:
    key = kimi_code_key()
    repo.commit_file("app.py", f'KIMI_API_KEY = ("{key[:40]}"\n    "{key[40:]}")\n', "start")
    repo.write("app.py", f'KIMI_API_KEY = ("{key[:40]}"\n    "{key[40:]}")\nOTHER = 1\n')
    repo.add("app.py")
    run = run_cli("staged", cwd=repo.path)
    assert run.code == 0, run.all


def test_key_joined_by_only_deleting_a_line_is_reported(repo: GitRepo) -> None:
    """The base holds a key in two pieces with a junk piece between (no key there); the
    change only deletes the junk line. It adds no line, yet the file now holds the key
    whole: as in `range`, a key its earlier version lacked counts wherever it is."""
    key = kimi_code_key()
    a, b = key[:40], key[40:]
    repo.commit_file("client.py", f'KEY = (\n    "{a}"\n    "!"\n    "{b}"\n)\n', "base")
    repo.write("client.py", f'KEY = (\n    "{a}"\n    "{b}"\n)\n')
    repo.add("client.py")
    run, report = staged(repo)
    assert run.code == 1, run.all
    assert [(f["path"], f["line"]) for f in report["findings"]] == [("client.py", 2)]
    assert key not in run.all
    # Deleting a line beside a key the base already held whole adds nothing.
    repo.commit("joined")
    repo.write("client.py", f'KEY = (\n    "{a}"\n    "{b}"\n)\n'.replace("KEY = (\n", ""))
    repo.add("client.py")
    run, report = staged(repo)
    assert run.code == 0 and report["findings"] == [], run.all
