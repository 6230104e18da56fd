"""history reads a commit or tag message larger than a scanning window in pieces as the
object streams by, and again in chunks only when it held a key: never whole (a 54 MB
commit message cost 321 MiB). The window is made small (KIMI_SECRET_SCAN_WINDOW) so that
a few hundred KB take that path."""

from __future__ import annotations

import base64
import json

import pytest

from tests.gitrepo import GitRepo, run_cli
from tests.keygen import kimi_code_key, moonshot_key

SMALL = {"KIMI_SECRET_SCAN_WINDOW": str(128 << 10)}


def _filler(lines: int) -> str:
    return "".join(f"row {i}: an ordinary line of a very long message\n" for i in range(lines))


@pytest.mark.parametrize("jobs", ["1", "2"])  # read in one stream, or by worker processes
def test_history_reads_large_commit_and_tag_messages_in_windows(repo: GitRepo, jobs: str) -> None:
    repo.commit_file("README.md", "# demo\n")
    commit_key, tag_key = kimi_code_key(), kimi_code_key()
    (repo.path / ".git" / "MSG").write_text(
        "Subject\n\n" + _filler(8_000) + f"KIMI_API_KEY={commit_key}\n" + _filler(10)
    )
    repo.write("a.txt", "a\n")
    repo.add()
    repo.git("commit", "-q", "--no-verify", "-F", ".git/MSG")
    sha = repo.head()
    (repo.path / ".git" / "TAG").write_text("Release\n\n" + _filler(9_000) + f"K={tag_key}\n")
    repo.git("tag", "-a", "v1", "-F", ".git/TAG")
    # A large message without a key is scanned too, and reports nothing.
    (repo.path / ".git" / "MSG").write_text("Clean\n\n" + _filler(8_000))
    repo.git("commit", "-q", "--no-verify", "--allow-empty", "-F", ".git/MSG")
    run = run_cli(
        "history", "--jobs", jobs, "--format", "json", "--show-secrets", cwd=repo.path, env=SMALL
    )
    assert run.code == 1, run.all
    found = {
        (f["path"], f["line"], f["secret"], f["commit"]) for f in json.loads(run.out)["findings"]
    }
    tag_id = repo.git("rev-parse", "v1").strip()
    assert found == {
        ("<commit message>", 8_003, commit_key, sha),
        ("<tag message v1>", 9_003, tag_key, tag_id),
    }


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_large_blob_is_judged_by_its_configuration_name_too(repo: GitRepo, jobs: str) -> None:
    """The same blob larger than a window at notes.md (listed first) and values.yaml: read
    again in chunks under the configuration name, where base64 is searched. (A Moonshot-
    shaped key: a Kimi key's base64 holds the base64 of `sk-kimi-`, searched at any name.)"""
    key = moonshot_key()
    token = base64.b64encode(key.encode()).decode()
    text = "data:\n" + "".join(f"  row{i}: plain\n" for i in range(12_000))
    text += f"  token: {token}\n"
    for name in ("notes.md", "values.yaml"):
        repo.write(name, text)
    repo.add()
    sha = repo.commit("add")
    run = run_cli("history", "--jobs", jobs, "--format", "json", cwd=repo.path, env=SMALL)
    assert run.code == 1, run.all
    found = {(f["path"], f["commit"]) for f in json.loads(run.out)["findings"]}
    assert found == {("values.yaml", sha)}


_PEAK = """\
import resource, subprocess, sys
proc = subprocess.run([sys.executable, "-m", "kimi_secret_scan", *sys.argv[1:]],
                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(proc.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024)
"""


def test_a_blob_larger_than_a_window_is_not_read_whole_again_for_the_plan(repo: GitRepo) -> None:
    # The purge plan asks which versions a literal replacement leaves a key in; a blob over
    # a window was read whole for that, two or three copies at once (a 500 MiB blob: 1.6 GB
    # in bench/memory.py). It is now taken as left in (its id stripped), unread.
    key = kimi_code_key()
    line = "row: an ordinary line of a large generated file, nothing in it at all\n"
    half = line * ((32 << 20) // len(line))
    repo.commit_file("big.txt", half + f"KIMI_API_KEY={key}\n" + half)
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", _PEAK, "history", "--format", "json"],
        cwd=repo.path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert out[0] == "1"  # the key found
    assert int(out[1]) < 150, f"peak RSS {out[1]} MiB"  # the Python process, and git's
    run = run_cli("history", cwd=repo.path)
    assert "strip-blobs-with-ids" in run.out or "big.txt" in run.out, run.out
