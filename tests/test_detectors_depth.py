"""Hidden keys end to end: encoded, split, wide-encoded, in notebooks; and look-alikes."""

from __future__ import annotations

import base64
import json

from kimi_secret_scan.content import Content
from kimi_secret_scan.detectors import detect
from kimi_secret_scan.finding import Confidence
from kimi_secret_scan.settings import DetectorSettings
from tests import keygen
from tests.gitrepo import GitRepo, run_cli


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_staged_kubernetes_secret_names_the_encoding(repo: GitRepo) -> None:
    key = keygen.kimi_code_key()
    encoded = _b64(key)
    repo.commit_file("README.md", "hello\n")
    repo.write("k8s/secret.yaml", f"kind: Secret\ndata:\n  api-key: {encoded}\n")
    repo.add("k8s/secret.yaml")
    run = run_cli("staged", cwd=repo.path)
    assert run.code == 1, run.all
    assert "k8s/secret.yaml:3:12: Kimi Code API key" in run.out
    assert "found base64-encoded" in run.out
    assert key not in run.all and encoded not in run.all
    as_json = json.loads(run_cli("staged", "--format", "json", cwd=repo.path).out)
    assert [(f["line"], f["column"], f["encoding"]) for f in as_json["findings"]] == [
        (3, 12, "base64")
    ]


def test_utf16_powershell_profile_through_the_cli(repo: GitRepo) -> None:
    key = keygen.kimi_code_key()
    repo.write("profile.ps1", f'# kimi\r\n  $env:KIMI_API_KEY = "{key}"\r\n'.encode("utf-16"))
    run = run_cli("files", "profile.ps1", "--format", "json", cwd=repo.path)
    assert run.code == 1, run.all
    (finding,) = json.loads(run.out)["findings"]
    assert (finding["line"], finding["column"], finding["encoding"]) == (2, 24, "utf-16")
    assert key not in run.all


def test_split_key_committed_in_a_shell_script(repo: GitRepo) -> None:
    key = keygen.moonshot_key()
    repo.write(
        "token.sh",
        "curl https://api.moonshot.cn/v1/users/me/balance \\\n"
        f'  -H "Authorization: Bearer sk-\n{key[3:]}"\n',
    )
    repo.add("token.sh")
    run = run_cli("staged", cwd=repo.path)
    assert run.code == 1, run.all
    assert "token.sh:2:29: Moonshot / Kimi Open Platform API key" in run.out
    assert "Written in pieces" in run.out
    assert key[3:] not in run.all


def test_notebook_with_images_reports_only_the_key(repo: GitRepo) -> None:
    key = keygen.moonshot_key()
    image = base64.b64encode(bytes(range(256)) * 400).decode()
    notebook = {
        "cells": [
            {
                "cell_type": "code",
                "source": [
                    "client = OpenAI(\n",
                    f'    api_key="{key}",\n',
                    '    base_url="https://api.moonshot.cn/v1")\n',
                ],
                "outputs": [{"output_type": "display_data", "data": {"image/png": image}}],
            }
        ]
    }
    repo.write("kimi.ipynb", json.dumps(notebook, indent=1))
    run = run_cli("files", "kimi.ipynb", "--format", "json", cwd=repo.path)
    assert run.code == 1, run.all
    findings = json.loads(run.out)["findings"]
    assert [(f["rule"], f["confidence"], f["key_kind"]) for f in findings] == [
        ("moonshot-api-key", "high", "moonshot-platform-cn")
    ]


def test_context_outside_the_encoded_text_counts() -> None:
    key = keygen.moonshot_key()
    data = f"metadata:\n  name: moonshot-credentials\ndata:\n  key: {_b64(key)}\n".encode()
    (finding,) = detect(Content(path="s.yaml", data=data))
    assert finding.confidence == Confidence.HIGH
    assert finding.encoding == "base64"


def test_project_context_words_reach_decoded_layers() -> None:
    key = keygen.moonshot_key()
    data = f"# acme-llm gateway\nurl = 'https://x.example/?k={key.replace('-', '%2D')}'\n"
    plain = detect(Content(path="c.py", data=data.encode()))
    extended = detect(
        Content(path="c.py", data=data.encode()), DetectorSettings(context_words=("acme-llm",))
    )
    assert [f.confidence for f in plain] == [Confidence.MEDIUM]
    assert [(f.confidence, f.encoding) for f in extended] == [(Confidence.HIGH, "percent")]


def test_relay_context_is_said_not_guessed() -> None:
    key = keygen.moonshot_key()
    data = f'OPENAI_BASE_URL = "https://api.openai.com/v1"\nKEY = "{key}"\n'.encode()
    (finding,) = detect(Content(path="c.py", data=data))
    assert finding.confidence == Confidence.LOW
    assert finding.note and "another provider" in finding.note


def test_lookalikes_inside_encodings_stay_unreported() -> None:
    openai = keygen.openai_legacy_key()
    deepseek = keygen.deepseek_key()
    data = (
        f"# kimi moonshot\na: {_b64(openai)}\nb: {_b64('u:' + deepseek)}\n"
        f"c = 'sk\\u002d{'x' * 48}'\nd = 'https://x/?k={openai.replace('-', '%2D')}'\n"
    ).encode()
    assert detect(Content(path="x.yaml", data=data)) == []


def test_same_key_plain_and_escaped_on_one_line_is_reported_once() -> None:
    key = keygen.kimi_code_key()
    data = f'{{"a": "caf\\u00e9", "key": "{key}"}}\n'.encode()
    findings = detect(Content(path="x.json", data=data))
    assert [(f.encoding, f.column) for f in findings] == [(None, 28)]


def test_crlf_and_bom_columns() -> None:
    key = keygen.kimi_code_key()
    data = f"\ufeffKEY={key}\r\nX=1\r\n".encode()
    (finding,) = detect(Content(path=".env", data=data))
    assert (finding.line, finding.column, finding.end_column) == (1, 5, 5 + len(key))
    assert finding.excerpt.endswith(key[-4:])  # no trailing carriage return


def test_base64_in_source_code_needs_context() -> None:
    kimi = keygen.kimi_code_key()
    moon = keygen.moonshot_key()
    code = f'K = b64decode("{_b64(kimi)}")\nM = b64decode("{_b64(moon)}")\n'
    # Base64 in source code is decoded only where the file names Moonshot or a Kimi
    # endpoint, or holds the base64 of a long Kimi name (the Kimi key's `sk-kimi-`); in
    # configuration files always.
    moon_only = f'M = b64decode("{_b64(moon)}")\n'
    assert detect(Content(path="app/keys.py", data=moon_only.encode())) == []
    found = detect(Content(path="app/keys.py", data=code.encode()))
    assert [f.secret for f in found] == [kimi, moon]
    with_context = code + "BASE = 'https://api.moonshot.cn/v1'\n"
    found = detect(Content(path="app/keys.py", data=with_context.encode()))
    assert [f.secret for f in found] == [kimi, moon]
    found = detect(Content(path="deploy/values.yaml", data=code.encode()))
    assert [f.secret for f in found] == [kimi, moon]
