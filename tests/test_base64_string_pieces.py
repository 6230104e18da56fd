"""Wrapped base64 kept as source-code string pieces (hostile review 12 #5).

A .env's base64, wrapped at 64 or 76 columns, pasted into code as one string piece a line:
`ENV = (` ⏎ `"<64 characters>\\n"` ⏎ … `)` (Python, C, Go implicit concatenation), `"…" +`
(JavaScript, Java, C#, Go), `..` (Lua), `.` (PHP), `&` / `& _` (Visual Basic), a Python `\\`
continuation, prefixes (Python b r f, C# @ $), single, double and back quotes, with the
`\\n` escape at each piece's end or without it (pieces cut at the width). Only escapes and
real breaks were read as wrap separators: a key not at the start of the encoded text
passed `files` with exit 0. Each form, both widths, the key at the start of the .env and
in its middle (the piece boundary cutting the `sk-` trigger among them), through `files`
and through `history` (whose readers ask Hyperscan first, detect/marks.py); no part of a
key printed in clear."""

from __future__ import annotations

import base64
import json
import random
from collections.abc import Callable

import pytest

from kimi_secret_scan.finding import sha256_hex
from tests import keygen
from tests.gitrepo import GitRepo, run_cli

# Base64 in program source is searched where Moonshot or a Kimi endpoint is named
# (docs/detection.md): each file names the endpoint, as a client's code does.
_ENDPOINT = "https://api.moonshot.cn/v1"


def _py(lines: list[str], esc: str) -> str:
    body = "".join(f'    "{line}{esc}"\n' for line in lines)
    return f'BASE_URL = "{_ENDPOINT}"\nENV = (\n{body})\n'


def _py_prefixed(lines: list[str], esc: str) -> str:
    prefixes = ["b", "r", "f", "rb", "B"]
    body = "".join(f"    {prefixes[i % 5]}'{line}{esc}'\n" for i, line in enumerate(lines))
    return f"BASE_URL = '{_ENDPOINT}'\nENV = (\n{body})\n"


def _py_continued(lines: list[str], esc: str) -> str:
    body = " \\\n    ".join(f'"{line}{esc}"' for line in lines)
    return f'BASE_URL = "{_ENDPOINT}"\nENV = {body}\n'


def _c(lines: list[str], esc: str) -> str:
    body = "".join(f'\n    "{line}{esc}"' for line in lines)
    return f'static const char *base = "{_ENDPOINT}";\nstatic const char *env ={body};\n'


def _cs(lines: list[str], esc: str) -> str:
    body = " +\n    ".join(f'@"{line}"' if not esc else f'$"{line}{esc}"' for line in lines)
    return f'var baseUrl = "{_ENDPOINT}";\nvar env = {body};\n'


def _js_template(lines: list[str], esc: str) -> str:
    body = " +\n  ".join(f"`{line}{esc}`" for line in lines)
    return f"const base = `{_ENDPOINT}`;\nconst env = {body};\n"


def _js(lines: list[str], esc: str) -> str:
    body = " +\n  ".join(f'"{line}{esc}"' for line in lines)
    return f'const base = "{_ENDPOINT}";\nconst env =\n  {body};\n'


def _java(lines: list[str], esc: str) -> str:
    body = "\n        + ".join(f'"{line}{esc}"' for line in lines)
    return f'String base = "{_ENDPOINT}";\nString env = {body};\n'


def _go(lines: list[str], esc: str) -> str:
    body = " +\n\t".join(f'"{line}{esc}"' for line in lines)
    return f'const base = "{_ENDPOINT}"\nvar env = {body}\n'


def _php(lines: list[str], esc: str) -> str:
    body = " .\n    ".join(f"'{line}'" if not esc else f'"{line}{esc}"' for line in lines)
    return f"<?php\n$base = '{_ENDPOINT}';\n$env = {body};\n"


def _lua(lines: list[str], esc: str) -> str:
    body = " ..\n  ".join(f'"{line}{esc}"' for line in lines)
    return f'local base = "{_ENDPOINT}"\nlocal env = {body}\n'


def _vb(lines: list[str], esc: str) -> str:
    join = " & _\n    " if esc else " &\n    "  # (the line continuation optional since VB 10)
    body = join.join(f'"{line}{esc}"' for line in lines)
    return f'Dim base = "{_ENDPOINT}"\nDim env = {body}\n'


