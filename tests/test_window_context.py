"""A content larger than a scanning window is a Kimi context throughout when it names
Moonshot or a Kimi endpoint anywhere, as it is when read whole: base64 in program source is
searched then (docs/detection.md), in the windows after the one that names it and, read
again, in the windows before it. Every command that reads content in windows: staged,
files, range, history (one process and workers). The window is made small
(KIMI_SECRET_SCAN_WINDOW) so that a few hundred KB take that path."""

from __future__ import annotations

import base64
import json

import pytest

from tests.gitrepo import GitRepo, run_cli
from tests.keygen import kimi_code_key, moonshot_key

SMALL = {"KIMI_SECRET_SCAN_WINDOW": str(128 << 10)}
FILLER = "var a = 1;\n" * 250_000  # 2.75 MB: more than a read (1 MiB) and a window apart


def _js(key: str, where: str) -> tuple[str, int]:
    """app.js holding `key` in base64, Moonshot named at its other end; the key's line."""
    line = f"const k = atob('{base64.b64encode(key.encode()).decode()}');\n"
    named = "// client for https://api.moonshot.cn/v1\n"
    if where == "late":  # named first, key after the first window
        return named + FILLER + line, 2 + FILLER.count("\n")
    return line + FILLER + named, 1  # key first, named after it


def _lines(run_out: str) -> set[int]:
    return {f["line"] for f in json.loads(run_out)["findings"]}


@pytest.mark.parametrize("where", ["late", "early"])
def test_every_command_reads_a_large_file_naming_moonshot_as_kimi_context(
    repo: GitRepo, where: str
) -> None:
    repo.commit_file("README.md", "# demo\n")
    text, line = _js(kimi_code_key(), where)
    repo.write("app.js", text)
    repo.add()
    run = run_cli("staged", "--format", "json", cwd=repo.path, env=SMALL)
    assert run.code == 1, run.all
    assert _lines(run.out) == {line}
    repo.commit("add the client")
    for args in (["files", "app.js"], ["range", "HEAD~1..HEAD"]):
        run = run_cli(*args, "--format", "json", cwd=repo.path, env=SMALL)
        assert run.code == 1, (args, run.all)
        assert _lines(run.out) == {line}, args
    for jobs in ("1", "2"):
        run = run_cli("history", "--jobs", jobs, "--format", "json", cwd=repo.path, env=SMALL)
        assert run.code == 1, (jobs, run.all)
        assert {f["path"] for f in json.loads(run.out)["findings"]} == {"app.js"}
        assert _lines(run.out) == {line}


def test_a_large_file_naming_no_kimi_context_is_not_searched_for_base64(repo: GitRepo) -> None:
    # The control: the same program source without Moonshot named (base64 in source is
    # searched only in a Kimi context, or beside the base64 of a long Kimi name such as
    # `sk-kimi-`: docs/detection.md), holding a key of the Moonshot shape (`sk-` + 48).
    text, _ = _js(moonshot_key(), "late")
    repo.write("app.js", text.replace("api.moonshot.cn", "api.example.com"))
    repo.add()
    run = run_cli("staged", "--format", "json", cwd=repo.path, env=SMALL)
    assert run.code == 0, run.all
