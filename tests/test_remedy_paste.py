"""Plans pasted where users paste them (review 8): a key in one stash entry among others, a
key in an annotated tag's message, a gate's plan pasted from a subdirectory, and a key whose
contexts disagree on its console. Each printed command runs here as printed."""

from __future__ import annotations

from pathlib import Path

from tests.gitrepo import GitRepo, run_cli
from tests.keygen import moonshot_key
from tests.test_remedy import plan_commands, run_ok


def _stored_objects_hold(repo: GitRepo, text: str) -> bool:
    out = repo.git("cat-file", "--batch-all-objects", "--batch=%(objecttype)")
    return text in out


def test_key_in_one_stash_entry_drops_that_entry_only(repo: GitRepo) -> None:
    # The clean-up was `stash clear && reflog expire --expire=now --all && gc --prune=now`:
    # every stash entry (the user's unrelated work) gone for good, without a word.
    repo.commit_file("README.md", "# app\n", "start")
    key = moonshot_key()
    repo.write(".env", f"MOONSHOT_API_KEY={key}\n")
    repo.add(".env")
    repo.git("stash", "-q")  # stash@{2} after the two below: the key
    repo.write("README.md", "# app\nunrelated work\n")
    repo.git("stash", "-q", "-m", "WIP: my work")
    repo.write("README.md", "# app\nmore work\n")
    repo.git("stash", "-q", "-m", "WIP: more")
    repo.write(".env", f"MOONSHOT_API_KEY={key}\nOTHER=1\n")
    repo.add(".env")
    repo.git("stash", "-q", "-m", "the key again")  # stash@{0}: the key too
    run = run_cli("history", cwd=repo.path)
    assert run.code == 1
    assert "stash@{0}, stash@{3}" in run.out
    (clear,) = [c for c in plan_commands(run.out) if "stash drop" in c]
    assert "stash clear" not in clear and "--expire=now" not in clear
    run_ok(clear, Path("/"))
    entries = repo.git("stash", "list")
    assert "WIP: my work" in entries and "WIP: more" in entries
    assert entries.count("\n") == 2
    assert not _stored_objects_hold(repo, key)
    assert run_cli("history", cwd=repo.path).code == 0


def test_stash_drop_checks_the_entry_before_dropping(repo: GitRepo) -> None:
    """A stash made after the scan moves the positions: the printed drop then fails and
    drops nothing, rather than another entry."""
    repo.commit_file("README.md", "# app\n", "start")
    repo.write(".env", f"MOONSHOT_API_KEY={moonshot_key()}\n")
    repo.add(".env")
    repo.git("stash", "-q")
    repo.write("README.md", "# app\nwork\n")
    repo.git("stash", "-q", "-m", "WIP: my work")
    run = run_cli("history", cwd=repo.path)
    (clear,) = [c for c in plan_commands(run.out) if "stash drop" in c]
    repo.write("README.md", "# app\nnewer work\n")
    repo.git("stash", "-q", "-m", "WIP: newer")
    from tests.test_remedy import sh

    assert sh(clear, repo.path).code != 0
    assert repo.git("stash", "list").count("\n") == 3
