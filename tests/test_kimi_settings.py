"""Settings named for Kimi (issue 16): any secret-looking value is reported at medium
confidence with its shape named; a setting named for another provider is not a Kimi setting;
a console URL in a comment does not tie a key to Kimi."""

from __future__ import annotations

import json
import random

import pytest

from kimi_secret_scan.content import Content
from kimi_secret_scan.detectors import detect
from tests import keygen
from tests.gitrepo import GitRepo, run_cli

HEX = "0123456789abcdef"


def _hex(n: int, rng: random.Random) -> str:
    return "".join(rng.choice(HEX) for _ in range(n))


def _one(text: str, path: str = ".env") -> list[tuple[str, str, str | None]]:
    return [
        (f.rule.id, str(f.confidence), f.note)
        for f in detect(Content(path=path, data=text.encode()))
    ]


@pytest.mark.parametrize(
    ("name", "value", "shape"),
    [
        ("KIMI_API_KEY", "sk-{hex32}", "sk- + 32 hex digits, like DeepSeek / DashScope keys"),
        ("MOONSHOT_API_KEY", "{hex32}", "32 hex digits"),
        ("KIMI_CODE_API_KEY", "sk-{b9}_{b6}-{b5}", "sk- + 22 URL-safe characters, like a LiteLLM"),
        ("kimi_api_key", "AIza{b35}", "39 letters and digits, like a Google (Gemini) API key"),
        ("MOONSHOT_API_KEY", "{hex32}.{b16}", "32 hex digits, a dot and a secret, like Zhipu"),
    ],
)
def test_a_kimi_setting_reports_any_secret_shape(name: str, value: str, shape: str) -> None:
    rng = random.Random(name + value)
    value = value.format(
        hex32=_hex(32, rng),
        b5=keygen.body(5, rng),
        b6=keygen.body(6, rng),
        b9=keygen.body(9, rng),
        b16=keygen.body(16, rng),
        b35=keygen.body(35, rng),
    )
    [(rule, confidence, note)] = _one(f"{name}={value}\n")
    assert (rule, confidence) == ("kimi-assigned-key", "medium")
    assert note is not None and f"shape: {shape}" in note


def test_another_providers_setting_needs_an_endpoint_the_code_calls() -> None:
    rng = random.Random(4)
    relay = "sk-" + keygen.body(10, rng) + "_" + keygen.body(11, rng)
    commented = f"# OPENAI_BASE_URL=https://api.moonshot.cn/v1\nOPENAI_API_KEY={relay}\n"
    console = f"OPENAI_API_KEY={relay}\n# Moonshot API (https://platform.moonshot.cn/)\n"
    called = f"OPENAI_BASE_URL=https://api.moonshot.cn/v1\nOPENAI_API_KEY={relay}\n"
    assert _one(commented) == []
    assert _one(console) == []
    assert [r for r, _, _ in _one(called)] == ["kimi-assigned-key"]


def test_the_shape_is_in_the_json_report(repo: GitRepo) -> None:
    rng = random.Random(9)
    value = "sk-" + _hex(32, rng)
    repo.write("deploy.env", f"KIMI_API_KEY={value}\n")
    run = run_cli("files", "deploy.env", "--format", "json", cwd=repo.path)
    assert run.code == 1, run.err
    [finding] = json.loads(run.out)["findings"]
    assert finding["rule"] == "kimi-assigned-key"
    assert finding["confidence"] == "medium"
    assert "shape: sk- + 32 hex digits, like DeepSeek / DashScope keys" in finding["note"]
    assert value not in run.out


def _described(shape: str, rng: random.Random) -> str:
    if shape == "uuid":
        h = _hex(32, rng)
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
    if shape == "public":
        return "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE" + keygen.body(40, rng)
    if shape == "digits":
        return "".join(rng.choice("0123456789") for _ in range(18))
    return _hex(int(shape), rng)


