"""`kimi-secret-scan range`: every commit of BASE..HEAD, merges included; only added keys."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.gitrepo import GitRepo, run_cli
from tests.remotes import cloned, findings, key_line


def _scan(repo: GitRepo, spec: str, *extra: str) -> list[dict[str, object]]:
    return findings(run_cli("range", spec, "--format", "json", *extra, cwd=repo.path))


def test_reports_each_key_with_the_commit_that_added_it(repo: GitRepo) -> None:
    base = repo.commit_file("README.md", "hello\n", "start")
    line, key = key_line()
    added = repo.commit_file("app/config.py", "import os\n" + line, "add config")
    repo.commit_file("notes.txt", "nothing here\n", "notes")

    run = run_cli("range", f"{base}..HEAD", "--format", "json", cwd=repo.path)
    assert run.code == 1, run.all
    report = json.loads(run.out)
    [finding] = report["findings"]
    assert finding["path"] == "app/config.py"
    assert (finding["line"], finding["commit"]) == (2, added)
    assert finding["author"] == "Ada Author <ada@example.com>"
    assert report["stats"]["commits"] == 2
    assert key not in run.all
    assert f"{base[:12]}..{repo.head()[:12]}" in run.err  # the range is said


def test_three_dots_and_open_ends_name_the_same_commits(repo: GitRepo) -> None:
    base = repo.commit_file("a.txt", "a\n")
    line, _ = key_line()
    repo.commit_file("b.py", line)
    for spec in (f"{base}..HEAD", f"{base}...HEAD", f"{base}..", f"{base}..."):
        assert len(_scan(repo, spec)) == 1, spec
    assert _scan(repo, "HEAD..HEAD") == []


def test_keys_already_in_the_file_or_deleted_are_not_added(repo: GitRepo) -> None:
    line, _ = key_line()
    repo.commit_file("settings.py", "A = 1\n" + line)
    base = repo.head()
    repo.commit_file("settings.py", "A = 2\n" + line + "B = 3\n", "edit around the key")
    (repo.path / "conf").mkdir()
    repo.git("mv", "settings.py", "conf/settings.py")
    repo.commit("rename keeps the key")
    repo.commit_file("conf/settings.py", "A = 2\n", "delete the key")
    run = run_cli("range", f"{base}..HEAD", cwd=repo.path)
    assert run.code == 0, run.all
    assert "3 commits" in run.err


def test_a_key_added_in_a_later_commit_of_an_edited_file_is_found(repo: GitRepo) -> None:
    old_line, old_key = key_line()
    repo.commit_file("settings.py", old_line)
    base = repo.head()
    new_line, new_key = key_line()
    repo.commit_file("settings.py", old_line + new_line, "second key")
    [finding] = _scan(repo, f"{base}..HEAD")
    assert finding["line"] == 2
    assert old_key not in json.dumps(finding) and new_key not in json.dumps(finding)


def test_merge_brings_side_keys_once_and_its_own_changes_are_scanned(repo: GitRepo) -> None:
    base = repo.commit_file("shared.txt", "one\ntwo\n", "base")
    repo.git("checkout", "-q", "-b", "side")
    side_line, _ = key_line()
    side = repo.commit_file("side.py", side_line, "side adds a key")
    repo.commit_file("shared.txt", "one\nside\n", "side edits shared")
    repo.git("checkout", "-q", "main")
    repo.commit_file("shared.txt", "one\nmain\n", "main edits shared")
    # A conflict, resolved with a key: the merge's own change, in no parent.
    subprocess.run(["git", "merge", "-q", "side"], cwd=repo.path, capture_output=True)
    evil_line, _ = key_line()
    repo.write("shared.txt", "one\n" + evil_line)
    repo.add("shared.txt")
    merge = repo.commit("merge side")

    found = _scan(repo, f"{base}..HEAD")
    by_commit = {(f["commit"], f["path"]) for f in found}
    assert by_commit == {(side, "side.py"), (merge, "shared.txt")}


def test_evil_merge_without_conflict_is_caught(repo: GitRepo) -> None:
    repo.commit_file("a.txt", "a\n")
    repo.git("checkout", "-q", "-b", "side")
    repo.commit_file("b.txt", "b\n")
    repo.git("checkout", "-q", "main")
    repo.commit_file("c.txt", "c\n")
    base = repo.head()
    repo.git("merge", "-q", "--no-ff", "--no-commit", "side")
    line, _ = key_line()
    repo.write("evil.py", line)
    repo.add("evil.py")
    merge = repo.commit("innocent-looking merge")
    [finding] = _scan(repo, f"{base}..{merge}")
    assert (finding["commit"], finding["path"]) == (merge, "evil.py")
    # From the side branch's point of view the merge adds c.txt too, but no key there.
    assert len(_scan(repo, f"side..{merge}")) == 1


def test_missing_base_is_an_error_not_a_clean_result(repo: GitRepo) -> None:
    repo.commit_file("a.txt", "a\n")
    run = run_cli("range", "no-such-branch..HEAD", cwd=repo.path)
    assert run.code == 2
    assert "no-such-branch is not a commit in this repository" in run.err
    assert "Traceback" not in run.all
    assert run_cli("range", "main", cwd=repo.path).code == 2


def test_shallow_clone_without_the_base_says_how_to_fix_it(tmp_path: Path) -> None:
    upstream = GitRepo(tmp_path / "upstream")
    base = upstream.commit_file("a.txt", "a\n")
    upstream.commit_file("b.txt", "b\n")
    upstream.commit_file("c.txt", "c\n")
    shallow = cloned(f"file://{upstream.path}", tmp_path / "shallow", "--depth", "1")
    run = run_cli("range", f"{base}..HEAD", cwd=shallow.path)
    assert run.code == 2, run.all
    assert "shallow" in run.err and "fetch-depth: 0" in run.err
    assert "Traceback" not in run.all


def test_range_through_a_shallow_cut_is_refused(tmp_path: Path) -> None:
    upstream = GitRepo(tmp_path / "upstream")
    line, _ = key_line()
    upstream.commit_file("old.py", line, "an old key, long before the range")
    upstream.commit_file("a.txt", "a\n")
    upstream.git("checkout", "-q", "-b", "other")
    other = upstream.commit_file("o.txt", "o\n")
    upstream.git("checkout", "-q", "main")
    upstream.commit_file("b.txt", "b\n")
    shallow = cloned(
        f"file://{upstream.path}", tmp_path / "shallow", "--depth", "1", "--no-single-branch"
    )
    # `other` is in the clone, but main's history is cut: main minus other reaches the cut,
    # whose commit would look as if it added every file.
    run = run_cli("range", f"{other}..main", cwd=shallow.path)
    assert run.code == 2, run.all
    assert "history stops at" in run.err and "--unshallow" in run.err


def test_binary_and_submodule_changes(repo: GitRepo, tmp_path: Path) -> None:
    base = repo.commit_file("a.txt", "a\n")
    line, _ = key_line()
    repo.commit_file("blob.bin", b"\x00\x01" + line.encode() + b"\xff")
    sub = GitRepo(tmp_path / "sub")
    sub_head = sub.commit_file("x", "x\n")
    repo.git("update-index", "--add", "--cacheinfo", f"160000,{sub_head},vendor/sub")
    repo.commit("add a submodule pointer")
    run = run_cli("range", f"{base}..HEAD", "--format", "json", cwd=repo.path)
    report = json.loads(run.out)
    assert [f["path"] for f in report["findings"]] == ["blob.bin"]
    assert [s["path"].split(":", 1)[1] for s in report["stats"]["skipped"]] == ["vendor/sub"]


def test_a_key_in_a_submodule_path_is_found(repo: GitRepo, tmp_path: Path) -> None:
    """A submodule is not scanned, but the name of the path it sits at is published like
    any other (a gitlink added without .gitmodules: no file names it)."""
    base = repo.commit_file("a.txt", "a\n")
    _, key = key_line()
    sub_head = GitRepo(tmp_path / "sub").commit_file("x", "x\n")
    repo.git("update-index", "--add", "--cacheinfo", f"160000,{sub_head},vendor/{key}")
    repo.commit("add a submodule pointer")
    run = run_cli("range", f"{base}..HEAD", "--format", "json", cwd=repo.path)
    assert run.code == 1, run.all
    [finding] = json.loads(run.out)["findings"]
    assert finding["path"].startswith("path name")


def test_root_commit_in_range_scans_every_file(repo: GitRepo) -> None:
    line, _ = key_line()
    first = repo.commit_file("k.py", line)
    run = run_cli("range", "--format", "json", f"{first}~0..{first}", cwd=repo.path)
    assert findings(run) == []
    repo.git("checkout", "-q", "--orphan", "fresh")
    repo.git("rm", "-rq", "--cached", ".")
    repo.commit_file("other.txt", "fresh\n")
    assert [f["path"] for f in _scan(repo, "main..fresh")] == []
    # A root commit has no parent: everything in it is added.
    assert [f["path"] for f in _scan(repo, "fresh..main")] == ["k.py"]


def test_findings_come_in_commit_order(repo: GitRepo) -> None:
    base = repo.commit_file("existing.py", "A = 1\n")
    line, _ = key_line()
    first = repo.commit_file("existing.py", "A = 1\n" + line, "edit: compared with the parent")
    line, _ = key_line()
    second = repo.commit_file("new.py", line, "new file: nothing to compare with")
    assert [f["commit"] for f in _scan(repo, f"{base}..HEAD")] == [first, second]


def test_an_unreadable_blob_is_an_error_not_a_clean_result(repo: GitRepo) -> None:
    base = repo.commit_file("a.txt", "a\n")
    repo.commit_file("b.txt", "lost\n")
    blob = repo.git("rev-parse", "HEAD:b.txt").strip()
    (repo.path / ".git" / "objects" / blob[:2] / blob[2:]).unlink()  # a corrupt repository
    run = run_cli("range", f"{base}..HEAD", cwd=repo.path)
    assert run.code == 2, run.all
    assert "could not be read" in run.err and "b.txt" in run.err
