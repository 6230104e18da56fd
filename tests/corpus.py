"""A labelled corpus of leak shapes and hard negatives, generated at run time.

No key literal is committed: every key is built from a seeded random generator when the
corpus is generated, so the same seed gives the same corpus. Shared by tests/test_corpus.py
(which requires 100 % recall and no false positive) and bench/precision.py (which prints
precision and recall per rule).
"""

from __future__ import annotations

import base64
import json
import random
import string
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from tests import keygen

KIMI_CODE = "kimi-code-api-key"
MOONSHOT = "moonshot-api-key"
UNUSUAL = "kimi-key-unusual-shape"
ASSIGNED = "kimi-assigned-key"
HEADER = "kimi-auth-header"


@dataclass(frozen=True)
class Expect:
    rule: str
    secret: str
    line: int
    column: int | None = None  # checked when given
    encoding: str | None = None  # checked when given; "" means plain (None in the finding)
    confidence: str | None = None  # checked when given ("low", "medium", "high")


@dataclass(frozen=True)
class Case:
    name: str
    path: str
    data: bytes
    expected: tuple[Expect, ...] = ()
    shape: str = ""


@dataclass
class _Keys:
    rng: random.Random
    used: list[str] = field(default_factory=list)

    def moonshot(self) -> str:
        return keygen.moonshot_key(self.rng)

    def kimi(self) -> str:
        return keygen.kimi_code_key(self.rng)

    def body(self, n: int) -> str:
        return keygen.body(n, self.rng)


def _locate(text: str, needle: str) -> tuple[int, int]:
    at = text.index(needle)
    line = text.count("\n", 0, at) + 1
    column = at - (text.rfind("\n", 0, at) + 1) + 1
    return line, column


def _plain(
    name: str,
    path: str,
    text: str,
    key: str,
    rule: str,
    shape: str,
    encoding: str = "",
    data: bytes | None = None,
) -> Case:
    line, column = _locate(text, key)
    return Case(
        name,
        path,
        text.encode() if data is None else data,
        (Expect(rule, key, line, column, encoding),),
        shape,
    )


