"""`kimi-secret-scan history` on real repositories that hide keys in every place history can.

One repository is built per module (it takes a second) and audited with the real CLI; each
test checks one hiding place and every field of its attribution.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from kimi_secret_scan.finding import redact, sha256_hex
from tests import keygen
from tests.gitrepo import GitRepo, run_cli

ALICE = "Alice Author <alice@example.com>"
BOB = "Bob Builder <bob@example.com>"


@dataclass
class Built:
    repo: GitRepo
    keys: dict[str, str] = field(default_factory=dict)
    commits: dict[str, str] = field(default_factory=dict)
    report: dict[str, Any] = field(default_factory=dict)

    def occurrences(self, name: str) -> list[dict[str, Any]]:
        sha = sha256_hex(self.keys[name])
        return [f for f in self.report["findings"] if f["secret_sha256"] == sha]

    def group(self, name: str) -> dict[str, Any]:
        sha = sha256_hex(self.keys[name])
        (found,) = [g for g in self.report["groups"] if g["secret_sha256"] == sha]
        return found


def _commit(repo: GitRepo, message: str, author: str, date: str) -> str:
    repo.git("commit", "-q", "--no-verify", "-m", message, f"--author={author}", f"--date={date}")
    return repo.head()


def _isolated_env(home: Path) -> dict[str, str]:
    return {
        "HOME": str(home),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": str(home / ".gitconfig"),
        "GIT_AUTHOR_NAME": "Ada Author",
        "GIT_AUTHOR_EMAIL": "ada@example.com",
        "GIT_COMMITTER_NAME": "Ada Author",
        "GIT_COMMITTER_EMAIL": "ada@example.com",
    }


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as mp:
        for name, value in _isolated_env(home).items():
            mp.setenv(name, value)
        for var in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
            mp.delenv(var, raising=False)
        b = Built(GitRepo(tmp_path_factory.mktemp("audit") / "repo"))
        _build(b)
        run = run_cli("history", "--format", "json", cwd=b.repo.path)
        assert run.code == 1, run.all
        b.report = json.loads(run.out)
        yield b


def _build(b: Built) -> None:
    r = b.repo
    k = b.keys
    for name in (
        "deleted",
        "branch",
        "tag",
        "merge",
        "renamed",
        "big",
        "stash",
        "old_stash",
        "message",
        "tag_message",
        "head",
        "note",
        "pull",
    ):
        k[name] = keygen.kimi_code_key() if name in ("branch", "message") else keygen.moonshot_key()

    # 1. added then deleted on main: history only.
    r.write("README.md", "# demo\n")
    r.write("app.py", f'import os\n\nMOONSHOT_API_KEY = "{k["deleted"]}"\n')
    r.add()
    b.commits["deleted"] = _commit(r, "add client", ALICE, "2024-01-02T10:00:00+01:00")
    r.git("rm", "-q", "app.py")
    _commit(r, "remove client", ALICE, "2024-01-03T10:00:00+01:00")

    # 2. a renamed file: the key is introduced at both paths.
    r.write("old/name.py", f'kimi_key = "{k["renamed"]}"\n')
    r.add()
    b.commits["renamed"] = _commit(r, "add name", BOB, "2024-01-04T10:00:00+00:00")
    (r.path / "new").mkdir()
    r.git("mv", "old/name.py", "new/name.py")
    b.commits["rename"] = _commit(r, "move name", BOB, "2024-01-05T10:00:00+00:00")

    # 3. a file of several MB, the key near its end.
    filler = "".join(f"line {i} of padding text for a large generated file\n" for i in range(80000))
    r.write("data/big.txt", filler + f"moonshot token: {k['big']}\n")
    r.add()
    b.commits["big"] = _commit(r, "add big file", ALICE, "2024-01-06T10:00:00+00:00")

    # 4. a commit message.
    r.write("notes.txt", "notes\n")
    r.add()
    b.commits["message"] = _commit(
        r,
        f"configure kimi\n\nuse KIMI_API_KEY={k['message']} for now",
        BOB,
        "2024-01-07T10:00:00+00:00",
    )

    # 5. an evil merge: the key is typed while resolving the merge.
    r.git("checkout", "-q", "-b", "topic")
    r.write("topic.txt", "topic work\n")
    r.add()
    _commit(r, "topic work", ALICE, "2024-01-08T10:00:00+00:00")
    r.git("checkout", "-q", "main")
    r.write("main.txt", "main work\n")
    r.add()
    _commit(r, "main work", ALICE, "2024-01-08T11:00:00+00:00")
    r.git("merge", "-q", "--no-ff", "--no-commit", "topic")
    r.write("merge.env", f"MOONSHOT_API_KEY={k['merge']}\n")
    r.add("merge.env")
    b.commits["merge"] = _commit(r, "merge topic", BOB, "2024-01-09T10:00:00+00:00")

    # 6. an unmerged branch.
    r.git("checkout", "-q", "-b", "feature")
    r.write("config.yaml", f"kimi:\n  api_key: {k['branch']}\n")
    r.add()
    b.commits["branch"] = _commit(r, "feature config", ALICE, "2024-01-10T10:00:00+00:00")
    r.git("checkout", "-q", "main")

    # 7. only under a tag: the branch that held it is deleted; plus a key in a tag message.
    r.git("checkout", "-q", "-b", "release-tmp")
    r.write("release.py", f'moonshot_api_key = "{k["tag"]}"\n')
    r.add()
    b.commits["tag"] = _commit(r, "release build", BOB, "2024-01-11T10:00:00+00:00")
    r.git("tag", "v1.0")
    r.git("tag", "-a", "v1.0-notes", "-m", f"release notes\n\nkimi key {k['tag_message']}")
    r.git("checkout", "-q", "main")
    r.git("branch", "-q", "-D", "release-tmp")

    # 8. still in the current tree, and a placeholder that must not count.
    r.write("settings.py", f'MOONSHOT_API_KEY = "{k["head"]}"\n')
    r.write("example.env", "KIMI_API_KEY=sk-kimi-" + "x" * 64 + "\n")
    r.add()
    b.commits["head"] = _commit(r, "settings", ALICE, "2024-01-12T10:00:00+00:00")

    # 9. a git note, and a pull-request ref the hosting service fetched.
    r.git("notes", "add", "-m", f"debug: MOONSHOT_API_KEY={k['note']}", b.commits["head"])
    r.git("checkout", "-q", "-b", "pr-7")
    r.write("pr.py", f'moonshot_key = "{k["pull"]}"\n')
    r.add()
    b.commits["pull"] = _commit(r, "contributor change", BOB, "2024-01-13T10:00:00+00:00")
    r.git("checkout", "-q", "main")
    r.git("update-ref", "refs/pull/7/head", "pr-7")
    r.git("branch", "-q", "-D", "pr-7")

    # 10. the stash: an older entry (only in the stash reflog) and the latest one.
    r.write("README.md", f"# demo\nMOONSHOT_API_KEY={k['old_stash']}\n")
    r.git("stash", "-q")
    r.write("README.md", f"# demo\nMOONSHOT_API_KEY={k['stash']}\n")
    r.git("stash", "-q")


def test_deleted_key_is_attributed_to_the_commit_that_added_it(built: Built) -> None:
    (occ,) = built.occurrences("deleted")
    assert occ["commit"] == built.commits["deleted"]
    assert occ["author"] == ALICE
    assert occ["date"] == "2024-01-02T10:00:00+01:00"
    assert occ["path"] == "app.py"
    assert (occ["line"], occ["column"]) == (3, 21)
    assert occ["rule"] == "moonshot-api-key"
    assert occ["secret"] == redact(built.keys["deleted"])
    group = built.group("deleted")
    assert group["in_head"] is False
    assert "refs/heads/main" in group["refs"]
    assert group["occurrences"] == 1
    assert group["first_appearance"]["commit"] == built.commits["deleted"]


def test_renamed_file_counts_at_both_paths_first_appearance_is_the_original(built: Built) -> None:
    occs = built.occurrences("renamed")
    assert [(o["path"], o["commit"]) for o in occs] == [
        ("old/name.py", built.commits["renamed"]),
        ("new/name.py", built.commits["rename"]),
    ]
    group = built.group("renamed")
    assert group["first_appearance"]["path"] == "old/name.py"
    assert group["first_appearance"]["author"] == BOB
    assert group["in_head"] is True
    assert group["head_paths"] == ["new/name.py"]


def test_key_at_the_end_of_a_file_of_several_megabytes(built: Built) -> None:
    (occ,) = built.occurrences("big")
    assert occ["path"] == "data/big.txt"
    assert occ["line"] == 80001
    assert occ["column"] == 17
    assert occ["commit"] == built.commits["big"]


def test_commit_message(built: Built) -> None:
    (occ,) = built.occurrences("message")
    assert occ["path"] == "<commit message>"
    assert occ["commit"] == built.commits["message"]
    assert occ["author"] == BOB
    assert occ["date"] == "2024-01-07T10:00:00+00:00"
    assert (occ["line"], occ["column"]) == (3, 18)
    assert occ["rule"] == "kimi-code-api-key"


def test_evil_merge_is_attributed_to_the_merge_commit(built: Built) -> None:
    (occ,) = built.occurrences("merge")
    assert occ["commit"] == built.commits["merge"]
    assert occ["path"] == "merge.env"
    assert occ["author"] == BOB
    assert (occ["line"], occ["column"]) == (1, 18)


def test_unmerged_branch(built: Built) -> None:
    (occ,) = built.occurrences("branch")
    assert occ["commit"] == built.commits["branch"]
    assert occ["key_kind"] == "kimi-code"
    group = built.group("branch")
    assert group["refs"] == ["refs/heads/feature"]
    assert group["in_head"] is False


def test_only_under_a_tag(built: Built) -> None:
    (occ,) = built.occurrences("tag")
    assert occ["commit"] == built.commits["tag"]
    assert occ["path"] == "release.py"
    assert built.group("tag")["refs"] == ["refs/tags/v1.0", "refs/tags/v1.0-notes"]


def test_annotated_tag_message(built: Built) -> None:
    (occ,) = built.occurrences("tag_message")
    assert occ["path"] == "<tag message v1.0-notes>"
    assert occ["author"] == "Ada Author <ada@example.com>"
    assert built.group("tag_message")["refs"] == ["refs/tags/v1.0-notes"]


def test_stash_latest_and_older_entry(built: Built) -> None:
    (latest,) = built.occurrences("stash")
    assert latest["path"] == "README.md"
    assert (latest["line"], latest["column"]) == (2, 18)
    assert built.group("stash")["refs"] == ["refs/stash"]
    (older,) = built.occurrences("old_stash")
    assert older["path"] == "README.md"
    group = built.group("old_stash")
    assert group["refs"] == []
    assert group["reflog_only"] is True


def test_git_note(built: Built) -> None:
    (occ,) = built.occurrences("note")
    # Located by the annotated object and the notes ref (git stores it at the object's id).
    assert occ["path"] == f"note on {built.commits['head']} (refs/notes/commits)"
    assert built.group("note")["refs"] == ["refs/notes/commits"]


def test_pull_request_ref(built: Built) -> None:
    (occ,) = built.occurrences("pull")
    assert occ["commit"] == built.commits["pull"]
    assert occ["author"] == BOB
    assert built.group("pull")["refs"] == ["refs/pull/7/head"]


def test_key_in_head(built: Built) -> None:
    group = built.group("head")
    assert group["in_head"] is True
    assert group["head_paths"] == ["settings.py"]
    assert group["first_appearance"]["commit"] == built.commits["head"]


def test_placeholder_not_reported_and_nothing_else_either(built: Built) -> None:
    found = {f["secret_sha256"] for f in built.report["findings"]}
    assert found == {sha256_hex(key) for key in built.keys.values()}
    assert len(built.report["groups"]) == len(built.keys)
    assert built.report["stats"]["distinct_keys"] == len(built.keys)


def test_groups_are_ordered_by_first_appearance(built: Built) -> None:
    dates = [g["first_appearance"]["date"] for g in built.report["groups"]]
    assert dates[0] == "2024-01-02T10:00:00+01:00"
    assert all(d for d in dates)


def test_json_never_holds_a_whole_key(built: Built) -> None:
    text = json.dumps(built.report)
    for key in built.keys.values():
        assert key not in text


def test_text_output_leads_with_the_plan(built: Built) -> None:
    run = run_cli("history", cwd=built.repo.path)
    assert run.code == 1
    out = run.out
    if os.environ.get("SHOW_HISTORY_OUTPUT"):
        print(out)
    assert out.startswith("History audit: 13 distinct keys leaked")
    revoke = out.index("Step 1. Revoke and rotate every key")
    purge = out.index("Once every key is revoked, purge history")
    assert revoke < out.index("Step 2. Remove the keys from the current files") < purge
    assert purge < out.index("Occurrences")
    assert "Rewriting history without revoking is useless" in out
    assert "git filter-repo --sensitive-data-removal --replace-text" in out
    assert "--replace-message" in out
    # This repository has no remote: the mirror is of the repository itself.
    assert f"$ git clone --mirror {built.repo.path} " in out
    assert "Replace this repository with a clone of the mirror" in out
    assert "https://www.kimi.com/code/console" in out
    assert "only in reflogs" in out
    assert f"git -C {built.repo.path} gc --prune=now" in out
    assert "stash clear" not in out
    for key in built.keys.values():
        assert key not in out
    assert out.rstrip().splitlines()[-1].startswith("kimi-secret-scan: 14 findings (13 distinct")


def test_show_secrets_prints_keys(built: Built) -> None:
    run = run_cli("history", "--format", "json", "--show-secrets", cwd=built.repo.path)
    data = json.loads(run.out)
    assert {g["key"] for g in data["groups"]} == set(built.keys.values())


def test_revs_narrow_the_scan(built: Built) -> None:
    run = run_cli("history", "--format", "json", "feature", cwd=built.repo.path)
    found = {f["secret_sha256"] for f in json.loads(run.out)["findings"]}
    expected = {"deleted", "renamed", "big", "message", "merge", "branch"}
    assert found == {sha256_hex(built.keys[n]) for n in expected}


def test_since_leaves_out_what_rev_already_has(built: Built) -> None:
    run = run_cli("history", "--format", "json", "--since", "v1.0", "main", cwd=built.repo.path)
    found = {f["secret_sha256"] for f in json.loads(run.out)["findings"]}
    assert found == {sha256_hex(built.keys["head"])}


def test_write_replacements(built: Built, tmp_path: Path) -> None:
    target = tmp_path / "replacements.txt"
    run = run_cli("history", "--write-replacements", str(target), cwd=built.repo.path)
    # It did what it was asked: exit 0 (a `set -e` script goes on), one line, no report.
    assert run.code == 0, run.all
    assert run.err == ""
    (line,) = run.out.splitlines()
    assert f"to {target} (mode 0600)" in line
    assert f"--replace-text {target} --replace-message {target}" in line
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    text = target.read_text()
    assert text.endswith("\n")  # a proper text file
    assert sorted(text.splitlines()) == sorted(
        f"literal:{key}==>***REMOVED-KIMI-KEY***" for key in built.keys.values()
    )


def test_write_replacements_refused_inside_the_repository(built: Built) -> None:
    run = run_cli("history", "--write-replacements", "keys.txt", cwd=built.repo.path)
    assert run.code == 2
    assert "inside the scanned repository" in run.err
    assert not (built.repo.path / "keys.txt").exists()


def test_no_reflog_leaves_out_older_stash_entries(built: Built) -> None:
    run = run_cli("history", "--format", "json", "--no-reflog", cwd=built.repo.path)
    found = {f["secret_sha256"] for f in json.loads(run.out)["findings"]}
    assert sha256_hex(built.keys["old_stash"]) not in found
    assert sha256_hex(built.keys["stash"]) in found
