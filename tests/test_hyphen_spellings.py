"""A key whose hyphens are written in any spelling a program reads as `-` is found, and a key
behind any spelling of its prefix, read or not, is never printed whole.

Programs that turn each spelling below into `-`: browsers and XML parsers (numeric character
references, any leading zeros, no `;`), JSON / JavaScript /
Java / Python / C / Rust / Swift / PHP / Perl / CSS / PowerShell string literals, percent
decoding (and JavaScript's `unescape`). `&hyphen;` and `&dash;` are U+2010 in HTML5 and
`&minus;` U+2212: no program makes a key of them, so they are not findings, but a name
holding one is still redacted (as is any spelling no decoder knows).
"""

from __future__ import annotations

import json
import re

import pytest

from kimi_secret_scan.content import Content
from kimi_secret_scan.detect.layered import detect
from kimi_secret_scan.redaction import redact_text
from tests.gitrepo import GitRepo, run_cli
from tests.keygen import kimi_code_key, moonshot_key

B = "\\"
# Read as `-` by a real decoder: found.
DECODED = [
    "&#X2D;",
    "&#x002d;",
    "&#0045;",
    "&#000000045;",
    "&#45",
    B + "u{2d}",
    B + "u{002D}",
    B + "x{2d}",
    B + "x{ 2d }",
    B + "U0000002d",
    B + "x002d",
    B + "uu002d",
    B + "55",
    B + "o{55}",
    B + "N{HYPHEN-MINUS}",
    B + "N{U+2D}",
    B + "2d ",
    "`u{2d}",
    "`-",
    "%u002d",
    "%252d",
]
# Not findings: no decoder reads U+2010 (`&hyphen;`, `&dash;`), U+2212 or no escape as
# `-`; spellings escaped twice are left (their nested windows cost minutes on a line of them).
NOT_DECODED = ["&hyphen;", "&dash;", "&minus;", "~", "+", "&amp;#45;", B * 2 + "u002d"]


def _found(text: str, path: str = "notes.txt") -> list[str]:
    return [f.secret for f in detect(Content(path=path, data=text.encode()))]


_HEX = "0123456789abcdefABCDEF"


def _unambiguous_key() -> str:
    """A Kimi Code key whose body starts with no hex digit: a decoder reads `\\x002d` and
    `&#45` on through the digits that follow (C's `\\x002dD…` is one escape), so with such a
    body those spellings are no key to any program."""
    key = kimi_code_key()
    while key[8] in _HEX:
        key = kimi_code_key()
    return key


@pytest.mark.parametrize("sep", DECODED)
def test_every_decoded_spelling_of_a_hyphen_is_found(sep: str) -> None:
    key = _unambiguous_key()
    body = key[len("sk-kimi-") :]
    for spelled in (
        f"sk{sep}kimi-{body}",  # the first hyphen
        f"sk{sep}kimi{sep}{body}",  # both
        f"sk-kimi{sep}{body}",  # the second one only
    ):
        for line in (f"{spelled}\n", f'KEY="{spelled}"\n', f"<p>{spelled}</p>\n"):
            assert key in _found(line), (sep, line)
    # An Open Platform key, with Moonshot named: found too (`\\552…` is octal 552 and
    # `&#452…` reference 452: its body too starts with no hex digit).
    op = moonshot_key()
    while op[3] in _HEX:
        op = moonshot_key()
    line = f"MOONSHOT_API_KEY={op.replace('-', sep, 1)}\n"
    assert op in _found(line), (sep, line)


@pytest.mark.parametrize("sep", NOT_DECODED)
def test_spellings_no_program_reads_as_a_hyphen_are_not_keys(sep: str) -> None:
    key = kimi_code_key()
    assert _found(f"sk{sep}kimi-{key[8:]}\n") == []


def test_a_decoded_spelling_is_reported_where_it_is_written() -> None:
    key = kimi_code_key()
    line = "x = 1\nhtml = '<b>sk&#X2D;kimi&#0045;" + key[8:] + "</b>'\n"
    (finding,) = detect(Content(path="page.py", data=line.encode()))
    assert (finding.secret, finding.line, finding.column) == (key, 2, 12)
    assert finding.encoding == "html-entity"


def test_redact_text_hides_a_key_behind_any_prefix_spelling() -> None:
    commit = "0123456789abcdef0123456789abcdef01234567"
    digest = "ab" * 32
    for sep in [*DECODED, *NOT_DECODED, "&#8208;", B + "u2010", "%E2%80%90", "__"]:
        key = kimi_code_key()
        for name in (f"f-sk{sep}kimi-{key[8:]}.bin", f"sk{sep}{key[8:]}"):
            shown = redact_text(f"skipped {name} at {commit}: sk {digest}")
            assert not _windows(key[8:]) & _windows(shown), (sep, shown)
            assert commit in shown and digest in shown


def _windows(text: str, size: int = 20) -> set[str]:
    return {text[i : i + size] for i in range(len(text) - size + 1)}


def _leaks(body: str, text: str) -> list[str]:
    return sorted(_windows(body) & _windows(text))


@pytest.mark.parametrize("command", ["files", "history"])
def test_a_too_large_file_named_after_a_key_is_never_printed_whole(
    repo: GitRepo, command: str
) -> None:
    # One too-large file per spelling, named sk<sep>kimi-<64>.bin, and one file holding a key
    # (so the reports print a commit id too): no 20 characters of any name's key in any
    # format, and the finding's commit id still shown.
    bodies: list[str] = []
    for i, sep in enumerate([*DECODED, *NOT_DECODED, "&#8208;", "%E2%80%90"]):
        key = kimi_code_key()
        bodies.append(key[8:])
        repo.write(f"f{i}-sk{sep}kimi-{key[8:]}.bin", b"\x00" * 300)
    repo.write("a.env", f"KIMI_API_KEY={kimi_code_key()}\n")
    repo.add()
    commit = repo.commit("names")
    for fmt in ("text", "json", "sarif", "github"):
        run = run_cli(command, "--max-file-size", "100", "--format", fmt, cwd=repo.path)
        assert run.code in (1, 2), (fmt, run.err)
        for body in bodies:
            assert _leaks(body, run.all) == [], (command, fmt)
        if command == "history" and fmt in ("json", "sarif"):
            assert commit in run.out, fmt
        if fmt == "json":
            json.loads(run.out)
            assert re.search(r"skipped|larger", run.all)


MB = 1024 * 1024


@pytest.mark.parametrize("marked", [False, True])
def test_a_megabyte_of_each_spelling_finishes(marked: bool) -> None:
    # Every spelling repeated (windows opened once per stretch), and runs that a spelling's
    # repetition could backtrack over: `&amp;` (a `(?:amp;?)*` took 43 s on 2 MB with the
    # marks on), backslashes, zeros; and the spellings escaped twice, not opened.
    from kimi_secret_scan.detect import marks

    if marked:
        assert marks.enable()
    try:
        for sep in [*DECODED, "&amp;#45;", B * 2 + "u002d"]:
            unit = f"sk{sep}".encode()
            assert detect(Content(path="p", data=unit * (MB // len(unit)))) == []
        for run in (b"sk&" + b"amp;" * (MB // 4), b"sk" + b"\\" * MB, b"sk\\x" + b"0" * MB):
            assert detect(Content(path="p", data=run)) == []
    finally:
        marks.disable()
