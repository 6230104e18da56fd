"""A commit's header is published with it, and the gates (range, pre-push, pre-receive)
scan every line of it; `history` read only its message and its last author and committer
line (the identities), so a key in a custom header line, in a `mergetag` (the merged tag's
tagger or message), or in an earlier author line of a hand-made commit passed the audit
(hostile review, issue 14). Keys are built at run time."""

from __future__ import annotations

import hashlib
import json

import pytest

from kimi_secret_scan.sources.history import _header_rest
from tests import keygen
from tests.gitrepo import GitRepo, run_cli


def _hostile_commit(repo: GitRepo, keys: list[str], message: bytes = b"hello\n") -> str:
    repo.commit_file("a.txt", "a\n", "base")
    tree = repo.git("rev-parse", "HEAD^{tree}").strip()
    parent = repo.head()
    first, custom, tagger = keys
    body = (
        f"tree {tree}\nparent {parent}\n"
        f"author x <{first}@a> 1700000000 +0000\n"
        "author y <y@y> 1700000000 +0000\n"
        "committer c <c@c> 1700000000 +0000\n"
        f"x-custom {custom}\n"
        f"mergetag object {parent}\n type commit\n tag v1\n"
        f" tagger t <{tagger}@t> 1700000000 +0000\n \n merged\n"
        "\n"
    ).encode() + message
    sha = repo.git(
        "hash-object", "-t", "commit", "-w", "--literally", "--stdin", input=body
    ).strip()
    repo.git("update-ref", "refs/heads/main", sha)
    return sha


