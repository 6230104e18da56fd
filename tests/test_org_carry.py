"""What an organisation audit keeps from earlier runs: a key no ref of the server reaches any
more (a branch deleted, history force-pushed) stays listed until the user says the server
was purged (`--purged`), and a target that cannot be fetched keeps its last good keys. Real
repositories served by `git daemon` on 127.0.0.1, the real CLI."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from kimi_secret_scan.finding import redact
from tests.gitrepo import GitRepo, git, run_cli
from tests.keygen import moonshot_key
from tests.orgsetup import git_daemon

NO_CI = {"CI": ""}


def _audit(tmp_path: Path, *args: str) -> Any:
    return run_cli(
        "audit",
        "--targets",
        str(tmp_path / "repos.txt"),
        "--cache",
        str(tmp_path / "cache"),
        "--output-dir",
        str(tmp_path / "out"),
        *args,
        cwd=tmp_path,
        env=NO_CI,
    )


def _served_with_key_on_a_branch(tmp_path: Path) -> tuple[Path, str, str]:
    key = moonshot_key()
    work = GitRepo(tmp_path / "work")
    work.commit_file("README.md", "hello\n")
    work.git("checkout", "-q", "-b", "feat")
    work.commit_file("k.env", f"MOONSHOT_API_KEY={key}\n", "key")
    blob = work.git("rev-parse", "feat:k.env").strip()
    work.git("checkout", "-q", "main")
    served = tmp_path / "served" / "s.git"
    served.parent.mkdir()
    git(tmp_path, "clone", "-q", "--mirror", str(work.path), str(served))
    return served, key, blob


def test_a_key_on_a_branch_deleted_on_the_server_stays_listed_until_purged(
    tmp_path: Path,
) -> None:
    served, key, blob = _served_with_key_on_a_branch(tmp_path)
    with git_daemon(served.parent) as base:
        target = f"{base}/s.git"
        (tmp_path / "repos.txt").write_text(target + "\n")
        first = _audit(tmp_path)
        assert first.code == 1, first.all
        # Deleted on the server, not pruned: it still serves the blob to anyone who asks.
        git(served, "branch", "-q", "-D", "feat")
        second = _audit(tmp_path)
        assert second.code == 1, second.all  # was 0, "0 distinct key(s)"
        assert "1 distinct key(s)" in second.out
        assert "1 of them no longer reachable from any ref (listed until --purged)" in second.err
        assert "no longer reachable from any ref on the server" in second.out
        assert key not in second.all
        # The note names the server and what to run there, never the audit's own cache.
        assert str(tmp_path / "cache") not in second.all
        note = re.search(r"On the server, in that repository: (.*?) \(a hosting", second.out)
        assert note is not None, second.out
        purged = re.search(r"audit again with (--purged \S+?)\)", second.out)
        assert purged is not None and purged.group(1) == f"--purged {target}", second.out
        as_json = _audit(tmp_path, "--format", "json")
        assert as_json.code == 1, as_json.all
        data = json.loads(as_json.out)
        (entry,) = data["keys"]
        assert entry["key"] == redact(key)
        (repo,) = entry["repositories"]
        assert repo["unreachable"]["target"] == target and repo["refs"] == []
        assert any("--purged" in step for step in data["plan"]["purge"])
        # A rerun keeps it too (reused as unchanged, the key still listed).
        third = _audit(tmp_path)
        assert third.code == 1 and "unchanged since the last run" in third.err, third.all
        assert "1 distinct key(s)" in third.out
        # The server-side prune, pasted where it says (in the served repository).
        subprocess.run(["sh", "-c", note.group(1)], cwd=served, check=True, capture_output=True)
        gone = subprocess.run(["git", "cat-file", "-e", blob], cwd=served, capture_output=True)
        assert gone.returncode != 0  # the server no longer has the key's blob
        # Then the user says so, as printed: the key is dropped, the mirror cloned afresh.
        fourth = _audit(tmp_path, *purged.group(1).split(" ", 1))
        assert fourth.code == 0, fourth.all
        assert "0 distinct key(s)" in fourth.out and "skipped" not in fourth.out
        fifth = _audit(tmp_path)
        assert fifth.code == 0, fifth.all
        # --purged naming no listed target is an error, not a silent no-op.
        typo = _audit(tmp_path, "--purged", f"{base}/other.git")
        assert typo.code == 2 and "not one of the targets" in typo.err


def test_after_a_purge_and_a_prune_on_the_server_the_note_names_the_server(
    tmp_path: Path,
) -> None:
    key = moonshot_key()
    work = GitRepo(tmp_path / "work")
    work.commit_file("README.md", "hello\n")
    work.commit_file("k.env", f"MOONSHOT_API_KEY={key}\n", "key")
    work.commit_file("README.md", "more\n", "more")
    served = tmp_path / "served" / "s.git"
    served.parent.mkdir()
    git(tmp_path, "clone", "-q", "--bare", str(work.path), str(served))
    with git_daemon(served.parent) as base:
        (tmp_path / "repos.txt").write_text(f"{base}/s.git\n")
        assert _audit(tmp_path).code == 1
        # The purge: history rewritten without the file, force-pushed, pruned on the server.
        work.git("rm", "-q", "--cached", "k.env")
        work.git("commit", "-q", "-m", "drop")
        tree = work.git("rev-parse", "HEAD^{tree}").strip()
        root = work.git("commit-tree", "-m", "clean", tree).strip()
        work.git("push", "-q", "-f", str(served), f"{root}:refs/heads/main")
        git(served, "reflog", "expire", "--expire=now", "--all")
        git(served, "gc", "-q", "--prune=now")
        after = _audit(tmp_path)
        assert after.code == 1, after.all  # not a silent drop: the user says when it is done
        assert "no longer reachable from any ref on the server" in after.out
        assert str(tmp_path / "cache") not in after.all
        assert "Prune them: git -C" not in after.all
        done = _audit(tmp_path, "--purged", f"{base}/s.git")
        assert done.code == 0, done.all


def test_a_target_that_cannot_be_fetched_keeps_its_last_good_keys(tmp_path: Path) -> None:
    key = moonshot_key()
    work = GitRepo(tmp_path / "work")
    work.commit_file(".env", f"MOONSHOT_API_KEY={key}\nbase_url=https://api.moonshot.cn/v1\n")
    served = tmp_path / "served"
    served.mkdir()
    git(tmp_path, "clone", "-q", "--bare", str(work.path), str(served / "a.git"))
    with git_daemon(served) as base:
        (tmp_path / "repos.txt").write_text(f"{base}/a.git\n")
        first = _audit(tmp_path, "--format", "json")
        assert first.code == 1, first.all
        kind = json.loads(first.out)["keys"][0]["key_kind"]
        assert kind == "moonshot-platform-cn"
        shutil.move(served / "a.git", served / "gone.git")
        for _ in range(2):  # a second failed run keeps them too
            failed = _audit(tmp_path, "--format", "json")
            assert failed.code == 2, failed.all
            data = json.loads(failed.out)
            assert data["summary"]["failed"] == 1 and not data["summary"]["complete"]
            (entry,) = data["keys"]
            assert entry["key"] == redact(key) and entry["key_kind"] == kind
            assert entry["repositories"][0]["stale"]["since"]
        text = run_cli("merge", str(tmp_path / "out"), cwd=tmp_path)
        assert text.code == 2
        assert "this run could not fetch it" in text.out and "China" in text.out
        # The list follows the rename: the old target's failed report is said, with its rm.
        (tmp_path / "repos.txt").write_text(f"{base}/gone.git\n")
        renamed = _audit(tmp_path)
        assert renamed.code == 1, renamed.all
        rm = re.search(r"no longer name: .*; delete it: (rm -- .*)", renamed.err)
        assert rm is not None, renamed.err
        assert run_cli("merge", str(tmp_path / "out"), cwd=tmp_path).code == 2
        subprocess.run(["sh", "-c", rm.group(1)], cwd=tmp_path, check=True)
        assert run_cli("merge", str(tmp_path / "out"), cwd=tmp_path).code == 1
        # Back as it was: the mirror the failed fetches left is used as it is.
        (tmp_path / "repos.txt").write_text(f"{base}/a.git\n")
        shutil.move(served / "gone.git", served / "a.git")
        back = _audit(tmp_path)
        assert back.code == 1, back.all
        # The failed fetch changed nothing: not taken for a planted or changed mirror.
        assert "was not as this audit left it" not in back.err
        assert "this run could not fetch" not in back.out


def test_merge_refuses_a_crafted_last_good(tmp_path: Path) -> None:
    """A report is input: a `last_good` that nests another, or is no report, is refused."""
    inner: dict[str, Any] = {"target": {"name": "x", "key": "k"}, "groups": []}
    for bad in ({**inner, "last_good": inner}, {**inner, "error": "e"}, "text"):
        report = {
            "tool": "kimi-secret-scan",
            "mode": "history",
            "target": {"name": "x", "key": "k"},
            "error": "cannot fetch x",
            "last_good": bad,
        }
        path = tmp_path / "x.json"
        path.write_text(json.dumps(report))
        merged = run_cli("merge", str(path), cwd=tmp_path)
        assert merged.code == 2 and "is not a history or audit report" in merged.err, merged.all
