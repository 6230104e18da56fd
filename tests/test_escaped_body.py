"""A key whose `sk-` / `sk-kimi-` is written plainly and whose body has escaped characters
(review h8c finding 4): every program reads the exact key, so it is found, reported once
(not also as the plain token the escape cut short), and never printed whole."""

from __future__ import annotations

import pytest

from kimi_secret_scan.content import Content
from kimi_secret_scan.detect.layered import detect
from tests.gitrepo import GitRepo, run_cli
from tests.keygen import kimi_code_key, moonshot_key

B = "\\"


def _escapes(char: str) -> dict[str, str]:
    code = ord(char)
    return {
        "json": B + f"u{code:04x}",
        "python": B + f"x{code:02x}",
        "octal": B + f"{code:o}",
        "es6": B + "u{" + f"{code:x}" + "}",
        "percent": f"%{code:02X}",
        "entity": f"&#{code};",
        "hex-entity": f"&#x{code:x};",
    }


def _found(text: str, path: str = "config.json") -> list[tuple[str, str]]:
    return [(f.rule.id, f.secret) for f in detect(Content(path=path, data=text.encode()))]


@pytest.mark.parametrize("spelling", sorted(_escapes("a")))
@pytest.mark.parametrize("at", [0, 10, 40, 63])
def test_one_escaped_body_character_of_a_kimi_code_key(spelling: str, at: int) -> None:
    key = kimi_code_key()
    body = key[8:]
    written = "sk-kimi-" + body[:at] + _escapes(body[at])[spelling] + body[at + 1 :]
    quote = "" if spelling == "percent" else '"'
    for line in (
        f'{{"KIMI_API_KEY": {quote}{written}{quote}}}',
        f"https://api.moonshot.cn/v1/models?api_key={written}",
        f"client = Client({quote}{written}{quote})",
    ):
        assert _found(line) == [("kimi-code-api-key", key)], line


def test_every_body_character_escaped_and_a_moonshot_key() -> None:
    key = kimi_code_key()
    every = "sk-kimi-" + "".join(B + f"u{ord(c):04x}" for c in key[8:])
    assert _found(f'{{"k": "{every}"}}') == [("kimi-code-api-key", key)]
    moon = moonshot_key()
    written = "sk-" + moon[3:13] + B + f"u{ord(moon[13]):04x}" + moon[14:]
    assert _found(f'{{"MOONSHOT_API_KEY": "{written}"}}') == [("moonshot-api-key", moon)]


def test_escapes_that_stand_for_no_key_character_open_nothing() -> None:
    # `\n`, `\"` after a short sk- token: no window, no finding.
    assert _found('{"a": "sk-abc\\ndef", "b": "sk-xyz\\"q"}') == []


def test_staged_reports_it_and_prints_no_whole_key(repo: GitRepo) -> None:
    key = kimi_code_key()
    body = key[8:]
    repo.write(
        "config.yaml", f'KIMI_API_KEY: "sk-kimi-{body[:10]}{B}x{ord(body[10]):02x}{body[11:]}"\n'
    )
    repo.add("config.yaml")
    run = run_cli("staged", cwd=repo.path)
    assert run.code == 1, run.all
    assert "kimi-code-api-key" in run.all
    assert body[20:40] not in run.all


# Review h8c finding 7: base64 of text whose key's hyphen is escaped, outside a JSON object.
@pytest.mark.parametrize(
    "hyphen", [B + "u002d", B + "x2d", B + "055", "`u{2d}", "&#45;", "&#x2D;", "%2D"]
)
@pytest.mark.parametrize("around", ['["{}"]', 'const k = "{}";', "<p>{}</p>", "{}"])
def test_base64_of_an_escaped_hyphen_is_decoded(hyphen: str, around: str) -> None:
    import base64

    key = kimi_code_key()
    inner = around.replace("{}", "sk" + hyphen + key[3:])
    for lead in ("", "x", "xy"):  # each alignment of `sk` in its base64 group
        value = base64.b64encode((lead + inner).encode()).decode()
        secret = f"apiVersion: v1\nkind: Secret\ndata:\n  value: {value}\n"
        assert [s for _, s in _found(secret, "k8s/secret.yaml")] == [key], (lead, inner)