@pytest.mark.parametrize(
    ("name", "shape"),
    [
        ("KIMI_API_KEY_SHA256", "64"),
        ("KIMI_API_KEY_FINGERPRINT", "40"),
        ("KIMI_KEY_ID", "uuid"),
        ("KIMI_KEY_MD5", "32"),
        ("KIMI_KEY_COMMIT", "40"),
        ("KIMI_KEY_CHECKSUM", "64"),
        ("KIMI_KEY_B64_PUBLIC", "public"),
        ("kimiApiKeyId", "uuid"),
        ("moonshot.api_key.hash", "128"),
    ],
)
def test_a_setting_named_for_what_describes_a_key_is_not_the_key(name: str, shape: str) -> None:
    # Its hash, fingerprint, id, commit or public half: no credential (review h8c
    # finding 9: such settings failed the hook). The same value under the key's own name
    # is reported, and an sk- value is judged as a token whatever its name.
    rng = random.Random(name)
    value = _described(shape, rng)
    assert _one(f"{name}={value}\n") == []
    assert [r for r, _, _ in _one(f"KIMI_API_KEY={value}\n")] == ["kimi-assigned-key"]
    assert [r for r, _, _ in _one(f"KIMI_API_KEY_PROD={value}\n")] == ["kimi-assigned-key"]
    token = keygen.kimi_code_key(rng)
    assert [r for r, _, _ in _one(f"{name}={token}\n")] == ["kimi-code-api-key"]


@pytest.mark.parametrize(
    "name",
    [
        "KIMI_API_KEY_ID",
        "KIMI_API_KEY_PUBLIC",
        "kimiApiKeyPrefix",
        "KIMI_TOKEN_V2_SHA256",
        "KIMI_KEY_MD5",
        "KIMI_KEY_UUID",
    ],
)
@pytest.mark.parametrize("spelling", ["hex", "base32", "reversed", "body", "relay"])
@pytest.mark.parametrize("path", ["settings.py", ".env"])
def test_a_describing_name_does_not_hide_a_value_of_another_shape(
    name: str, spelling: str, path: str
) -> None:
    # Review h9b finding 5: any non-sk value under such a name passed (the key in hex or
    # base32, reversed, its body without `sk-kimi-`, a relay's 32-hex key under `…_ID`).
    import base64

    rng = random.Random(name + spelling)
    key = keygen.kimi_code_key(rng)
    value = {
        "hex": key.encode().hex(),
        "base32": base64.b32encode(key.encode()).decode().rstrip("="),
        "reversed": key[::-1],
        "body": key[len("sk-kimi-") :],
        "relay": _hex(40 if name == "KIMI_KEY_MD5" else 32, rng),
    }[spelling]
    if name == "KIMI_TOKEN_V2_SHA256" and spelling == "relay":
        value = _hex(32, rng)  # an MD5's length, not a SHA-256's
    line = f'{name} = "{value}"\n' if path.endswith(".py") else f"{name}={value}\n"
    assert [r for r, _, _ in _one(line, path)] == ["kimi-assigned-key"]


@pytest.mark.parametrize("spelling", ["standard", "urlsafe-unpadded"])
@pytest.mark.parametrize("path", ["settings.py", ".env"])
def test_a_kimi_setting_holding_base64_of_a_key_is_decoded_in_any_file(
    repo: GitRepo, spelling: str, path: str
) -> None:
    # Review h9b finding 4: the setting's value was left to the base64 pass, which does not
    # search a program file that names only "kimi": `files`, `range`, `history` exited 0.
    import base64

    from kimi_secret_scan.detect import layered

    key = keygen.kimi_code_key(random.Random(spelling + path))
    raw = base64.b64encode(key.encode()).decode()
    if spelling != "standard":
        raw = base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")
    text = f'KIMI_API_KEY = "{raw}"\n'
    assert [r for r, _, _ in _one(text, path)] == ["kimi-code-api-key"]
    assert not layered.holds_nothing(path, text.encode())
    repo.commit_file("README.md", "notes\n", "start")
    repo.commit_file(path, text, "settings")
    for args in (("files", path), ("range", "HEAD~1..HEAD"), ("history",)):
        run = run_cli(*args, cwd=repo.path)
        assert run.code == 1, (args, run.out, run.err)
        assert key not in run.out


