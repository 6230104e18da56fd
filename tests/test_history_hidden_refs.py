"""`history` reads what `git rev-list --all --reflog` leaves out (sources/hidden_refs.py):
FETCH_HEAD, MERGE_HEAD, ORIG_HEAD and the other pseudorefs, a rebase's state, other
worktrees' per-worktree refs, ref files git passes over, reflogs of deleted refs. Each key
is located by the name that holds it, and --jobs 1 and --jobs 2 give the same report."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests import keygen
from tests.gitrepo import GitRepo, Run, git, run_cli


def audit(cwd: Path, *args: str) -> dict[str, Any]:
    """The JSON report, the same with one process and with two."""
    runs: list[Run] = [
        run_cli("history", *args, "--jobs", jobs, "--format", "json", cwd=cwd)
        for jobs in ("1", "2")
    ]
    for run in runs:
        assert "Traceback" not in run.all, run.all
        assert run.code == runs[0].code, run.all
    reports = [json.loads(run.out) for run in runs]
    for report in reports:
        report.pop("stats", None)
    assert reports[0] == reports[1]
    data: dict[str, Any] = json.loads(runs[0].out)
    data["code"] = runs[0].code
    return data


def refs_of(data: dict[str, Any]) -> list[list[str]]:
    return [group["refs"] for group in data["groups"]]


def key_commit(repo: GitRepo, name: str = "cfg.env") -> str:
    """A commit holding a key, on no branch (HEAD's child), with no reflog entry."""
    blob = repo.git(
        "hash-object", "-w", "--stdin", input=f"KEY={keygen.kimi_code_key()}\n".encode()
    )
    tree = repo.git("mktree", input=f"100644 blob {blob.strip()}\t{name}\n".encode()).strip()
    return repo.git("commit-tree", "-p", "HEAD", "-m", "side", tree).strip()


@pytest.fixture
def base(repo: GitRepo) -> GitRepo:
    repo.commit_file("README.md", "clean\n", "base")
    return repo


def test_fetch_head_of_a_fetched_branch(base: GitRepo, tmp_path: Path) -> None:
    # `git fetch URL branch` (a contributor's fork, a pull request's head) writes only
    # FETCH_HEAD: no branch, no remote-tracking ref, no reflog.
    fork = GitRepo(tmp_path / "fork")
    fork.git("pull", "-q", str(base.path), "main")
    fork.git("checkout", "-q", "-b", "feature")
    fork.commit_file("cfg.env", f"KEY={keygen.kimi_code_key()}\n", "contributor change")
    base.git("fetch", "-q", str(fork.path), "feature")
    data = audit(base.path)
    assert data["code"] == 1
    assert refs_of(data) == [["FETCH_HEAD"]]
    assert data["groups"][0]["first_appearance"]["path"] == "cfg.env"


def test_every_line_of_fetch_head(base: GitRepo) -> None:
    # A `not-for-merge` line (every branch but the first of a multi-branch fetch).
    leaky = key_commit(base)
    head = base.head()
    (base.path / ".git" / "FETCH_HEAD").write_text(
        f"{head}\t\tbranch 'main' of /elsewhere\n{leaky}\tnot-for-merge\tbranch 'x' of /elsewhere\n"
    )
    data = audit(base.path)
    assert data["code"] == 1
    assert refs_of(data) == [["FETCH_HEAD"]]


def test_fetch_head_naming_an_annotated_tag(base: GitRepo) -> None:
    # `git fetch URL tag v2` of a tag this clone keeps no ref for: located by FETCH_HEAD.
    leaky = key_commit(base)
    text = f"object {leaky}\ntype commit\ntag v2\ntagger A <a@example.com> 0 +0000\n\nv2\n"
    tag = base.git("mktag", input=text.encode()).strip()
    (base.path / ".git" / "FETCH_HEAD").write_text(f"{tag}\t\ttag 'v2' of /elsewhere\n")
    data = audit(base.path)
    assert data["code"] == 1
    assert refs_of(data) == [["FETCH_HEAD"]]


def test_merge_head_of_a_conflicted_pull(base: GitRepo, tmp_path: Path) -> None:
    fork = GitRepo(tmp_path / "fork")
    fork.git("pull", "-q", str(base.path), "main")
    fork.commit_file("cfg.env", f"KEY={keygen.kimi_code_key()}\n", "theirs")
    fork.commit_file("README.md", "theirs\n", "theirs too")
    base.commit_file("README.md", "mine\n", "mine")
    with pytest.raises(AssertionError):  # the conflict
        base.git("pull", "-q", "--no-rebase", str(fork.path), "main")
    (base.path / ".git" / "FETCH_HEAD").unlink()
    assert (base.path / ".git" / "MERGE_HEAD").exists()
    data = audit(base.path)
    assert data["code"] == 1
    assert refs_of(data) == [["MERGE_HEAD"]]


@pytest.mark.parametrize(
    "name", ["ORIG_HEAD", "CHERRY_PICK_HEAD", "REBASE_HEAD", "AUTO_MERGE", "rebase-merge/onto"]
)
def test_other_pseudorefs_and_a_rebase_state(base: GitRepo, name: str) -> None:
    leaky = key_commit(base)
    target = base.path / ".git" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(leaky + "\n")
    data = audit(base.path)
    assert data["code"] == 1
    assert refs_of(data) == [[name]]


def test_a_commit_picked_by_an_interactive_rebase(base: GitRepo) -> None:
    leaky = key_commit(base)
    todo = base.path / ".git" / "rebase-merge" / "git-rebase-todo"
    todo.parent.mkdir()
    todo.write_text(f"# picked from elsewhere\npick {leaky} side\nexec true\n")
    data = audit(base.path)
    assert data["code"] == 1
    assert refs_of(data) == [["rebase-merge/git-rebase-todo"]]


def test_another_worktrees_own_refs(base: GitRepo, tmp_path: Path) -> None:
    linked = tmp_path / "linked"
    base.git("worktree", "add", "-q", "--detach", str(linked))
    bisect = key_commit(base, "bisect.env")
    own = key_commit(base, "own.env")
    git(linked, "update-ref", "refs/bisect/bad", bisect)
    git(linked, "update-ref", "refs/worktree/x", own)
    data = audit(base.path)
    assert data["code"] == 1
    assert sorted(refs_of(data)) == [
        ["worktrees/linked/refs/bisect/bad"],
        ["worktrees/linked/refs/worktree/x"],
    ]
    # From the linked worktree: its own refs are every ref's; the main worktree's too.
    main_own = key_commit(base, "main.env")
    base.git("update-ref", "refs/bisect/bad", main_own)
    data = audit(linked)
    assert sorted(refs_of(data)) == [
        ["main-worktree/refs/bisect/bad"],
        ["refs/bisect/bad"],
        ["refs/worktree/x"],
    ]


@pytest.mark.parametrize(
    "name", ["refs/heads/x.lock", "refs/heads/x.lock/y", "refs/heads/.hidden", "refs/.d/y"]
)
def test_ref_files_git_passes_over(base: GitRepo, name: str) -> None:
    leaky = key_commit(base)
    target = base.path / ".git" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(leaky + "\n")
    assert leaky not in base.git("rev-list", "--all", "--reflog")
    data = audit(base.path)
    assert data["code"] == 1
    assert refs_of(data) == [[name]]


def test_reflog_of_a_deleted_ref(base: GitRepo) -> None:
    leaky = key_commit(base)
    logs = base.path / ".git" / "logs" / "refs" / "heads"
    logs.mkdir(parents=True, exist_ok=True)
    zero = "0" * 40
    (logs / "gone").write_text(f"{zero} {leaky} A <a@example.com> 0 +0000\tbranch: gone\n")
    data = audit(base.path)
    assert data["code"] == 1
    assert refs_of(data) == [["refs/heads/gone@{reflog}"]]
    # --no-reflog leaves every reflog out, this one too.
    run = run_cli("history", "--no-reflog", cwd=base.path)
    assert run.code == 0, run.all


def test_a_commit_reset_away_is_local(base: GitRepo) -> None:
    base.commit_file("cfg.env", f"KEY={keygen.kimi_code_key()}\n", "oops")
    base.git("reset", "-q", "--hard", "HEAD~")
    data = audit(base.path)
    (group,) = data["groups"]
    assert group["refs"] == ["ORIG_HEAD"]
    run = run_cli("history", cwd=base.path)
    assert "only in this clone's stash or reflogs" in run.out
    # --no-reflog leaves it out, as it leaves out the reflog entry.
    assert run_cli("history", "--no-reflog", cwd=base.path).code == 0


def test_a_name_for_a_pruned_object_is_said(base: GitRepo) -> None:
    # gc prunes what only ORIG_HEAD or FETCH_HEAD names (the plan's own clean-up step does):
    # nothing is stored, so nothing can hold a key; said, and the audit passes.
    gone = "1" * 40
    (base.path / ".git" / "ORIG_HEAD").write_text(gone + "\n")
    data = audit(base.path)
    assert data["code"] == 0
    run = run_cli("history", "--format", "json", cwd=base.path)
    (skip,) = json.loads(run.out)["stats"]["skipped"]
    assert skip["path"] == "ORIG_HEAD" and gone in skip["reason"]
    assert "ORIG_HEAD" in run_cli("history", cwd=base.path).out


def test_fetch_head_naming_every_remote_branch_changes_nothing(
    base: GitRepo, tmp_path: Path
) -> None:
    # After a plain `git fetch`, FETCH_HEAD names the remote-tracking branches' tips: they
    # are every ref's already, so the report names no FETCH_HEAD.
    clone = tmp_path / "clone"
    base.commit_file("cfg.env", f"KEY={keygen.kimi_code_key()}\n", "oops")
    git(tmp_path, "clone", "-q", str(base.path), str(clone))
    git(clone, "fetch", "-q")
    assert (clone / ".git" / "FETCH_HEAD").read_text()
    data = audit(clone)
    assert refs_of(data) == [
        ["refs/heads/main", "refs/remotes/origin/HEAD", "refs/remotes/origin/main"]
    ]


def test_a_key_in_another_worktrees_ref_name(base: GitRepo, tmp_path: Path) -> None:
    linked = tmp_path / "linked"
    base.git("worktree", "add", "-q", "--detach", str(linked))
    key = keygen.kimi_code_key()
    git(linked, "update-ref", f"refs/bisect/{key}", "HEAD")
    data = audit(base.path)
    assert data["code"] == 1
    (finding,) = data["findings"]
    assert finding["path"] == "ref names"


def test_a_name_for_an_object_a_partial_clone_lacks_fails(base: GitRepo, tmp_path: Path) -> None:
    # There the object may be on the promisor remote, never fetched: not scanned, exit 2.
    base.git("config", "uploadpack.allowFilter", "true")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--filter=blob:none", f"file://{base.path}", str(clone))
    (clone / ".git" / "FETCH_HEAD").write_text("2" * 40 + "\t\tbranch 'x' of /elsewhere\n")
    data = audit(clone)
    assert data["code"] == 2
    run = run_cli("history", "--format", "json", cwd=clone)
    report = json.loads(run.out)
    assert report["stats"]["complete"] is False
    assert [s["path"] for s in report["stats"]["skipped"]] == ["FETCH_HEAD"]


@pytest.mark.parametrize("name", ["FETCH_HEAD", "MERGE_HEAD", "rebase-merge/onto"])
@pytest.mark.parametrize(
    "spelling", [str.upper, lambda oid: oid[:20] + oid[20:].upper()], ids=["upper", "mixed"]
)
def test_an_id_in_upper_case(base: GitRepo, name: str, spelling: Any) -> None:
    # git's hex parser takes either case: `git log FETCH_HEAD` shows the commit.
    leaky = key_commit(base)
    target = base.path / ".git" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(spelling(leaky) + "\n")
    assert base.git("rev-parse", "--verify", "-q", f"{leaky}^{{commit}}").strip() == leaky
    data = audit(base.path)
    assert data["code"] == 1
    assert refs_of(data) == [[name]]


def test_another_worktrees_ref_in_upper_case(base: GitRepo, tmp_path: Path) -> None:
    linked = tmp_path / "linked"
    base.git("worktree", "add", "-q", "--detach", str(linked))
    leaky = key_commit(base)
    bad = base.path / ".git" / "worktrees" / "linked" / "refs" / "bisect" / "bad"
    bad.parent.mkdir(parents=True)
    bad.write_text(leaky.upper() + "\n")
    assert git(linked, "rev-parse", "refs/bisect/bad").strip() == leaky
    data = audit(base.path)
    assert data["code"] == 1
    assert refs_of(data) == [["worktrees/linked/refs/bisect/bad"]]


@pytest.mark.parametrize("name", ["FETCH_HEAD", "MERGE_HEAD", "ORIG_HEAD"])
def test_a_pseudoref_that_is_a_link(base: GitRepo, name: str) -> None:
    # A link whose target is no ref name: git reads the file it points to.
    leaky = key_commit(base)
    (base.path / ".git" / "info" / "note").write_text(leaky + "\n")
    (base.path / ".git" / name).symlink_to("info/note")
    assert base.git("rev-parse", name).strip() == leaky
    data = audit(base.path)
    assert data["code"] == 1
    assert refs_of(data) == [[name]]


def test_another_worktrees_ref_that_is_a_link(base: GitRepo, tmp_path: Path) -> None:
    linked = tmp_path / "linked"
    base.git("worktree", "add", "-q", "--detach", str(linked))
    leaky = key_commit(base)
    (base.path / ".git" / "info" / "note").write_text(leaky + "\n")
    bad = base.path / ".git" / "worktrees" / "linked" / "refs" / "bisect" / "bad"
    bad.parent.mkdir(parents=True)
    bad.symlink_to("../../../../info/note")
    assert git(linked, "rev-parse", "refs/bisect/bad").strip() == leaky
    data = audit(base.path)
    assert data["code"] == 1
    assert refs_of(data) == [["worktrees/linked/refs/bisect/bad"]]


def test_a_pseudoref_linked_to_a_ref_name_is_a_symbolic_ref(base: GitRepo) -> None:
    # `FETCH_HEAD -> refs/heads/main`: git takes the link's text as a ref name (read on
    # its own), not as a path: nothing more to read, nothing said.
    (base.path / ".git" / "FETCH_HEAD").symlink_to("refs/heads/main")
    run = run_cli("history", "--format", "json", cwd=base.path)
    assert run.code == 0, run.all
    assert json.loads(run.out)["stats"]["skipped"] == []


def test_a_pseudoref_linked_to_what_cannot_be_read_is_said(base: GitRepo, tmp_path: Path) -> None:
    # git would wait on the FIFO (or read the device); this reads neither, and says so.
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    (base.path / ".git" / "FETCH_HEAD").symlink_to(fifo)
    (base.path / ".git" / "MERGE_HEAD").symlink_to("/dev/zero")
    data = audit(base.path)
    assert data["code"] == 2
    run = run_cli("history", "--format", "json", cwd=base.path)
    report = json.loads(run.out)
    assert report["stats"]["complete"] is False
    skipped = {s["path"]: s["reason"] for s in report["stats"]["skipped"]}
    assert sorted(skipped) == ["FETCH_HEAD", "MERGE_HEAD"]
    assert "not a regular file" in skipped["FETCH_HEAD"]
    assert "FETCH_HEAD" in run_cli("history", cwd=base.path).all


def test_another_worktrees_refs_through_a_linked_directory_are_said(
    base: GitRepo, tmp_path: Path
) -> None:
    # git reads `worktrees/linked/refs/bisect/bad` through the link; not walked here: said.
    linked = tmp_path / "linked"
    base.git("worktree", "add", "-q", "--detach", str(linked))
    leaky = key_commit(base)
    elsewhere = base.path / ".git" / "info" / "bisect"
    elsewhere.mkdir()
    (elsewhere / "bad").write_text(leaky + "\n")
    refs = base.path / ".git" / "worktrees" / "linked" / "refs"
    refs.mkdir(exist_ok=True)
    (refs / "bisect").symlink_to("../../../info/bisect")
    assert git(linked, "rev-parse", "refs/bisect/bad").strip() == leaky
    data = audit(base.path)
    assert data["code"] == 2
    run = run_cli("history", "--format", "json", cwd=base.path)
    (skip,) = json.loads(run.out)["stats"]["skipped"]
    assert skip["path"] == "worktrees/linked/refs/bisect"