def _sha256(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_history_finds_keys_in_every_header_line(repo: GitRepo, jobs: str) -> None:
    keys = [keygen.moonshot_key(), keygen.kimi_code_key(), keygen.moonshot_key()]
    sha = _hostile_commit(repo, keys)
    # The gates find all three.
    gate = run_cli("range", f"{sha}~1..{sha}", "--format", "json", cwd=repo.path)
    assert gate.code == 1, gate.all
    assert {f["secret_sha256"] for f in json.loads(gate.out)["findings"]} >= {
        _sha256(k) for k in keys
    }
    run = run_cli("history", "--format", "json", "--jobs", jobs, cwd=repo.path)
    assert run.code == 1, run.all
    groups = {g["secret_sha256"]: g for g in json.loads(run.out)["groups"]}
    for key in keys:
        group = groups[_sha256(key)]
        assert group["first_appearance"]["commit"] == sha
        assert group["first_appearance"]["path"] == "<commit header>"
    assert all(key not in run.out for key in keys)  # redacted, as everywhere


def test_history_header_of_a_large_commit(repo: GitRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    # A commit larger than a scanning window is read in pieces: its header is read too.
    monkeypatch.setenv("KIMI_SECRET_SCAN_WINDOW", "4096")
    keys = [keygen.moonshot_key(), keygen.kimi_code_key(), keygen.moonshot_key()]
    _hostile_commit(repo, keys, message=b"long\n" + b"x" * 70_000 + b"\n")
    run = run_cli("history", "--format", "json", "--jobs", "1", cwd=repo.path)
    assert run.code == 1, run.all
    found = {g["secret_sha256"] for g in json.loads(run.out)["groups"]}
    assert found == {_sha256(k) for k in keys}


def test_header_rest_leaves_what_is_read_elsewhere() -> None:
    t, p, q = b"1" * 40, b"2" * 40, b"3" * 64  # ids (SHA-1 and SHA-256)
    head = (
        b"tree %s\nparent %s\nparent %s\nauthor A <a> 1 +0000\ncommitter C <c> 1 +0000\n"
        b"encoding latin1" % (t, p, q)
    )
    assert _header_rest("commit", head) == b"encoding latin1"
    two = b"tree %s\nauthor A <a> 1 +0000\nauthor B <b> 1 +0000\ncommitter C <c> 1 +0000" % t
    assert _header_rest("commit", two) == b"author A <a> 1 +0000"
    tag = b"object %s\ntype commit\ntag v1\ntagger T <t> 1 +0000\nx-extra y" % t
    assert _header_rest("tag", tag) == b"x-extra y"
    # Every byte that is not an id, the listed tag name or an identity in git's shape.
    odd = b"tree %s x\nparent 2\nauthor A <a> 1 +0000 x\ncommitter C 1 +0000" % t
    assert _header_rest("commit", odd) == odd
    tag = b"object %s\ntype commit\ntag v1\ntagger U 1 +0000\ntagger T <t> 1 +0000" % t
    assert _header_rest("tag", tag) == b"tagger U 1 +0000"


def test_signed_and_plain_commits_report_as_before(repo: GitRepo) -> None:
    # A plain history: nothing more is reported than its files and messages.
    key = keygen.moonshot_key()
    repo.commit_file("app.env", f"MOONSHOT_API_KEY={key}\n")
    run = run_cli("history", "--format", "json", cwd=repo.path)
    assert run.code == 1, run.all
    paths = [g["first_appearance"]["path"] for g in json.loads(run.out)["groups"]]
    assert paths == ["app.env"]


@pytest.mark.parametrize("jobs", [None, "1", "2"])
def test_history_finds_a_key_after_a_line_break_in_a_path_name(
    repo: GitRepo, jobs: str | None
) -> None:
    # `git rev-list --objects` prints a name only up to its first line break: the rest of
    # the name (published with the tree) is read from the tree itself. The gates found it.
    key, deeper = keygen.moonshot_key(), keygen.kimi_code_key()
    repo.commit_file("a.txt", "a\n", "base")
    repo.write(f"top\n{key}", "x\n")
    repo.write(f"dir/sub\n{deeper}.txt", "y\n")
    for n in range(40):  # trees whose raw ids hold a line-break byte, names that do not
        repo.write(f"many/f{n}.txt", f"{n}\n")
    repo.add()
    repo.commit("odd names")
    args = ["--jobs", jobs] if jobs else []
    run = run_cli("history", "--format", "json", *args, cwd=repo.path)
    assert run.code == 1, run.all
    groups = {g["secret_sha256"]: g for g in json.loads(run.out)["groups"]}
    assert set(groups) == {_sha256(key), _sha256(deeper)}
    assert {g["first_appearance"]["path"] for g in groups.values()} == {"path names"}


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_history_finds_the_tagger_of_a_tag_no_ref_names(
    repo: GitRepo, jobs: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The taggers are read with the tag refs; a tag of a tag is named by none, yet it is
    # published with the outer tag. A tag ref's own tagger is reported once, as before.
    inner, named = keygen.moonshot_key(), keygen.kimi_code_key()
    repo.commit_file("a.txt", "a\n", "base")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", f"{inner}@t")
    repo.git("tag", "-a", "-m", "inner", "inner", "HEAD")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", f"{named}@t")
    repo.git("tag", "-a", "-m", "plain", "plain", "HEAD")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "ada@example.com")
    repo.git("-c", "advice.nestedTag=false", "tag", "-a", "-m", "outer", "outer", "inner")
    repo.git("tag", "-d", "inner")
    run = run_cli("history", "--format", "json", "--jobs", jobs, cwd=repo.path)
    assert run.code == 1, run.all
    groups = {g["secret_sha256"]: g for g in json.loads(run.out)["groups"]}
    assert set(groups) == {_sha256(inner), _sha256(named)}
    assert groups[_sha256(inner)]["first_appearance"]["path"] == "<tag header inner>"
    assert groups[_sha256(named)]["first_appearance"]["path"] == "tagger of plain"
    assert groups[_sha256(named)]["occurrences"] == 1


def test_history_reads_an_identity_its_encoding_garbles_raw(repo: GitRepo) -> None:
    # Identities are read re-encoded from the commit's `encoding`, as git log shows them:
    # "UTF-16" turns an ASCII author line into other characters, and the key with it.
    key = keygen.moonshot_key()
    repo.commit_file("a.txt", "a\n", "base")
    tree = repo.git("rev-parse", "HEAD^{tree}").strip()
    body = (
        f"tree {tree}\nparent {repo.head()}\nauthor x <{key}@a> 1700000000 +0000\n"
        "committer c <c@c> 1700000000 +0000\nencoding UTF-16\n\nhello\n"
    ).encode()
    sha = repo.git("hash-object", "-t", "commit", "-w", "--stdin", input=body).strip()
    repo.git("update-ref", "refs/heads/main", sha)
    run = run_cli("history", "--format", "json", cwd=repo.path)
    assert run.code == 1, run.all
    groups = json.loads(run.out)["groups"]
    assert [g["secret_sha256"] for g in groups] == [_sha256(key)]
    assert groups[0]["first_appearance"]["commit"] == sha


def test_a_latin1_identity_is_reported_once(repo: GitRepo) -> None:
    key = keygen.moonshot_key()
    repo.commit_file("a.txt", "a\n", "base")
    tree = repo.git("rev-parse", "HEAD^{tree}").strip()
    body = (
        f"tree {tree}\nparent {repo.head()}\nauthor L\xe9a <{key}@a> 1700000000 +0000\n"
        "committer c <c@c> 1700000000 +0000\nencoding ISO-8859-1\n\nhello\n"
    ).encode("latin-1")
    sha = repo.git("hash-object", "-t", "commit", "-w", "--stdin", input=body).strip()
    repo.git("update-ref", "refs/heads/main", sha)
    run = run_cli("history", "--format", "json", cwd=repo.path)
    assert run.code == 1, run.all
    (group,) = json.loads(run.out)["groups"]
    assert group["occurrences"] == 1
    assert group["first_appearance"]["path"] == f"author of {sha[:12]}"


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_history_finds_the_people_of_a_commit_larger_than_a_window(
    repo: GitRepo, jobs: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Identities are read from the commit headers the readers parse (issue 14); a commit
    # over a window (a message of 8 MiB by default) went through another path that did not
    # read them: a key in its author or committer passed the audit, exit 0 (main found it).
    monkeypatch.setenv("KIMI_SECRET_SCAN_WINDOW", "4096")
    author, committer = keygen.moonshot_key(), keygen.kimi_code_key()
    repo.commit_file("a.txt", "a\n", "base")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", f"{author}@a")
    monkeypatch.setenv("GIT_COMMITTER_NAME", committer)
    message = "subject\n\n" + ("m" * 70 + "\n") * 200
    repo.git("commit", "-q", "--allow-empty", "-m", message)
    sha = repo.head()
    run = run_cli("history", "--format", "json", "--jobs", jobs, cwd=repo.path)
    assert run.code == 1, run.all
    groups = {g["secret_sha256"]: g for g in json.loads(run.out)["groups"]}
    assert set(groups) == {_sha256(author), _sha256(committer)}
    assert groups[_sha256(author)]["first_appearance"]["path"] == f"author of {sha[:12]}"
    assert groups[_sha256(committer)]["first_appearance"]["path"] == f"committer of {sha[:12]}"


def test_history_scans_a_header_larger_than_a_window(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KIMI_SECRET_SCAN_WINDOW", "4096")
    custom, message_key = keygen.moonshot_key(), keygen.kimi_code_key()
    repo.commit_file("a.txt", "a\n", "base")
    tree = repo.git("rev-parse", "HEAD^{tree}").strip()
    body = (
        f"tree {tree}\nparent {repo.head()}\nauthor a <a@a> 1700000000 +0000\n"
        "committer c <c@c> 1700000000 +0000\n"
        f"x-pad {'p' * (1 << 21)}\nx-key {custom}\n\nsubject\n\n{message_key}\n"
    ).encode()
    sha = repo.git("hash-object", "-t", "commit", "-w", "--stdin", input=body).strip()
    repo.git("update-ref", "refs/heads/main", sha)
    run = run_cli("history", "--format", "json", cwd=repo.path)
    assert run.code == 1, run.all
    found = {g["secret_sha256"] for g in json.loads(run.out)["groups"]}
    assert found == {_sha256(custom), _sha256(message_key)}
