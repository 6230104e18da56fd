"""The names and identities a history audit reports (metadata.history_names) are taken from
what the history read already parsed, not from a second `git rev-list --objects` and a
`git log` of every commit. Here they are compared with what those two git commands say, on
commits built by hand to be odd: blanks around names, an identity with no date, another
encoding, two author lines, no author, paths with blanks and a trailing CR."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from kimi_secret_scan.content import Content
from kimi_secret_scan.finding import Commit
from kimi_secret_scan.sources import history, metadata
from tests.gitrepo import GitRepo, run_cli
from tests.keygen import kimi_code_key


def _commit(repo: GitRepo, body: bytes) -> str:
    return repo.git(
        "hash-object", "-t", "commit", "-w", "--literally", "--stdin", input=body
    ).strip()


def _odd_repo(path: Path) -> GitRepo:
    repo = GitRepo(path)
    repo.commit_file("a.txt", "a\n", "base")
    repo.write(" lead/x.txt", "x\n")  # a top-level name with a leading blank
    repo.write("cr\r", "cr\n")  # and one with a trailing CR
    repo.write("dir/ sp ace\t.txt", "s\n")
    repo.add()
    repo.commit("odd paths")
    tree = repo.git("rev-parse", "HEAD^{tree}").strip()
    parent = repo.head()
    bodies = [
        b"author  Spacey  <sp@x>  1300000000   +0530\ncommitter NoDate <nd@x>\n\nm1\n",
        b"author Latin \xe9 <l@x> 1300000001 -0000\ncommitter Latin \xe9 <l@x> 1300000001"
        b" +0000\nencoding ISO-8859-1\n\nm2\n",
        b"author First <f@x> 1 +0100\nauthor Second <s@x> 2 +0200\ncommitter <only@x> 3 -0100"
        b"\n\nm3\n",
        b"author Broken no email 5 +0000\ncommitter Two <a> <b> 7 +0000\n\nm4\n",
        b"author Big <b@x> 99999999999999999999 +0100\ncommitter Zone <z@x> 10 +99999999999\n\n",
        b"author Spacey <sp@x> 12 +0000\ncommitter Spacey <sp@x> 12 +0000\n\nagain\n",
    ]
    for body in bodies:
        parent = _commit(repo, b"tree %s\nparent %s\n%s" % (tree.encode(), parent.encode(), body))
    repo.git("update-ref", "refs/heads/odd", parent)
    repo.git("branch", "side", "HEAD~1")
    repo.git("tag", "-a", "v1", "-m", "tagged")
    return repo


def _oracle(cwd: Path, rev_args: list[str]) -> list[tuple[str, bytes, object]]:
    """What history_names reported when it asked git itself (before this change)."""
    out: list[Content] = []
    repo = GitRepo(cwd)  # `git init` again: changes nothing in a repository
    refs = repo.git("for-each-ref", "--format=%(refname)").encode()
    out.append(Content("ref names", refs, metadata=True))
    listing = repo.git("rev-list", "--objects", "--missing=allow-any", *rev_args, "--")
    paths = {line.partition(" ")[2] for line in listing.split("\n") if " " in line} - {""}
    data = b"\n".join(sorted(p.encode("utf-8", "surrogateescape") for p in paths))
    out.append(Content("path names", data + b"\n", metadata=True))
    log = repo.git(
        "log", "--reverse", "--format=%H%x00%an <%ae>%x00%cn <%ce>%x00%aI", *rev_args, "--"
    ).encode("utf-8", "surrogateescape")
    seen: set[bytes] = set()
    for line in log.split(b"\n"):
        fields = line.split(b"\0")
        if len(fields) != 4:
            continue
        sha = fields[0].decode()
        for role, ident in (("author", fields[1]), ("committer", fields[2])):
            if ident in seen or ident == b" <>":
                continue
            seen.add(ident)
            name, _, email = ident.decode("utf-8", "replace").rpartition(" <")
            # git prints a placeholder it cannot fill (no author date) as "%aI": none.
            date = fields[3].decode().replace("%aI", "")
            commit = Commit(sha, name, email.removesuffix(">"), date)
            out.append(Content(f"{role} of {sha[:12]}", ident, commit=commit, metadata=True))
    taggers = repo.git(
        "for-each-ref", "--format=%(refname:short)%00%(taggername) %(taggeremail)", "refs/tags"
    ).encode()
    for line in taggers.split(b"\n"):
        tag, _, ident = line.partition(b"\0")
        if ident.strip() and ident != b" " and ident not in seen:
            out.append(Content(f"tagger of {tag.decode()}", ident, metadata=True))
    return [(c.path, c.data, c.commit) for c in out]


@pytest.mark.parametrize("jobs", [1, 2, 3])
def test_names_and_identities_are_what_git_lists(tmp_path: Path, jobs: int) -> None:
    repo = _odd_repo(tmp_path / "r")
    selection = history.Selection()
    source = history.HistorySource(repo.path, selection, jobs=jobs)
    for _ in source.items():
        pass
    got = [
        (c.path, c.data, c.commit)
        for c in metadata.history_names(repo.path, selection.rev_args(), source.names)
    ]
    assert got == _oracle(repo.path, selection.rev_args())
    paths = next(data for path, data, _ in got if path == "path names")
    assert b" lead\n" in paths and b"cr\r\n" in paths and b"dir/ sp ace\t.txt\n" in paths
    listing = repo.git("rev-list", "--objects", "--all", "--reflog", "--")
    assert source.names.listed == listing.count("\n")


@pytest.mark.parametrize("jobs", ["1", "3"])
def test_a_key_in_a_submodule_path_is_found(tmp_path: Path, jobs: str) -> None:
    """rev-list never lists a gitlink: its path name (one with a line break too) is read
    from its tree, as the trees are passed over, one way or several."""
    repo = GitRepo(tmp_path / "repo")
    repo.commit_file("a.txt", "a\n", "base")
    sub_head = GitRepo(tmp_path / "sub").commit_file("x", "x\n")
    keys = [kimi_code_key(), kimi_code_key()]
    for path in (f"deep/m/{keys[0]}", f"deep/q\n{keys[1]}/z"):
        repo.git("update-index", "--add", "--cacheinfo", f"160000,{sub_head},{path}")
    repo.commit("gitlinks")
    run = run_cli("history", "--jobs", jobs, "--format", "json", cwd=repo.path)
    assert run.code == 1, run.all
    found = json.loads(run.out)["findings"]
    assert sorted(f["secret_sha256"] for f in found) == sorted(
        hashlib.sha256(key.encode()).hexdigest() for key in keys
    ), run.all


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_key_in_the_name_of_an_object_listed_elsewhere_is_found(
    tmp_path: Path, jobs: str
) -> None:
    """`git rev-list --objects` names each object once: an empty file (the same blob as
    every other empty file), a copy of a file, or a directory whose tree equals another's,
    named after a key, is never listed under that name. Its tree names it (tree_names.py)."""
    repo = GitRepo(tmp_path / "repo")
    repo.write("pkg/__init__.py", "")
    repo.write("base.txt", "base\n")
    repo.add()
    repo.commit("base")
    keys = [kimi_code_key(), kimi_code_key(), kimi_code_key()]
    repo.write(f"{keys[0]}.txt", "")  # the empty blob, listed as pkg/__init__.py
    repo.write(f"{keys[1]}/__init__.py", "")  # a tree equal to pkg/'s
    repo.write(f"docs/{keys[2]}", "base\n")  # a copy of base.txt
    repo.add()
    repo.commit("add")
    run = run_cli("history", "--jobs", jobs, "--format", "json", cwd=repo.path)
    assert run.code == 1, run.all
    report = json.loads(run.out)
    found = report["findings"]
    assert {f["secret_sha256"] for f in found} == {
        hashlib.sha256(key.encode()).hexdigest() for key in keys
    }, run.all
    assert {f["path"] for f in found} == {"path names"}
    assert report["stats"]["complete"] is True
