"""Keys glued to each other by `_` or `-` are each found, in time linear in the run.

A token that ran on into a second key (`sk-…_sk-kimi-…`) was judged whole: neither key was
reported unless the first had Moonshot context (review); and a line of glued Kimi Code keys
was searched again after each one (1 MB: 92 s).
"""

from __future__ import annotations

import json
from pathlib import Path

from kimi_secret_scan.content import Content
from kimi_secret_scan.detectors import detect
from tests.gitrepo import run_cli
from tests.keygen import kimi_code_key, moonshot_key


def test_keys_glued_together_are_each_found(tmp_path: Path) -> None:
    m1, m2, k1, k2 = moonshot_key(), moonshot_key(), kimi_code_key(), kimi_code_key()
    lines = [
        f"x {m1}_{k1} y",
        f"x {m2}-{k2} y",
        f"x __{m1}__{m2}__ y",
        f"x _{m2}_{m1}_ y",
        f"{k1}_{k2}",
        f"{k2}{k1}",
    ]
    (tmp_path / "notes.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    run = run_cli("files", "--format", "json", ".", cwd=tmp_path)
    assert run.code == 1, run.all
    got = sorted((f["line"], f["column"]) for f in json.loads(run.out)["findings"])
    want = []
    for number, line in enumerate(lines, start=1):
        for key in (m1, m2, k1, k2):
            at = line.find(key)
            while at >= 0:
                want.append((number, at + 1))
                at = line.find(key, at + 1)
    assert got == sorted(want)
    assert all(key not in run.all for key in (m1, m2, k1, k2))


def test_a_line_of_glued_keys_is_read_once() -> None:
    keys = [kimi_code_key() for _ in range(3000)]
    found = detect(Content(path="a.md", data=("-".join(keys) + "-\n").encode()))
    assert [f.secret for f in found] == keys