_FORMS: dict[str, tuple[str, Callable[[list[str], str], str]]] = {
    "py-implicit": ("py", _py),
    "py-prefixed": ("py", _py_prefixed),
    "py-continued": ("py", _py_continued),
    "c-implicit": ("c", _c),
    "cs-prefixed": ("cs", _cs),
    "js-plus": ("js", _js),
    "js-backticks": ("js", _js_template),
    "java-plus-leading": ("java", _java),
    "go-plus": ("go", _go),
    "php-dot": ("php", _php),
    "lua-dots": ("lua", _lua),
    "vb-ampersand": ("vb", _vb),
}
_ESCAPES = {"lf": "\\n", "crlf": "\\r\\n", "none": ""}


def _envs(width: int, place: str, rng: random.Random) -> list[tuple[bytes, str]]:
    """(.env, its key): at the start, the key starting the encoded text; in the middle, at
    a few paddings, among them ones where the wrap cuts the encoded `sk-`."""
    if place == "start":
        key = keygen.kimi_code_key(rng)
        return [(f"KIMI_API_KEY={key}\nDEBUG=0\n".encode(), key)]
    out = []
    cut = uncut = 0
    for pad in range(2 * width):
        head = f"# app settings\nDEBUG=0{' ' * pad}\nKIMI_API_KEY="
        first = 4 * len(head) // 3  # the first character that holds the `s` of `sk-`
        last = (4 * (len(head) + 3) + 2) // 3  # past the last that holds the `-`
        cuts = (first // width) != ((last - 1) // width)
        if (cut if cuts else uncut) >= 2:
            continue
        key = keygen.moonshot_key(rng) if pad % 2 else keygen.kimi_code_key(rng)
        out.append((f"{head}{key}\nLOG=info\n".encode(), key))
        if cuts:
            cut += 1
        else:
            uncut += 1
    assert cut == 2 and uncut == 2
    return out


def _cases(width: int, form: str, place: str) -> list[tuple[str, str, str]]:
    rng = random.Random(f"{width}-{form}-{place}")
    suffix, render = _FORMS[form]
    out = []
    for n, (env, key) in enumerate(_envs(width, place, rng)):
        enc = base64.b64encode(env).decode()
        lines = [enc[i : i + width] for i in range(0, len(enc), width)]
        for esc_name, esc in _ESCAPES.items():
            name = f"{form}-{width}-{place}-{n}-{esc_name}.{suffix}"
            out.append((name, render(lines, esc), key))
    return out


def _found(out: str) -> set[str]:
    return {f["secret_sha256"] for f in json.loads(out)["findings"]}


def _assert_nothing_clear(output: str, keys: set[str]) -> None:
    for key in keys:
        body = key.rsplit("-", 1)[-1]
        for at in range(0, len(body) - 12, 6):
            assert body[at : at + 12] not in output, "part of a key printed in clear"


@pytest.mark.parametrize("place", ["start", "middle"])
@pytest.mark.parametrize("form", sorted(_FORMS))
@pytest.mark.parametrize("width", [64, 76])
def test_base64_in_string_pieces_is_found(repo: GitRepo, width: int, form: str, place: str) -> None:
    cases = _cases(width, form, place)
    for name, content, _ in cases:
        repo.write(name, content)
    keys = {key for _, _, key in cases}
    result = run_cli("files", ".", "--format", "json", cwd=repo.path)
    assert result.code == 1, result.err
    findings = json.loads(result.out)["findings"]
    found = {(f["path"], f["secret_sha256"]) for f in findings}
    missed = [name for name, _, key in cases if (name, sha256_hex(key)) not in found]
    assert missed == []
    _assert_nothing_clear(result.all, keys)
    text = run_cli("files", ".", cwd=repo.path)
    assert text.code == 1, text.err
    _assert_nothing_clear(text.all, keys)


def test_base64_in_string_pieces_through_history(repo: GitRepo) -> None:
    cases = [
        case
        for width in (64, 76)
        for form in sorted(_FORMS)
        for case in _cases(width, form, "middle")
    ]
    for name, content, _ in cases:
        repo.write(name, content)
    repo.add()
    repo.commit("client settings")
    wanted = {sha256_hex(key) for _, _, key in cases}
    history = run_cli("history", "--format", "json", cwd=repo.path)
    assert history.code == 1, history.err
    assert wanted - _found(history.out) == set()
    keys = {key for _, _, key in cases}
    _assert_nothing_clear(history.all, keys)
    for fmt in ("text", "sarif", "github"):
        run = run_cli("history", "--format", fmt, cwd=repo.path)
        assert run.code == 1, run.err
        _assert_nothing_clear(run.all, keys)
