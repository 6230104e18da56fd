"""A key written in string pieces is found whatever sits between the pieces that the
language skips (comments, blank lines: review h8c finding 3) and whatever prefix or quotes
the pieces have (f-strings, triple quotes, C# verbatim strings, Rust `concat!`, a joined
array: finding 6). Only joins that make an exact key's shape are reported."""

from __future__ import annotations

import pytest

from kimi_secret_scan.content import Content
from kimi_secret_scan.detect.layered import detect
from tests.gitrepo import GitRepo, run_cli
from tests.keygen import kimi_code_key, moonshot_key

# (path, text with {a} and {b} for the two pieces)
SPLITS = [
    ("a.py", 'k = ("{a}"  # note\n     "{b}")\n'),
    ("a.py", 'k = ("{a}"\n\n     "{b}")\n'),
    ("a.py", 'k = ("{a}"  # one\n     # two\n\n     "{b}")\n'),
    ("a.js", 'const k = "{a}" + // part\n  "{b}";\n'),
    ("a.js", 'const k = "{a}" /* x */ + "{b}";\n'),
    ("a.js", 'const k = "{a}" /* a\n  comment */ +\n  "{b}";\n'),
    ("a.py", 'k = f"{a}" f"{b}"\n'),
    ("a.py", "k = rb'{a}' rb'{b}'\n"),
    ("a.py", 'k = """{a}""" + """{b}"""\n'),
    ("a.py", "k = '''{a}''' '''{b}'''\n"),
    ("a.kt", 'val k = """{a}""" + """{b}"""\n'),
    ("a.cs", 'var k = @"{a}" + @"{b}";\n'),
    ("a.cs", 'var k = $"{a}" + $"{b}";\n'),
    ("a.rs", 'let k = concat!("{a}", "{b}");\n'),
    ("a.rs", 'let k = concat!(\n    "{a}", // first\n    "{b}",\n);\n'),
    ("a.js", 'const k = ["{a}", "{b}"].join("");\n'),
]


@pytest.mark.parametrize(("path", "text"), SPLITS)
@pytest.mark.parametrize("kind", ["kimi", "moonshot"])
def test_pieces_with_gaps_and_prefixes_are_joined(path: str, text: str, kind: str) -> None:
    key = kimi_code_key() if kind == "kimi" else moonshot_key()
    cut = 30 if kind == "kimi" else 20
    written = text.format(a=key[:cut], b=key[cut:])
    found = detect(Content(path=path, data=written.encode()))
    assert [f.secret for f in found] == [key], written
    assert found[0].line == written[: written.index(key[:cut])].count("\n") + 1
    assert "Written in pieces" in (found[0].note or "")


def test_a_gap_too_long_or_a_piece_that_makes_no_key_is_not_joined() -> None:
    key = kimi_code_key()
    a, b = key[:30], key[30:]
    # A comment longer than the bound between the pieces: not read as one gap.
    long = f'k = ("{a}"  # {"x" * 200}\n     "{b}")\n'
    assert [f.secret for f in detect(Content(path="a.py", data=long.encode()))] != [key]
    # Pieces that do not make an exact shape: nothing joined.
    short = f'k = ["{a}", "{b[:-3]}"].join("")\n'
    assert key not in [f.secret for f in detect(Content(path="a.js", data=short.encode()))]


def test_staged_fails_on_a_commented_split(repo: GitRepo) -> None:
    key = kimi_code_key()
    repo.write("a.js", f'const k = "{key[:30]}" + // part\n  "{key[30:]}";\n')
    repo.add("a.js")
    run = run_cli("staged", cwd=repo.path)
    assert run.code == 1, run.all
    assert "Written in pieces" in run.all
    assert key[30:] not in run.all
