"""Escapes padded with leading zeros of any count (review h10c finding 9): JavaScript reads
`\\u{0000000041}` as `A` and a browser `&#000…065;` with 60 zeros as `A`. A key written so
is found, and a file name spelling one is never printed or written whole."""

from __future__ import annotations

import pytest

from kimi_secret_scan.content import Content
from kimi_secret_scan.detect.layered import detect
from tests.gitrepo import GitRepo, run_cli
from tests.keygen import kimi_code_key, moonshot_key

B = "\\"


def _es6(char: str, zeros: int) -> str:
    return B + "u{" + "0" * zeros + f"{ord(char):x}" + "}"


def _found(text: str, path: str = "app.js") -> list[str]:
    return [f.secret for f in detect(Content(path=path, data=text.encode()))]


@pytest.mark.parametrize("zeros", [8, 20, 300])
def test_es6_escape_with_many_zeros_in_the_body_or_for_the_hyphen(zeros: int) -> None:
    key = kimi_code_key()
    body = key[8:]
    assert _found(f'k = "sk-kimi-{body[:10]}{_es6(body[10], zeros)}{body[11:]}";\n') == [key]
    assert _found(f'k = "sk{_es6("-", zeros)}kimi-{body}";\n') == [key]
    moon = moonshot_key()
    assert _found(f'k = "sk-{moon[3:20]}{_es6(moon[20], zeros)}{moon[21:]}";\n') == [moon]


@pytest.mark.parametrize("zeros", [60, 500])
@pytest.mark.parametrize("hexadecimal", [False, True])
def test_every_body_character_as_a_zero_padded_reference(zeros: int, hexadecimal: bool) -> None:
    key = kimi_code_key()

    def ref(char: str) -> str:
        code = f"x{ord(char):x}" if hexadecimal else str(ord(char))
        return "&#" + ("x" if hexadecimal else "") + "0" * zeros + code[hexadecimal:] + ";"

    page = "<p>sk-kimi-" + "".join(ref(c) for c in key[8:]) + "</p>\n"
    assert _found(page, "index.html") == [key]


def test_a_file_name_spelling_a_key_so_is_never_printed_or_written_whole(repo: GitRepo) -> None:
    key = kimi_code_key()
    body = key[8:]
    name = f"sk-kimi-{body[:10]}{_es6(body[10], 8)}{body[11:]}"
    repo.write(name + ".bin", b"\0" * 200)
    repo.add(name + ".bin")
    for form in ("text", "github", "json", "sarif"):
        run = run_cli("staged", "--max-file-size", "100", "--format", form, cwd=repo.path)
        assert run.code in (1, 2), run.all
        assert body[11:] not in run.all and body[20:40] not in run.all, form
    repo.write(name + ".env", f"KIMI_API_KEY={kimi_code_key()}\n")
    repo.add(name + ".env")
    assert run_cli("baseline", "create", cwd=repo.path).code == 0
    written = (repo.path / ".kimi-secret-scan-baseline.toml").read_text()
    assert body[11:] not in written and body[20:40] not in written


def test_zero_padded_escapes_that_spell_no_key_finish_in_redaction() -> None:
    # Zeros that both `0*` and the digits after could take made the redaction's run pattern
    # try 8 ** 39 splits of this text (it never finished); each must finish.
    from kimi_secret_scan.redaction import redact_text

    for escape in (B + "u{" + "0" * 40 + "41}", "&#" + "0" * 40 + "65", "&#x" + "0" * 40 + "41"):
        text = "kimi-" + escape * 39 + "!"
        assert redact_text(text)
