"""A targets file saved on Windows (a UTF-8 byte order mark, CRLF line ends): every target in
it is audited (hostile review 10a, 7: the first was "the ? transport is not allowed")."""

from __future__ import annotations

from pathlib import Path

from tests.gitrepo import GitRepo, git, run_cli
from tests.keygen import kimi_code_key
from tests.orgsetup import git_daemon

NO_CI = {"CI": ""}


def test_a_byte_order_mark_and_crlf_in_the_targets_file(tmp_path: Path) -> None:
    served = tmp_path / "srv"
    for name in ("b", "clean"):
        work = GitRepo(tmp_path / name)
        if name == "b":
            work.commit_file("k.env", f"KIMI_API_KEY={kimi_code_key()}\n", "key")
        else:
            work.commit_file("x", "x\n")
        git(tmp_path, "clone", "-q", "--bare", str(work.path), str(served / f"{name}.git"))
    env = {**NO_CI, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    with git_daemon(served) as base:
        listing = tmp_path / "repos.txt"
        listing.write_bytes(
            b"\xef\xbb\xbf" + f"{base}/b.git\r\n{base}/clean.git\r\n# comment\r\n\r\n".encode()
        )
        run = run_cli("audit", "--no-progress", "--targets", str(listing), cwd=tmp_path, env=env)
    assert run.code == 1, run.all
    assert "could not be audited" not in run.all and "transport" not in run.all
    assert "1 distinct key(s) in 1 of 2 audited repositories" in run.out, run.out