def _at(
    name: str,
    path: str,
    text: str,
    marker: str,
    key: str,
    rule: str,
    shape: str,
    encoding: str | None = None,
    column: bool = True,
) -> Case:
    """A key hidden in `text`, reported where `marker` (its encoded or split form) starts."""
    line, col = _locate(text, marker)
    return Case(
        name,
        path,
        text.encode(),
        (Expect(rule, key, line, col if column else None, encoding),),
        shape,
    )


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def positives(seed: int = 6) -> list[Case]:
    k = _Keys(random.Random(seed))
    cases: list[Case] = []
    add = cases.append

    m = k.moonshot()
    add(
        _plain(
            "python-client",
            "app/client.py",
            f'from openai import OpenAI\n\nclient = OpenAI(api_key="{m}", '
            'base_url="https://api.moonshot.cn/v1")\n',
            m,
            MOONSHOT,
            "literal in client ctor",
        )
    )
    m = k.moonshot()
    add(
        _plain(
            "python-commented",
            "llm/model.py",
            f'class MoonshotChat:\n    # api_key = "{m}"\n    pass\n',
            m,
            MOONSHOT,
            "commented-out literal",
        )
    )
    m = k.moonshot()
    add(
        _plain(
            "js-const",
            "test-moonshot-api.js",
            f"const MOONSHOT_API_KEY = '{m}';\n"
            "fetch('https://api.moonshot.cn/v1/chat/completions');\n",
            m,
            MOONSHOT,
            "JS constant",
        )
    )
    c = k.kimi()
    add(
        _plain(
            "cjs-kimi-code",
            "test-coding-models.cjs",
            f"const API_KEY = '{c}';\nawait fetch('https://api.kimi.com/coding/v1/models');\n",
            c,
            KIMI_CODE,
            "JS constant (Kimi Code)",
        )
    )
    c = k.kimi()
    add(
        _plain(
            "python-fstring-header",
            "check_key.py",
            "import requests\nr = requests.get('https://api.moonshot.cn/v1/models',\n"
            f'    headers={{"Authorization": "Bearer {c}"}})\n',
            c,
            KIMI_CODE,
            "header map",
        )
    )
    m = k.moonshot()
    add(
        _plain(
            "markdown-env",
            "KIMI_K2_INTEGRATION_COMPLETE.md",
            f"# Setup\n\n```env\nKIMI_K2_API_KEY={m}\nKIMI_K2_BASE_URL=https://api.moonshot.ai/v1\n```\n",
            m,
            MOONSHOT,
            ".env block in Markdown",
        )
    )
    c = k.kimi()
    add(_plain("dotenv", ".env", f"# kimi\nKIMI_API_KEY={c}\nDEBUG=1\n", c, KIMI_CODE, ".env"))
    c = k.kimi()
    add(
        _plain(
            "audit-markdown",
            "docs/SECURITY-AUDIT-REPORT.md",
            f"## Finding 1\n\nThe key `{c}` was committed in `archive/.env`.\n",
            c,
            KIMI_CODE,
            "re-leak in an audit document",
        )
    )
    c = k.kimi()
    add(
        _plain(
            "powershell-utf8",
            "profile.ps1",
            f'$env:KIMI_API_KEY = "{c}"\n',
            c,
            KIMI_CODE,
            "PowerShell profile",
        )
    )
    c = k.kimi()
    text = f'# kimi\r\n$env:KIMI_API_KEY = "{c}"\r\n'
    add(
        _plain(
            "powershell-utf16-bom",
            "profile-utf16.ps1",
            text,
            c,
            KIMI_CODE,
            "UTF-16 LE with BOM (PowerShell default)",
            "utf-16",
            data=text.encode("utf-16"),
        )
    )
    m = k.moonshot()
    text = f"MOONSHOT_API_KEY={m}\n"
    add(
        _plain(
            "utf16-le-no-bom",
            "env-utf16.txt",
            text,
            m,
            MOONSHOT,
            "UTF-16 LE without BOM",
            "utf-16",
            data=text.encode("utf-16-le"),
        )
    )
    c = k.kimi()
    text = f"set KIMI_API_KEY={c}\r\n"
    add(
        _plain(
            "utf16-be-bom",
            "setenv.cmd",
            text,
            c,
            KIMI_CODE,
            "UTF-16 BE with BOM",
            "utf-16",
            data=b"\xfe\xff" + text.encode("utf-16-be"),
        )
    )
    c = k.kimi()
    text = f"// kimi\nconst key = '{c}';\n"
    add(
        _plain(
            "utf32",
            "key-utf32.js",
            text,
            c,
            KIMI_CODE,
            "UTF-32 with BOM",
            "utf-32",
            data=text.encode("utf-32"),
        )
    )
    m = k.moonshot()
    add(
        _plain(
            "env-fallback",
            "api/config.js",
            f'export const key = process.env.MOONSHOT_API_KEY || "{m}";\n',
            m,
            MOONSHOT,
            "fallback literal after env lookup",
        )
    )
    c = k.kimi()
    add(
        _plain(
            "worker-proxy",
            "worker.ts",
            "export default { async fetch(req: Request) {\n"
            "  return fetch('https://api.kimi.com/coding/v1/chat/completions', {\n"
            f'    headers: {{ "Authorization": "Bearer {c}" }} }});\n}} }};\n',
            c,
            KIMI_CODE,
            "hard-coded header in a proxy",
        )
    )
    m = k.moonshot()
    nb = {
        "cells": [
            {
                "cell_type": "code",
                "source": [
                    "from openai import OpenAI\n",
                    "client = OpenAI(\n",
                    f'        api_key="{m}",\n',
                    '        base_url="https://api.moonshot.cn/v1",\n',
                    ")\n",
                ],
                "outputs": [],
            }
        ],
        "nbformat": 4,
    }
    text = json.dumps(nb, indent=1)
    add(_plain("notebook-source", "kimi.ipynb", text, m, MOONSHOT, "notebook cell source"))
    c = k.kimi()
    nb = {
        "cells": [
            {
                "cell_type": "code",
                "source": ["print(key)\n"],
                "outputs": [{"name": "stdout", "output_type": "stream", "text": [f"{c}\n"]}],
            }
        ]
    }
    text = json.dumps(nb, indent=1)
    add(_plain("notebook-output", "out.ipynb", text, c, KIMI_CODE, "notebook output"))
    c = k.kimi()
    image = base64.b64encode(k.rng.randbytes(30000)).decode()
    nb = {
        "cells": [
            {
                "cell_type": "code",
                "source": [f'KEY = "{c}"\n', "plot()\n"],
                "outputs": [
                    {
                        "output_type": "display_data",
                        "data": {"image/png": image, "text/plain": ["<Figure>"]},
                    }
                ],
            }
        ]
    }
    text = json.dumps(nb, indent=1)
    add(
        _plain(
            "notebook-with-image",
            "plot.ipynb",
            text,
            c,
            KIMI_CODE,
            "notebook with a base64 image output",
        )
    )
    m = k.moonshot()
    add(
        _plain(
            "yaml-provider",
            "config.yaml",
            f"providers:\n  moonshot:\n    api_key: {m}\n    model: moonshot-v1-8k\n",
            m,
            MOONSHOT,
            "YAML config",
        )
    )
    c = k.kimi()
    add(
        _plain(
            "toml-kimi-code",
            ".kimi-code/config.toml",
            f'[providers.kimi]\napi_key = "{c}"\n',
            c,
            KIMI_CODE,
            "TOML config",
        )
    )
    m = k.moonshot()
    add(
        _plain(
            "json-auth-profiles",
            "auth-profiles.json",
            json.dumps({"moonshot": {"apiKey": m}}, indent=2),
            m,
            MOONSHOT,
            "JSON config",
        )
    )
    m = k.moonshot()
    add(
        _plain(
            "go-client",
            "main.go",
            'cfg := openai.DefaultConfig("' + m + '")\n'
            'cfg.BaseURL = "https://api.moonshot.cn/v1"\n',
            m,
            MOONSHOT,
            "Go",
        )
    )
    c = k.kimi()
    add(
        _plain("java", "Kimi.java", f'class Kimi {{ String key = "{c}"; }}\n', c, KIMI_CODE, "Java")
    )
    m = k.moonshot()
    add(_plain("rust", "src/main.rs", f'let key = "{m}"; // kimi\n', m, MOONSHOT, "Rust"))
    m = k.moonshot()
    add(
        _plain(
            "dockerfile-env",
            "Dockerfile",
            f"FROM python:3.12\nENV MOONSHOT_API_KEY={m}\n",
            m,
            MOONSHOT,
            "Dockerfile ENV",
        )
    )
    c = k.kimi()
    add(
        _plain(
            "gha-env",
            ".github/workflows/ci.yml",
            f"jobs:\n  t:\n    env:\n      KIMI_API_KEY: {c}\n",
            c,
            KIMI_CODE,
            "CI workflow",
        )
    )
    m = k.moonshot()
    add(
        _plain(
            "compose",
            "docker-compose.yml",
            f"services:\n  app:\n    environment:\n      - MOONSHOT_API_KEY={m}\n",
            m,
            MOONSHOT,
            "docker-compose",
        )
    )
    c = k.kimi()
    add(
        _plain(
            "claude-code-env",
            "claude_kimi.sh",
            f"export ANTHROPIC_AUTH_TOKEN={c}\n"
            "export ANTHROPIC_BASE_URL=https://api.kimi.com/coding/\n",
            c,
            KIMI_CODE,
            "Claude Code on Kimi",
        )
    )
    c = k.kimi()
    add(
        _plain(
            "x-api-key",
            "call.sh",
            f"curl https://api.kimi.com/coding/v1/messages -H 'x-api-key: {c}'\n",
            c,
            KIMI_CODE,
            "x-api-key header",
        )
    )
    m = k.moonshot()
    add(
        _plain(
            "crlf-bat",
            "setkey.bat",
            f"@echo off\r\nset MOONSHOT_API_KEY={m}\r\n",
            m,
            MOONSHOT,
            "CRLF line endings",
        )
    )
    c = k.kimi()
    filler = ";".join(f"var a{i}=function(b){{return b*{i}}}" for i in range(400))
    add(
        _plain(
            "minified-js",
            "dist/app.min.js",
            f'{filler};var k="{c}";{filler}',
            c,
            KIMI_CODE,
            "very long minified line",
        )
    )
    m = k.moonshot()
    add(
        _plain(
            "multibyte-prefix",
            "config.py",
            f'# 月之暗面 Kimi 密钥\nKEY = "{m}"  # 密钥\n',
            m,
            MOONSHOT,
            "multi-byte text before the key",
        )
    )
    m = k.moonshot()
    add(
        _plain(
            "multibyte-same-line",
            "readme_zh.md",
            f"月之暗面密钥：{m}（勿泄露）\n",
            m,
            MOONSHOT,
            "column counted in characters",
        )
    )
    m = k.moonshot()
    add(
        _plain(
            "url-query",
            "client.js",
            f"fetch('https://relay.example.com/v1/chat?api_key={m}&model=moonshot-v1-8k')\n",
            m,
            MOONSHOT,
            "key in a query string",
        )
    )
    m = k.moonshot()
    enc = m.replace("sk-", "sk%2D", 1)
    add(
        _at(
            "url-percent-hyphen",
            "proxy.py",
            f'URL = "https://relay.example.com/v1?model=kimi&api_key={enc}"\n',
            enc,
            m,
            MOONSHOT,
            "percent-encoded key",
            "percent",
        )
    )
    m = k.moonshot()
    inner = urllib.parse.quote(f"https://relay.example.com/?api_key={m}&m=kimi", safe="")
    add(
        _plain(
            "url-encoded-url",
            "redirect.txt",
            f"https://login.example.com/?next={inner}\n",
            m,
            MOONSHOT,
            "encoded URL inside a URL",
        )
    )
    m = k.moonshot()
    enc = m.replace("sk-", "sk%252D", 1)
    add(
        _at(
            "url-double-percent",
            "double.txt",
            f"moonshot: https://x.example/?k={enc}\n",
            enc,
            m,
            MOONSHOT,
            "double percent-encoding",
            "percent+percent",
        )
    )
    c = k.kimi()
    enc = c.replace("-", "\\u002d")
    add(
        _at(
            "json-unicode-escape",
            "settings.json",
            f'{{"kimi": {{"key": "{enc}"}}}}\n',
            enc,
            c,
            KIMI_CODE,
            "JSON \\u002d escapes",
            "escape",
        )
    )
    m = k.moonshot()
    enc = m.replace("-", "\\x2d")
    add(
        _at(
            "js-hex-escape",
            "obf.js",
            f'const moonshotKey = "{enc}";\n',
            enc,
            m,
            MOONSHOT,
            "JS \\x2d escape",
            "escape",
        )
    )
    c = k.kimi()
    enc = c.replace("-", "&#45;")
    add(
        _at(
            "html-entity",
            "page.html",
            f'<meta name="kimi-key" content="{enc}">\n',
            enc,
            c,
            KIMI_CODE,
            "HTML character references",
            "html-entity",
        )
    )
    m = k.moonshot()
    add(
        _at(
            "concat-one-line",
            "concat.py",
            f'key = "sk-" + "{m[3:]}"  # moonshot\n',
            'sk-" +',
            m,
            MOONSHOT,
            "string concatenation",
        )
    )
    c = k.kimi()
    add(
        _at(
            "concat-two-lines",
            "concat.js",
            f"const k = '{c[:30]}' +\n  '{c[30:]}';\n",
            f"'{c[:30]}",
            c,
            KIMI_CODE,
            "concatenation over two lines",
            column=False,
        )
    )
    m = k.moonshot()
    add(
        _at(
            "implicit-concat",
            "implicit.py",
            f'MOONSHOT_KEY = (\n    "{m[:25]}"\n    "{m[25:]}"\n)\n',
            m[:25],
            m,
            MOONSHOT,
            "implicit concatenation",
        )
    )
    m = k.moonshot()
    add(
        _at(
            "curl-split",
            "token.sh",
            "curl https://api.moonshot.cn/v1/users/me/balance \\\n"
            '  -H "Authorization: Bearer sk-\n'
            f'{m[3:]}"\n',
            "sk-\n",
            m,
            MOONSHOT,
            "key split across lines (curl)",
        )
    )
    c = k.kimi()
    add(
        _at(
            "shell-continuation",
            "run.sh",
            f'export KIMI_API_KEY="{c[:20]}\\\n{c[20:]}"\n',
            c[:20],
            c,
            KIMI_CODE,
            "shell line continuation",
        )
    )
    m = k.moonshot()
    nb = {
        "cells": [
            {
                "cell_type": "code",
                "source": [
                    'headers = {"Authorization": "Bearer sk-\n',
                    f'{m[3:]}"}}\n',
                    "url = 'https://api.moonshot.cn/v1'\n",
                ],
            }
        ]
    }
    text = json.dumps(nb, indent=1)
    add(
        _at(
            "notebook-split",
            "split.ipynb",
            text,
            "sk-\\n",
            m,
            MOONSHOT,
            "key split across notebook source lines",
        )
    )
    c = k.kimi()
    enc = _b64(c)
    add(
        _at(
            "k8s-secret",
            "k8s/secret.yaml",
            f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: kimi\ndata:\n  api-key: {enc}\n",
            enc,
            c,
            KIMI_CODE,
            "Kubernetes Secret data",
            "base64",
        )
    )
    m = k.moonshot()
    enc = _b64(m + "\n")
    add(
        _at(
            "k8s-secret-newline",
            "k8s/moonshot.yaml",
            f"kind: Secret\nmetadata:\n  name: moonshot-credentials\ndata:\n  key: {enc}\n",
            enc,
            m,
            MOONSHOT,
            "base64 of `echo` output (trailing newline)",
            "base64",
        )
    )
    c = k.kimi()
    auth = _b64(f"robot:{c}")
    cfg = json.dumps({"auths": {"registry.example.com": {"auth": auth}}})
    enc = _b64(cfg)
    add(
        _at(
            "dockerconfigjson-auth",
            "k8s/pull-secret.yaml",
            "kind: Secret\ntype: kubernetes.io/dockerconfigjson\n"
            f"data:\n  .dockerconfigjson: {enc}\n",
            enc,
            c,
            KIMI_CODE,
            ".dockerconfigjson auth (base64 in base64)",
            "base64+base64",
            column=False,
        )
    )
    c = k.kimi()
    cfg = json.dumps({"auths": {"r.example.com": {"username": "u", "password": c}}})
    enc = _b64(cfg)
    add(
        _at(
            "dockerconfigjson-password",
            "pull.yaml",
            f".dockerconfigjson: {enc}\n",
            enc,
            c,
            KIMI_CODE,
            ".dockerconfigjson password",
            "base64",
            column=False,
        )
    )
    c = k.kimi()
    auth = _b64(f"me:{c}")
    text = json.dumps({"auths": {"https://index.docker.io/v1/": {"auth": auth}}}, indent="\t")
    add(
        _at(
            "docker-config-auth",
            ".docker/config.json",
            text,
            auth,
            c,
            KIMI_CODE,
            "docker config.json auth",
            "base64",
            column=False,
        )
    )
    m = k.moonshot()
    auth = _b64(f"user:{m}")
    add(
        _at(
            "basic-auth",
            "basic.http",
            f"GET https://api.moonshot.cn/v1/models\nAuthorization: Basic {auth}\n",
            auth,
            m,
            MOONSHOT,
            "basic-auth header",
            "base64",
            column=False,
        )
    )
    c = k.kimi()
    wrapped = base64.encodebytes(f"# kimi\nKIMI_API_KEY={c}\nOTHER=1\n".encode()).decode()
    add(
        Case(
            "base64-wrapped",
            "env.b64",
            wrapped.encode(),
            (Expect(KIMI_CODE, c, 1, None, "base64"),),
            "base64 wrapped at 76 columns",
        )
    )
    m = k.moonshot()
    enc = _b64(f"url=https://relay.example/?api_key={m.replace('sk-', 'sk%2D', 1)}&m=kimi")
    add(
        _at(
            "percent-in-base64",
            "blob.txt",
            f"payload: {enc}\n",
            enc,
            m,
            MOONSHOT,
            "percent-encoding inside base64",
            "base64+percent",
            column=False,
        )
    )
    c = k.kimi()
    add(
        _plain(
            "escaped-json-in-json",
            "event.json",
            json.dumps({"body": json.dumps({"kimi_api_key": c})}),
            c,
            KIMI_CODE,
            "JSON string inside JSON",
        )
    )
    m = k.moonshot()
    add(
        _plain(
            "k8s-stringdata",
            "k8s/string.yaml",
            f"kind: Secret\nstringData:\n  MOONSHOT_API_KEY: {m}\n",
            m,
            MOONSHOT,
            "stringData",
        )
    )
    c = k.kimi()
    add(
        _plain("helm-values", "values.yaml", f"kimi:\n  apiKey: {c}\n", c, KIMI_CODE, "Helm values")
    )
    m = k.moonshot()
    add(
        _plain(
            "terraform",
            "main.tf",
            f'variable "moonshot_api_key" {{\n  default = "{m}"\n}}\n',
            m,
            MOONSHOT,
            "Terraform",
        )
    )
    c = k.kimi()
    add(_plain("php", "config.php", f"<?php\n$kimi_key = '{c}';\n", c, KIMI_CODE, "PHP"))
    m = k.moonshot()
    add(_plain("ruby", "init.rb", f"ENV['MOONSHOT_API_KEY'] ||= '{m}'\n", m, MOONSHOT, "Ruby"))
    m = k.moonshot()
    add(_plain("csharp", "Program.cs", f'var apiKey = "{m}"; // Moonshot\n', m, MOONSHOT, "C#"))
    m = k.moonshot()
    add(
        _plain(
            "xml-config",
            "app.config",
            f'<appSettings>\n  <add key="MoonshotApiKey" value="{m}" />\n</appSettings>\n',
            m,
            MOONSHOT,
            "XML",
        )
    )
    c = k.kimi()
    add(
        _plain(
            "properties",
            "application.properties",
            f"kimi.api.key={c}\n",
            c,
            KIMI_CODE,
            "Java properties",
        )
    )
    m = k.moonshot()
    add(_plain("ini", "settings.ini", f"[moonshot]\napi_key = {m}\n", m, MOONSHOT, "INI"))
    c = k.kimi()
    add(
        _plain(
            "log-line",
            "debug.log",
            f"DEBUG headers={{'Authorization': 'Bearer {c}'}}\n",
            c,
            KIMI_CODE,
            "log file",
        )
    )
    c = k.kimi()
    add(
        _plain(
            "commit-message",
            "COMMIT_EDITMSG",
            f"Rotate the key\n\nold one was {c}\n",
            c,
            KIMI_CODE,
            "commit message",
        )
    )
    m = k.moonshot()
    add(
        _plain(
            "no-context",
            "settings.py",
            f'LLM_TOKEN = "{m}"\n',
            m,
            MOONSHOT,
            "Moonshot shape without context (medium)",
        )
    )
    token = keygen.other_sk_token(32, k.rng)
    add(
        _plain(
            "assigned-odd-shape",
            ".env.local",
            f"KIMI_API_KEY={token}\n",
            token,
            ASSIGNED,
            "non-standard sk- token assigned to a Kimi variable",
        )
    )
    bearer = k.body(40)
    add(
        _plain(
            "header-non-sk",
            "models.sh",
            f'curl https://api.kimi.com/coding/v1/models -H "Authorization: Bearer {bearer}"\n',
            bearer,
            HEADER,
            "non-sk token in a Kimi header",
        )
    )
    odd = "sk-kimi-" + k.body(60)
    add(
        _plain(
            "unusual-kimi",
            "odd.txt",
            f"token: {odd}\n",
            odd,
            UNUSUAL,
            "sk-kimi- key of an unusual length",
        )
    )
    c = k.kimi()
    add(
        _plain(
            "markdown-bold",
            "README.md",
            f"**API Key:** `{c}`\n",
            c,
            KIMI_CODE,
            "Markdown inline code",
        )
    )
    cases += _kimi_settings(k)
    cases += _chinese_context(k)
    cases += _placeholder_lookalikes(k)
    return cases