@pytest.mark.parametrize(
    ("path", "line"),
    [
        ("client.py", 'KIMI_API_KEY = base64.b64decode("{b}").decode()'),
        ("client.js", 'const KIMI_API_KEY = atob("{b}");'),
        ("client.js", 'const moonshotApiKey = Buffer.from("{b}", "base64").toString();'),
        ("env.py", 'os.environ.setdefault("KIMI_API_KEY", base64.b64decode("{b}").decode())'),
        ("setup.sh", 'export KIMI_API_KEY="$(echo {b} | base64 -d)"'),
        ("setup.sh", 'KIMI_API_KEY=$(base64 -d <<< "{b}")'),
    ],
)
def test_a_kimi_setting_assigned_a_decode_call_of_base64_of_a_key(path: str, line: str) -> None:
    # Review h10c finding 13: the call's name was read as the value (and a call is skipped),
    # so the base64 argument was never decoded in a file naming only "kimi".
    import base64

    from kimi_secret_scan.detect import layered

    key = keygen.kimi_code_key(random.Random(line))
    text = line.format(b=base64.b64encode(key.encode()).decode()) + "\n"
    assert [r for r, _, _ in _one(text, path)] == ["kimi-code-api-key"], text
    assert not layered.holds_nothing(path, text.encode())


_FORMS = [
    (".github/deploy.yaml", "env:\n  - name: KIMI_API_KEY\n    value: {v}\n"),
    ("k8s/deploy.yaml", 'env:\n  - name: "MOONSHOT_API_KEY"\n    value: "{v}"\n'),
    ("setup.bat", 'setx KIMI_API_KEY "{v}"\n'),
    ("setup.sh", 'gh secret set KIMI_API_KEY --body "{v}"\n'),
    ("config.yaml", "kimi:\n  api_key: {v}\n"),
    ("config.yaml", "providers:\n  moonshot:\n    base_url: https://x\n    apiKey: '{v}'\n"),
    ("config.toml", '[moonshot]\napi_key = "{v}"\n'),
    ("config.toml", '[providers.kimi]\nmodel = "k2"\napi_key = "{v}"\n'),
    (
        "litellm.yaml",
        "model_list:\n  - model_name: kimi\n    litellm_params:\n"
        "      model: moonshot/kimi-k2\n      api_key: {v}\n",
    ),
    (
        "litellm.yaml",
        "model_list:\n  - litellm_params:\n      api_key: {v}\n      model: moonshot/kimi-k2\n",
    ),
]


@pytest.mark.parametrize(("path", "text"), _FORMS)
def test_a_relay_key_in_a_kimi_setting_over_lines_or_by_a_command(path: str, text: str) -> None:
    # Review h10c finding 14: only `NAME=` on one line was read as a Kimi setting.
    value = "sk-" + _hex(32, random.Random(text))
    assert [r for r, _, _ in _one(text.format(v=value), path)] == ["kimi-assigned-key"], text


@pytest.mark.parametrize(("path", "text"), _FORMS)
def test_the_same_forms_named_for_another_provider_are_not_kimi_settings(
    path: str, text: str
) -> None:
    other = (
        text.replace("KIMI", "DEEPSEEK")
        .replace("MOONSHOT", "OPENAI")
        .replace("kimi", "deepseek")
        .replace("moonshot", "openai")
    )
    value = "sk-" + _hex(32, random.Random(text))
    assert _one(other.format(v=value), path) == [], other


def test_a_kimi_section_ends_where_the_next_section_starts() -> None:
    value = "sk-" + _hex(32, random.Random(3))
    text = f"kimi:\n  model: k2\nopenai:\n  api_key: {value}\n"
    assert _one(text, "config.yaml") == []
    text = f'[kimi]\nmodel = "k2"\n\n[deepseek]\napi_key = "{value}"\n'
    assert _one(text, "config.toml") == []
