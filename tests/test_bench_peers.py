"""bench/history.py does not time a peer's failed or incomplete scan as if it were whole.

betterleaks on a mirror whose history it cannot read prints "ERR failed to scan Git
repository ... unable to read <sha>" and "incomplete scan ended after 895ms" and may exit
0; the bench printed its time beside complete scans. Real processes stand for the peers.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

BENCH = Path(__file__).resolve().parent.parent / "bench" / "history.py"


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_history", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_history"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _peer(tmp_path: Path, body: str) -> list[str]:
    script = tmp_path / "peer.py"
    script.write_text("import sys\n" + body)
    return [sys.executable, str(script)]


INCOMPLETE = (
    'sys.stderr.write("\\x1b[90m2:32PM\\x1b[0m \\x1b[31mERR\\x1b[0m failed to scan Git '
    'repository error=\\"fatal: unable to read 968094c\\"\\n")\n'
    'sys.stderr.write("2:32PM WRN incomplete scan ended after 895ms\\n")\n'
    "sys.exit(0)\n"
)


def test_a_peer_that_says_it_stopped_short_is_incomplete(tmp_path: Path) -> None:
    bench = _bench()
    tool = bench.Tool("peer", _peer(tmp_path, INCOMPLETE), capture_stdout=True)
    assert tool.run(tmp_path) == 0
    assert tool.failures and "failed to scan" in tool.failures[0]


def test_a_peer_that_says_so_on_stdout_is_incomplete(tmp_path: Path) -> None:
    bench = _bench()
    body = INCOMPLETE.replace("sys.stderr", "sys.stdout")
    tool = bench.Tool("peer", _peer(tmp_path, body), capture_stdout=True)
    tool.run(tmp_path)
    assert tool.failures and "failed to scan" in tool.failures[0]


def test_an_exit_code_that_is_neither_clean_nor_findings_is_incomplete(tmp_path: Path) -> None:
    bench = _bench()
    tool = bench.Tool("peer", _peer(tmp_path, "sys.exit(2)\n"), ok_exits=frozenset({0, 1}))
    tool.run(tmp_path)
    assert tool.failures == ["exit 2"]


def test_findings_that_quote_error_words_are_a_complete_scan(tmp_path: Path) -> None:
    bench = _bench()
    # A finding's context is the corpus's own text: code that says "fatal" or ERR.
    body = (
        'print("    raise IOError(\\"fatal: unable to read config\\")")\n'
        'print("  ERR = 1  # failed to scan")\n'
        "sys.exit(200)\n"
    )
    tool = bench.Tool("peer", _peer(tmp_path, body), ok_exits=frozenset({0, 200}))
    tool.capture_stdout = True
    assert tool.run(tmp_path) == 200
    assert tool.failures == []