def _expect(
    name: str, path: str, text: str, key: str, rule: str, shape: str, confidence: str, **kw: Any
) -> Case:
    """A plain key at its place, with the confidence it must be reported at."""
    line, column = _locate(text, key)
    data = kw.get("data") or text.encode()
    encoding = kw.get("encoding", "")
    return Case(name, path, data, (Expect(rule, key, line, column, encoding, confidence),), shape)


def _hex(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


def _kimi_settings(k: _Keys) -> list[Case]:
    """Round two (issue 16): a setting named for Kimi holding a value of any vendor's shape."""
    rng = k.rng
    out: list[Case] = []
    word = string.ascii_letters + string.digits + "_-"
    deepseek = "sk-" + _hex(rng, 32)
    out.append(
        _expect(
            "kimi-setting-deepseek-shape",
            ".env",
            f"KIMI_API_KEY={deepseek}\n",
            deepseek,
            ASSIGNED,
            "sk- + 32 hex in KIMI_API_KEY",
            "medium",
        )
    )
    bare = _hex(rng, 32)
    out.append(
        _expect(
            "moonshot-setting-bare-hex",
            "deploy/.env.production",
            f"# relay\nMOONSHOT_API_KEY={bare}\n",
            bare,
            ASSIGNED,
            "32 hex digits in MOONSHOT_API_KEY",
            "medium",
        )
    )
    bare = _hex(rng, 32)
    out.append(
        _expect(
            "kimi-setting-json-hex",
            "config.json",
            json.dumps({"providers": {"moonshot_api_key": bare}}, indent=2) + "\n",
            bare,
            ASSIGNED,
            "32 hex digits in a JSON setting",
            "medium",
        )
    )
    google = "AIza" + k.body(35)
    out.append(
        _expect(
            "kimi-setting-google-shape",
            "settings.yaml",
            f"llm:\n  kimi_api_key: {google}\n",
            google,
            ASSIGNED,
            "Google key shape in kimi_api_key",
            "medium",
        )
    )
    litellm = "sk-" + k.body(9) + "_" + k.body(6) + "-" + k.body(5)
    out.append(
        _expect(
            "kimi-setting-litellm-shape",
            "docker-compose.yml",
            f"services:\n  app:\n    environment:\n      - KIMI_API_KEY={litellm}\n",
            litellm,
            ASSIGNED,
            "LiteLLM virtual key in KIMI_API_KEY",
            "medium",
        )
    )
    zhipu = _hex(rng, 32) + "." + k.body(16)
    out.append(
        _expect(
            "kimi-setting-zhipu-shape",
            "app.py",
            f'MOONSHOT_API_KEY = "{zhipu}"\n',
            zhipu,
            ASSIGNED,
            "Zhipu key shape in MOONSHOT_API_KEY",
            "medium",
        )
    )
    svcacct = "sk-svcacct-" + "".join(rng.choice(word) for _ in range(60))
    out.append(
        _expect(
            "openai-svcacct",
            "svc.env",
            f"KIMI_API_KEY={svcacct}\n",
            svcacct,
            ASSIGNED,
            "OpenAI service account in KIMI_API_KEY",
            "medium",
        )
    )
    ds = "sk-" + _hex(rng, 32)
    out.append(
        _expect(
            "kimi-setting-ts",
            "src/config.ts",
            f'export const kimiApiKey: string = "{ds}";\n',
            ds,
            ASSIGNED,
            "TypeScript constant named for Kimi",
            "medium",
        )
    )
    silicon = "sk-" + "".join(rng.choice(string.ascii_lowercase) for _ in range(48))
    out.append(
        _expect(
            "kimi-setting-siliconflow-shape",
            ".env",
            f"MOONSHOT_API_KEY={silicon}\n",
            silicon,
            ASSIGNED,
            "SiliconFlow shape (letters only) in MOONSHOT_API_KEY",
            "medium",
        )
    )
    # A setting named for another provider, tied to Kimi by the endpoint the code calls.
    relay = "sk-" + k.body(10) + "_" + k.body(11)
    text = f"OPENAI_BASE_URL=https://api.moonshot.cn/v1\nOPENAI_API_KEY={relay}\n"
    out.append(
        _expect(
            "openai-named-moonshot-endpoint",
            ".env",
            text,
            relay,
            ASSIGNED,
            "OPENAI_API_KEY with a Moonshot base URL",
            "medium",
        )
    )
    return out


def _chinese_context(k: _Keys) -> list[Case]:
    """Round two (issue 16): 月之暗面 as context, in the spellings the decoders read."""
    out: list[Case] = []
    m = k.moonshot()
    out.append(
        _expect(
            "zh-utf8-context",
            "docs/快速开始.md",
            f"## 月之暗面开放平台\n\n```bash\nexport API_KEY={m}\n```\n",
            m,
            MOONSHOT,
            "Chinese heading as the only context",
            "high",
        )
    )
    m = k.moonshot()
    text = json.dumps({"provider": "月之暗面", "model": "default", "api_key": m}) + "\n"
    out.append(
        _expect(
            "zh-json-escaped-context",
            "providers.json",
            text,
            m,
            MOONSHOT,
            "json.dumps escapes 月之暗面 as \\u6708…",
            "high",
        )
    )
    m = k.moonshot()
    text = f'# 北京月之暗面科技有限公司\r\n$env:API_KEY = "{m}"\r\n'
    line, column = _locate(text, m)
    out.append(
        Case(
            "zh-utf16-context",
            "profile.ps1",
            text.encode("utf-16"),
            (Expect(MOONSHOT, m, line, column, "utf-16", "high"),),
            "UTF-16 PowerShell profile with a Chinese comment",
        )
    )
    m = k.moonshot()
    q = urllib.parse.quote("月之暗面")
    out.append(
        _expect(
            "zh-percent-context",
            "requests.log",
            f"GET /relay?vendor={q}&key={m} HTTP/1.1\n",
            m,
            MOONSHOT,
            "percent-encoded 月之暗面 in a URL",
            "high",
        )
    )
    m = k.moonshot()
    out.append(
        _expect(
            "zh-entity-context",
            "index.html",
            "<p>&#26376;&#20043;&#26263;&#38754; API</p>\n<code>" + m + "</code>\n",
            m,
            MOONSHOT,
            "HTML entities for 月之暗面",
            "high",
        )
    )
    m = k.moonshot()
    out.append(
        _expect(
            "zh-pinyin-context",
            "settings.py",
            f'PROVIDER = "yuezhianmian"\nAPI_KEY = "{m}"\n',
            m,
            MOONSHOT,
            "pinyin name as context",
            "high",
        )
    )
    ds = "sk-" + _hex(k.rng, 32)
    out.append(
        _expect(
            "zh-named-setting",
            "config.yaml",
            f"月之暗面密钥: {ds}\n",
            ds,
            ASSIGNED,
            "a setting named in Chinese",
            "medium",
        )
    )
    return out


def _placeholder_lookalikes(k: _Keys) -> list[Case]:
    """Round two (issue 16): random keys that start or hold what a placeholder has."""
    out: list[Case] = []
    for i, start in enumerate(("test", "Demo", "abcd", "your", "FAKE", "1234")):
        key = "sk-" + start + k.body(44)
        out.append(
            _expect(
                f"lookalike-start-{i}",
                "kimi.env",
                f"MOONSHOT_API_KEY={key}\n",
                key,
                MOONSHOT,
                f"random key starting with {start}",
                "high",
            )
        )
    body = k.body(64)
    key = "sk-kimi-" + body[:30] + "zzzzz" + body[35:]
    out.append(
        _expect(
            "lookalike-run-kimi",
            "claude.json",
            json.dumps({"env": {"ANTHROPIC_AUTH_TOKEN": key}}) + "\n",
            key,
            KIMI_CODE,
            "Kimi Code key holding a five-character run",
            "high",
        )
    )
    return out


def _one_api(rng: random.Random) -> str:
    head = keygen.body(16, rng)
    tail = "".join(
        rng.choice("0123456789ABCDEF") if i % 2 == 0 else rng.choice("0123456789abcdef")
        for i in range(32)
    )
    return "sk-" + head + tail


def _chars(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def negatives(seed: int = 60) -> list[Case]:
    rng = random.Random(seed)
    lower_alnum = string.ascii_lowercase + string.digits
    word = string.ascii_letters + string.digits + "_-"
    hexd = "0123456789abcdef"
    cases: list[Case] = []

    def add(name: str, path: str, text: str | bytes, shape: str) -> None:
        data = text.encode() if isinstance(text, str) else text
        cases.append(Case(name, path, data, (), shape))

    moon_ctx = "# https://api.moonshot.cn/v1 (kimi)\n"
    add(
        "x-placeholder",
        "README.md",
        moon_ctx + "MOONSHOT_API_KEY=sk-" + "x" * 48 + "\n",
        "placeholder of x",
    )
    add(
        "kimi-x-placeholder",
        "issue.md",
        "ANTHROPIC_API_KEY=sk-kimi-" + "x" * 64 + "\n",
        "Kimi-K2 issue placeholder",
    )
    add("your-key", "docs.md", moon_ctx + 'api_key="sk-your-kimi-api-key"\n', "sk-your-…")
    add("dots", "docs2.md", moon_ctx + "KIMI_API_KEY=sk-...\n", "sk-...")
    add("stars", "docs3.md", moon_ctx + "KIMI_API_KEY=sk-***\n", "sk-***")
    add("folotoy-test", "moonshot.md", moon_ctx + "api_key: sk-TESTAAAAAAAAAAAAa\n", "FoloToy")
    add("folotoy-a", "moonshot2.md", moon_ctx + "api_key: sk-AAAAAAAAAAAAA\n", "FoloToy")
    add(
        "env-vars",
        "run.sh",
        moon_ctx + 'curl -H "Authorization: Bearer $MOONSHOT_API_KEY" https://api.moonshot.cn/v1\n'
        'export KIMI_API_KEY="${KIMI_API_KEY}"\nkey = "{api_key}"\nKEY=<your-key>\n',
        "variables and templates",
    )
    add(
        "masked-kimi",
        "Claude.md",
        '$env:KEY_KIMI = "sk-kimi-' + _chars(rng, string.ascii_letters, 27) + '-***"\n'
        "ANTHROPIC_BASE_URL=https://api.kimi.com/coding\n",
        "masked Kimi Code key",
    )
    add(
        "masked-ellipsis",
        "notes.md",
        "key: sk-kimi-" + _chars(rng, string.ascii_letters, 6) + "…\n",
        "sk-kimi-abcd…",
    )
    add(
        "kimi-abc123",
        "test_keys.py",
        'assert is_kimi("sk-kimi-abc123")\nx = "sk-kimi-not-this"\n',
        "test fixtures",
    )
    add(
        "openai-legacy",
        "openai.py",
        moon_ctx + f'OPENAI_API_KEY = "{keygen.openai_legacy_key()}"\n',
        "OpenAI legacy (T3BlbkFJ)",
    )
    proj = "sk-proj-" + _chars(rng, word, 74) + "T3Blbk" + "FJ" + _chars(rng, word, 74)
    add("openai-project", "openai.env", f"OPENAI_API_KEY={proj}\n# kimi later\n", "OpenAI project")
    # (An OpenAI service-account key in KIMI_API_KEY is a positive since round two: whatever a
    # Kimi setting holds is reported; see _kimi_settings.)
    _chars(rng, word, 60)  # keeps the seeded sequence of the cases below unchanged
    add(
        "openai-admin", "admin.env", "key=sk-admin-" + _chars(rng, word, 120) + "\n", "OpenAI admin"
    )
    add(
        "openai-none",
        "none.env",
        "OPENAI_API_KEY=sk-None-" + keygen.body(48, rng) + "\n",
        "OpenAI sk-None-",
    )
    ant = "sk-ant-api03-" + _chars(rng, word, 93) + "AA"
    add("anthropic", "claude.py", f'ANTHROPIC_API_KEY = "{ant}"  # not kimi\n', "Anthropic")
    add(
        "anthropic-oat",
        "oat.env",
        "CLAUDE_CODE_OAUTH_TOKEN=sk-ant-oat01-" + _chars(rng, word, 80) + "\n",
        "Anthropic OAuth",
    )
    add(
        "deepseek",
        "deepseek.py",
        f'client = OpenAI(api_key="{keygen.deepseek_key()}", '
        'base_url="https://api.deepseek.com")\n',
        "DeepSeek",
    )
    add(
        "deepseek-kimi-ctx",
        "multi.py",
        moon_ctx + f'DEEPSEEK_KEY = "{keygen.deepseek_key()}"\n',
        "DeepSeek next to Kimi context",
    )
    add(
        "dashscope",
        "qwen.py",
        f'api_key="sk-{_chars(rng, hexd, 32)}"  '
        "# https://dashscope.aliyuncs.com/compatible-mode/v1\n",
        "DashScope",
    )
    add(
        "dashscope-sp",
        "qwen.env",
        "DASHSCOPE_API_KEY=sk-sp-" + keygen.body(40, rng) + "\n",
        "DashScope sk-sp-",
    )
    add(
        "siliconflow",
        "config.js",
        moon_ctx + "apiKey: 'sk-" + _chars(rng, string.ascii_lowercase, 48) + "'\n",
        "SiliconFlow (all lower-case)",
    )
    add(
        "openrouter",
        "or.env",
        "OPENROUTER_API_KEY=sk-or-v1-"
        + _chars(rng, hexd, 64)
        + "\n# moonshotai/kimi-k2 via openrouter\n",
        "OpenRouter",
    )
    add(
        "one-api",
        "test.sh",
        f"curl https://oneapi.example.com/v1 -H 'Authorization: Bearer {_one_api(rng)}'\n",
        "One-API relay",
    )
    add(
        "one-api-kimi-ctx",
        "relay.py",
        moon_ctx + f'key = "{_one_api(rng)}"\n',
        "One-API relay key next to Kimi context",
    )
    add("minimax", "mm.env", "MINIMAX_API_KEY=sk-api-" + _chars(rng, word, 119) + "\n", "MiniMax")
    add(
        "cerebras",
        "cb.env",
        moon_ctx + "CEREBRAS_API_KEY=csk-" + _chars(rng, lower_alnum, 48) + "\n",
        "Cerebras csk-",
    )
    add(
        "cerebras-mixed",
        "cb2.env",
        "key: csk-" + keygen.body(48, rng) + "\n",
        "csk- with a Moonshot-like body",
    )
    add(
        "stripe",
        "pay.py",
        moon_ctx + "stripe.api_key = 'sk_live_" + keygen.body(24, rng) + "'\n"
        "RK = 'rk_test_" + keygen.body(24, rng) + "'\n",
        "Stripe",
    )
    add(
        "groq-etc",
        "others.env",
        "GROQ_API_KEY=gsk_"
        + _chars(rng, string.ascii_uppercase, 52)
        + "\nPPLX=pplx-"
        + keygen.body(48, rng)
        + "\nXAI=xai-"
        + keygen.body(80, rng)
        + "\n",
        "Groq, Perplexity, xAI",
    )
    add(
        "slugs",
        "blog.md",
        "/posts/how-to-ask-sk-learn-questions\n"
        "desk-lamp, task-sk-" + keygen.body(48, rng) + ", risk-" + keygen.body(48, rng) + "\n",
        "slugs containing sk-",
    )
    add(
        "npm-lock",
        "package-lock.json",
        json.dumps(
            {
                "packages": {
                    "node_modules/disk-usage": {
                        "resolved": "https://registry.npmjs.org/disk-usage/-/disk-usage-1.0.0.tgz",
                        "integrity": "sha512-" + base64.b64encode(rng.randbytes(64)).decode(),
                    }
                }
            },
            indent=2,
        ),
        "lock file hashes",
    )
    add(
        "css-mask", "style.css", ".x { -webkit-mask-image: url(a.svg); mask-size: cover; }\n", "CSS"
    )
    add(
        "handles-keys",
        "client.py",
        'import os\nkey = os.environ["MOONSHOT_API_KEY"]\nif not key.startswith("sk-kimi-"):\n'
        '    raise ValueError("expected sk-kimi- + 64")\nassert len(key) == 72\n'
        'PATTERN = r"sk-[A-Za-z0-9]{48}"\nbase_url = "https://api.moonshot.cn/v1"\n',
        "code that handles keys",
    )
    add(
        "prefix-list",
        "vendors.py",
        'PREFIXES = ["sk-", "sk-proj-", "sk-ant-", "sk-kimi-"]  # kimi\n',
        "vendor prefix list",
    )
    add(
        "doc-format",
        "FORMATS.md",
        "Kimi keys look like `sk-` followed by 48 characters; Kimi "
        "Code keys are `sk-kimi-` + 64.\n",
        "format documentation",
    )
    add(
        "sequential",
        "seq.txt",
        moon_ctx + "KEY=sk-" + string.ascii_lowercase + string.ascii_uppercase[:22] + "\n",
        "sequential placeholder",
    )
    add("repeated-kimi", "rep.txt", "sk-kimi-" + "aB3d" * 16 + "\n", "repeated pattern")
    add("sk-hex-hash", "cache.txt", "cache: sk-" + _chars(rng, hexd, 64) + "\n", "hash after sk-")
    add(
        "uuid-jwt",
        "tokens.txt",
        "id="
        + "-".join(_chars(rng, hexd, n) for n in (8, 4, 4, 4, 12))
        + "\njwt=eyJhbGciOiJIUzI1NiJ9."
        + _b64('{"sub":"1"}').rstrip("=")
        + ".sig\n",
        "UUID and JWT",
    )
    image = base64.b64encode(rng.randbytes(200_000)).decode()
    nb = {
        "cells": [
            {
                "cell_type": "code",
                "source": ["plt.plot(x)\n"],
                "outputs": [{"output_type": "display_data", "data": {"image/png": image}}],
            }
        ]
    }
    add("notebook-image", "plot.ipynb", json.dumps(nb, indent=1), "notebook base64 image")
    add(
        "random-base64-trigger",
        "blob.b64",
        "data: c2st" + base64.b64encode(rng.randbytes(90)).decode() + "\n",
        "base64 that decodes to sk- and noise",
    )
    add(
        "b64-placeholder",
        "k8s/secret.yaml",
        "kind: Secret\ndata:\n  kimi: " + _b64("sk-kimi-" + "x" * 64) + "\n",
        "base64 placeholder",
    )
    add(
        "b64-basic-password",
        "basic.http",
        "GET https://api.moonshot.cn/v1/models\n"
        "Authorization: Basic " + _b64("user:correct horse battery staple") + "\n",
        "basic auth without a key",
    )
    add(
        "dockerconfig-no-key",
        "pull.yaml",
        ".dockerconfigjson: "
        + _b64(
            json.dumps(
                {"auths": {"r.example.com": {"auth": _b64("robot:" + keygen.body(30, rng))}}}
            )
        )
        + "\n",
        "Docker credentials without a Kimi key",
    )
    add(
        "percent-placeholder",
        "url.txt",
        moon_ctx + "https://x.example/?api_key=sk%2D" + "x" * 48 + "\n",
        "percent-encoded placeholder",
    )
    add(
        "escape-placeholder",
        "s.json",
        moon_ctx + '{"key": "sk\\u002d' + "x" * 48 + '"}\n',
        "escaped placeholder",
    )
    add(
        "utf16-placeholder",
        "p.ps1",
        ('$env:KIMI_API_KEY = "sk-kimi-' + "x" * 64 + '"\r\n').encode("utf-16"),
        "UTF-16 placeholder",
    )
    add(
        "split-placeholder",
        "sp.py",
        moon_ctx + 'key = "sk-" + "' + "x" * 48 + '"\n',
        "split placeholder",
    )
    add(
        "split-variable",
        "sv.py",
        moon_ctx + 'key = "sk-" + body\nother = "sk-" + "kimi-" + rest\n',
        "concatenation with variables",
    )
    add(
        "bearer-placeholder",
        "h.sh",
        "curl https://api.kimi.com/coding/v1/models "
        '-H "Authorization: Bearer YOUR_API_KEY_HERE_REPLACE_ME"\n',
        "header placeholder",
    )
    add(
        "bearer-no-kimi",
        "h2.sh",
        "curl https://api.example.com/v1/models "
        f'-H "Authorization: Bearer {keygen.body(40, rng)}"\n',
        "header token, no Kimi endpoint",
    )
    add(
        "aws-github",
        "creds.txt",
        "AKIA"
        + _chars(rng, string.ascii_uppercase + string.digits, 16)
        + "\nghp_"
        + keygen.body(36, rng)
        + "\nhf_"
        + keygen.body(34, rng)
        + "\n",
        "other services' tokens",
    )
    add(
        "lfs-pointer",
        "model.bin",
        "version https://git-lfs.github.com/spec/v1\noid sha256:"
        + _chars(rng, hexd, 64)
        + "\nsize 1234\n",
        "git LFS pointer",
    )
    add(
        "woff-base64",
        "font.css",
        "@font-face{src:url(data:font/woff2;base64,"
        + base64.b64encode(rng.randbytes(50_000)).decode()
        + ")}\n",
        "inline font",
    )
    add("binary-noise", "noise.bin", rng.randbytes(100_000), "random bytes")
    add("sk-sk-sk", "repeat.txt", "sk-" * 1000 + "\n", "repeated prefix")
    add(
        "kimi-sk-short",
        "short.env",
        "KIMI_API_KEY=sk-" + keygen.body(12, rng) + "\n",
        "too short to be a key",
    )
    add("scikit", "req.txt", "scikit-learn==1.5\nsk-video==1.1\nmask-rcnn\n", "package names")
    add(
        "html-escaped-placeholder",
        "p.html",
        moon_ctx + "<code>sk&#45;your&#45;key&#45;here</code>\n",
        "entity placeholder",
    )
    # Round two (issue 16): references and placeholders in settings named for Kimi.
    add(
        "kimi-setting-references",
        "app/settings.py",
        "KIMI_API_KEY = os.environ['KIMI_API_KEY']\n"
        "MOONSHOT_API_KEY = os.getenv('MOONSHOT_API_KEY', '')\n"
        "kimi_api_key = settings.kimi_api_key\n"
        "const kimiApiKey = process.env.KIMI_API_KEY_PRODUCTION\n"
        "KIMI_API_KEY=${KIMI_API_KEY}\n"
        "KIMI_API_KEY=$(cat /run/secrets/kimi)\n"
        "MOONSHOT_API_KEY=KIMI_API_KEY_FROM_VAULT_2024\n"
        "MOONSHOT_API_KEY_FILE=/run/secrets/moonshot_api_key\n"
        "kimi_token: {{ secrets.KIMI_TOKEN }}\n",
        "references, not values",
    )
    add(
        "kimi-setting-placeholders",
        ".env.example",
        "KIMI_API_KEY=your_kimi_api_key_here\n"
        "MOONSHOT_API_KEY=" + "0" * 32 + "\n"
        "KIMI_API_KEY=sk-" + "a" * 32 + "\n"
        "MOONSHOT_API_KEY=sk-0123456789abcdef0123456789abcdef\n"
        "KIMI_API_KEY=replace-with-your-key-from-platform\n"
        "KIMI_BASE_URL=https://api.moonshot.cn/v1\n"
        "KIMI_MODEL_NAME=kimi-k2-0905-preview\n"
        "MOONSHOT_API_KEY=sk-" + string.ascii_lowercase + string.ascii_lowercase[:22] + "\n",
        "placeholders in Kimi settings",
    )
    # The false positive of the real-repository run: a multi-provider template whose
    # OPENAI/GEMINI keys are LiteLLM virtual keys, with a commented Moonshot block 44 lines on.
    template = [
        "# LLM providers",
        "OPENAI_API_KEY=sk-" + keygen.body(10, rng) + "_" + keygen.body(11, rng),
    ]
    template.append("GEMINI_API_KEY=sk-" + keygen.body(12, rng) + "-" + keygen.body(9, rng))
    template += [f"# option {i}: see the provider's documentation" for i in range(42)]
    template += ["# Moonshot API (https://platform.moonshot.cn/)", "# MOONSHOT_API_KEY=", ""]
    add("litellm-template", ".env.template", "\n".join(template), "commented console URL")
    add(
        "openai-named-commented-endpoint",
        "config.py",
        "# base_url = 'https://api.moonshot.cn/v1'\n"
        "OPENAI_API_KEY = 'sk-" + keygen.body(30, rng) + "'\n",
        "another provider's setting, endpoint only in a comment",
    )
    add(
        "zh-placeholder",
        "教程.md",
        "月之暗面 API Key 示例：sk-" + "x" * 48 + "\n",
        "placeholder in Chinese docs",
    )
    # Terminal sequences beside `sk`-words and inside short tokens (review h12): raw, 8-bit,
    # `cat -v`'s caret spelling, and the ESC-less codes a browser's copy of a CI log leaves.
    add(
        "ci-log-web-copy",
        "ci.log",
        "[32mPASSED[0m tests/test_sk.py::test_task[1m-runner[0m risk[0m-free\n"
        "pip install scikit-learn[31m sk-learn[0m==1.4.2[0m sk-[0m"
        + _chars(rng, hexd, 12)
        + "[m[K x[1m]\n"
        "task\x1b(B-done disk\u009b1m-full s\x1b]0;title\x07k-short ^[[1msk^[[0m-ok\n",
        "colour codes beside sk-words",
    )
    add(
        "ci-log-openai-coloured",
        "ci.log",
        "export OPENAI_API_KEY=" + proj[:20] + "\x1b[0m" + proj[20:] + "[0m\n",
        "another provider's key cut by colour",
    )
    return cases


@dataclass
class Tally:
    true_positives: int = 0
    false_positives: int = 0
    false_negatives: int = 0

    @property
    def precision(self) -> float:
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else 1.0

    @property
    def recall(self) -> float:
        wanted = self.true_positives + self.false_negatives
        return self.true_positives / wanted if wanted else 1.0


@dataclass
class Outcome:
    case: Case
    missed: list[Expect]
    wrong: list[str]  # findings no expectation accounts for, described without the key


def evaluate(case: Case, findings: list[Any]) -> Outcome:
    """Match findings to expectations by key and line (and rule, column, encoding if given)."""
    missed: list[Expect] = []
    matched: set[int] = set()
    for want in case.expected:
        hit = None
        for i, f in enumerate(findings):
            if f.secret != want.secret or f.line != want.line or f.rule.id != want.rule:
                continue
            if want.column is not None and f.column != want.column:
                continue
            if want.encoding is not None and (f.encoding or "") != want.encoding:
                continue
            if want.confidence is not None and str(f.confidence) != want.confidence:
                continue
            hit = i
            break
        if hit is None:
            missed.append(want)
        else:
            matched.add(hit)
    # A key also reported at another column of the same line (the same credential in two
    # fields of one Docker config) is the same leak, not a false positive.
    wanted = {(w.secret, w.line, w.rule) for w in case.expected}
    wrong = [
        f"{f.rule.id} at {f.line}:{f.column} ({f.encoding or 'plain'})"
        for i, f in enumerate(findings)
        if i not in matched and (f.secret, f.line, f.rule.id) not in wanted
    ]
    return Outcome(case, missed, wrong)


def tally(outcomes: list[Outcome]) -> dict[str, Tally]:
    """Per rule: a found expectation is a true positive, a missed one a false negative, and a
    finding no expectation accounts for a false positive of the rule that reported it."""
    per_rule: dict[str, Tally] = {}
    for outcome in outcomes:
        for want in outcome.case.expected:
            t = per_rule.setdefault(want.rule, Tally())
            if want in outcome.missed:
                t.false_negatives += 1
            else:
                t.true_positives += 1
        for text in outcome.wrong:
            per_rule.setdefault(text.split(" ", 1)[0], Tally()).false_positives += 1
    return per_rule
