"""An excerpt never prints what may be the rest of a key (hostile review h13b #0).

A key cut in two by something the detectors do not read (a terminal sequence of a kind not
listed, a control byte) is found by its first half when that half is a key shape of its
own (`sk-kimi-` + 32 is a token long enough). What follows it on the line may be the rest
of the key in a spelling not read: the excerpt stops at the key's end unless a blank, a
quote or punctuation ends the key as written. Each byte here is one no terminal prints.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.gitrepo import run_cli
from tests.keygen import body

# Bytes the terminal reader does not read (a terminal shows the key whole around them).
UNREAD = {
    "shift_out": "\x0e",
    "delete": "\x7f",
    "backspace_pair": "x\x08",
    "escape_escape_x": "\x1b\x1bx",
}


def _slices(text: str, n: int = 12) -> set[str]:
    return {text[i : i + n] for i in range(len(text) - n + 1)}


@pytest.mark.parametrize("name", sorted(UNREAD))
def test_the_rest_of_a_key_after_an_unread_byte_is_not_printed(tmp_path: Path, name: str) -> None:
    tail = body(32)
    key = "sk-kimi-" + body(32)
    line = f"INFO KIMI_API_KEY={key}{UNREAD[name]}{tail} done\n"
    (tmp_path / "run.log").write_text(line, encoding="utf-8", newline="")
    for fmt in ("text", "json", "sarif", "github"):
        run = run_cli("files", "--format", fmt, "run.log", cwd=tmp_path)
        assert run.code == 1, run.all
        printed = run.all
        if fmt == "json":
            printed += json.dumps(json.loads(run.out), ensure_ascii=False)
        assert not [s for s in _slices(tail) if s in printed], (fmt, printed)


def test_the_line_after_a_key_ended_by_a_blank_is_still_shown(tmp_path: Path) -> None:
    key = "sk-kimi-" + body(64)
    (tmp_path / ".env").write_text(f"KIMI_API_KEY={key} # production\n", encoding="utf-8")
    run = run_cli("files", ".env", cwd=tmp_path)
    assert run.code == 1
    assert "# production" in run.out
