"""Each rule on what it must find and what it must leave alone, and the advice per kind of key.

All cases are files in one directory scanned by one run of the real CLI; each test then
looks at its own file's findings.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from tests.gitrepo import run_cli
from tests.keygen import (
    body,
    deepseek_key,
    kimi_code_key,
    moonshot_key,
    openai_legacy_key,
    other_sk_token,
    unclaimed_body,
)

KIMI = kimi_code_key()
MOONSHOT = moonshot_key()
TOKEN = other_sk_token(32)
LONG_TOKEN = other_sk_token(40)
BEARER = body(40)  # a literal token of no sk- shape
SK = "sk-"
# An Open Platform key with junk glued to it: with a body starting `ki` the longer token
# would rightly be a Kimi key of an unusual shape (keygen.unclaimed_body).
GUARDED = SK + unclaimed_body(48)


def _one_api_key() -> str:
    rng = random.Random()
    tail = "".join(
        rng.choice("0123456789ABCDEF") if i % 2 == 0 else rng.choice("0123456789abcdef")
        for i in range(32)
    )
    return SK + body(16) + tail


# name -> (file content, expected findings as (rule, confidence, key_kind, line, column))
Expected = list[tuple[str, str, str, int, int]]
POSITIVE: dict[str, tuple[str, Expected]] = {
    "kimi_code_anywhere.txt": (
        f"token {KIMI}\n",
        [("kimi-code-api-key", "high", "kimi-code", 1, 7)],
    ),
    "kimi_code_env.env": (
        f"# Kimi Code\nKIMI_API_KEY={KIMI}\n",
        [("kimi-code-api-key", "high", "kimi-code", 2, 14)],
    ),
    "kimi_code_notebook.ipynb": (
        '{"source": ["client = Client(\\n",\n' + f'"    api_key=\\"{KIMI}\\",\\n"]}}\n',
        [("kimi-code-api-key", "high", "kimi-code", 2, 16)],
    ),
    "kimi_code_query_string.sh": (
        f"curl 'https://relay.example/v1/models?api_key={KIMI}&x=1'\n",
        [("kimi-code-api-key", "high", "kimi-code", 1, 47)],
    ),
    "moonshot_cn.py": (
        f'client = OpenAI(api_key="{MOONSHOT}", base_url="https://api.moonshot.cn/v1")\n',
        [("moonshot-api-key", "high", "moonshot-platform-cn", 1, 26)],
    ),
    "moonshot_intl.js": (
        f"const MOONSHOT_API_KEY = '{MOONSHOT}';\n"
        "fetch('https://api.moonshot.ai/v1/chat/completions')\n",
        [("moonshot-api-key", "high", "moonshot-platform-intl", 1, 27)],
    ),
    "moonshot_region_unknown.env": (
        f"MOONSHOT_API_KEY={MOONSHOT}\n",
        [("moonshot-api-key", "high", "moonshot-platform", 1, 18)],
    ),
    "moonshot_commented_out.py": (
        f'# kimi: api_key = "{MOONSHOT}"\n',
        [("moonshot-api-key", "high", "moonshot-platform", 1, 20)],
    ),
    "moonshot_no_context.py": (
        f'key = "{MOONSHOT}"\n',
        [("moonshot-api-key", "medium", "moonshot-platform", 1, 8)],
    ),
    "moonshot_other_vendor_context.env": (
        f"OPENAI_BASE_URL=https://api.deepseek.com\nOPENAI_API_KEY={MOONSHOT}\n",
        [("moonshot-api-key", "low", "moonshot-platform", 2, 16)],
    ),
    "unusual_shape.txt": (
        f"{SK}kimi-{body(50)}\n",
        [("kimi-key-unusual-shape", "medium", "kimi-code", 1, 1)],
    ),
    "assigned.env": (
        f'KIMI_API_KEY = "{TOKEN}"\n',
        [("kimi-assigned-key", "medium", "moonshot-platform", 1, 17)],
    ),
    "assigned_near_endpoint.py": (
        f'base_url = "https://api.moonshot.cn/v1"\napi_key = "{LONG_TOKEN}"\n',
        [("kimi-assigned-key", "medium", "moonshot-platform-cn", 2, 12)],
    ),
    "auth_header.sh": (
        f'curl https://api.moonshot.cn/v1/models \\\n  -H "Authorization: Bearer {BEARER}"\n',
        [("kimi-auth-header", "medium", "moonshot-platform-cn", 2, 29)],
    ),
    # Whole keys glued to `_` or `-` (hostile review 3): Markdown bold, a backup file's name,
    # a name before the key. The finding is the exact shape, not the longer token.
    "glued_markdown_bold.md": (
        f"Kimi Code key: __{KIMI}__\n\nMoonshot key: __{MOONSHOT}__\n",
        [
            ("kimi-code-api-key", "high", "kimi-code", 1, 18),
            ("moonshot-api-key", "high", "moonshot-platform", 3, 17),
        ],
    ),
    "glued_tails.txt": (
        f"backup: {KIMI}-old.txt\nMOONSHOT_{MOONSHOT}\nmoonshot key {MOONSHOT}_bak\n"
        f"see --{MOONSHOT}-- and {MOONSHOT}__\n",
        [
            ("kimi-code-api-key", "high", "kimi-code", 1, 9),
            ("moonshot-api-key", "high", "moonshot-platform", 2, 10),
            ("moonshot-api-key", "high", "moonshot-platform", 3, 14),
            ("moonshot-api-key", "high", "moonshot-platform", 4, 7),
            ("moonshot-api-key", "high", "moonshot-platform", 4, 65),
        ],
    ),
    "x_api_key_header.sh": (
        f"curl https://api.kimi.com/coding/v1/messages -H 'x-api-key: {BEARER}'\n",
        [("kimi-auth-header", "medium", "kimi-code", 1, 61)],
    ),
}

NEGATIVE: dict[str, str] = {
    "placeholder_x.env": "MOONSHOT_API_KEY=" + SK + "x" * 48 + "\n",
    "placeholder_kimi_x.env": "ANTHROPIC_API_KEY=" + SK + "kimi-" + "x" * 64 + "\n",
    "placeholder_words.md": (
        "KIMI_API_KEY=" + SK + "your-kimi-api-key\n"
        "MOONSHOT_API_KEY=" + SK + "...\n"
        "api_key: " + SK + "***\n"
        "KIMI_API_KEY=YOUR_KIMI_API_KEY\n"
        "KIMI_API_KEY=${KIMI_API_KEY}\n"
        "moonshot api_key=<your-key>\n"
    ),
    "placeholder_sequence.env": "MOONSHOT_API_KEY="
    + SK
    + "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUV\n",
    "masked.md": (
        "Kimi key: " + SK + "kimi-" + KIMI[8:12] + "…" + KIMI[-4:] + "\n"
        "KEY_KIMI = " + SK + "kimi-" + body(27) + "-***\n"
    ),
    "openai_legacy.env": f"OPENAI_API_KEY={openai_legacy_key()}\n",
    "openai_project.env": "OPENAI_API_KEY="
    + SK
    + "proj-"
    + body(74)
    + "T3BlbkFJ"
    + body(74)
    + "\n",
    "anthropic.env": "ANTHROPIC_API_KEY=" + SK + "ant-api03-" + body(93) + "AA\n",
    "deepseek.env": f"DEEPSEEK_API_KEY={deepseek_key()}\n",
    "siliconflow.env": "SILICONFLOW_API_KEY="
    + SK
    + "".join(random.choices("abcdefghijk", k=48))
    + "\n",
    "one_api.env": f"ONEAPI_KEY={_one_api_key()}\n",
    "left_guard.txt": f"c{MOONSHOT} task-{body(48)} desk-{body(48)}\n",
    "right_guard.txt": f"{GUARDED}x {GUARDED}_tail {GUARDED}-tail\n",
    # `sk-` + 48 letters and digits, then `-`/`_` and more key characters, begins other
    # vendors' longer keys too: no Moonshot finding from the 48-character prefix, even with
    # Moonshot named, and a `-` after a word still makes a slug (`task-sk-…`).
    "glued_longer_tokens.md": (
        "# Moonshot AI and other providers\n"
        f"see {SK}{unclaimed_body(48)}-{body(40)} or {SK}{unclaimed_body(48)}_{body(20)}x9\n"
        f"see __{SK}proj-{body(74)}_{body(20)}-{body(30)}__ or __{SK}ant-api03-{body(93)}AA__\n"
        f"see task-{MOONSHOT} or x_{MOONSHOT}_{body(30)} or ab{MOONSHOT}__\n"
    ),
    "wrong_length.txt": f"value {SK}{unclaimed_body(47)} and {SK}{unclaimed_body(49)}\n",
    "header_without_kimi_endpoint.sh": (
        f'curl https://api.example.com -H "Authorization: Bearer {BEARER}"\n'
    ),
    "stripe.env": "STRIPE_KEY=sk_live_" + body(40) + "\n",
}


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    folder = tmp_path_factory.mktemp("rules")
    for name, (content, _) in POSITIVE.items():
        (folder / name).write_text(content, encoding="utf-8")
    for name, content in NEGATIVE.items():
        (folder / name).write_text(content, encoding="utf-8")
    run = run_cli("files", "--format", "json", ".", cwd=folder)
    assert run.code == 1, run.all
    by_path: dict[str, list[dict[str, Any]]] = {}
    for finding in json.loads(run.out)["findings"]:
        by_path.setdefault(finding["path"], []).append(finding)
    return by_path


@pytest.mark.parametrize("name", sorted(POSITIVE))
def test_rule_finds(name: str, report: dict[str, list[dict[str, Any]]]) -> None:
    got = [
        (f["rule"], f["confidence"], f["key_kind"], f["line"], f["column"])
        for f in report.get(name, [])
    ]
    assert got == POSITIVE[name][1]


@pytest.mark.parametrize("name", sorted(NEGATIVE))
def test_rule_leaves_alone(name: str, report: dict[str, list[dict[str, Any]]]) -> None:
    assert [(f["rule"], f["secret"]) for f in report.get(name, [])] == []


def test_every_rule_has_a_positive_case() -> None:
    from kimi_secret_scan.rules import ALL_RULES

    covered = {rule for _, expected in POSITIVE.values() for rule, *_ in expected}
    assert covered == {rule.id for rule in ALL_RULES}


def _console_lines(text: str) -> dict[str, str]:
    """The plan's one line per kind of key, naming where it is revoked, by kind name."""
    lines: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("       sk-") and ", " in line and ": " in line:
            _, _, rest = line.partition(", ")
            kind, _, where = rest.partition(": ")
            lines[kind] = where
    return lines


def test_revoke_and_rotate_advice_names_the_right_console(tmp_path: Path) -> None:
    files = {
        "code.py": f'KIMI_API_KEY = "{kimi_code_key()}"\n',
        "cn.py": f'api_key="{moonshot_key()}"  # https://api.moonshot.cn/v1\n',
        "intl.py": f'api_key="{moonshot_key()}"  # https://api.moonshot.ai/v1\n',
        "unknown.py": f'MOONSHOT_API_KEY = "{moonshot_key()}"\n',
    }
    for name, content in files.items():
        (tmp_path / name).write_text(content)
    run = run_cli("files", *files, cwd=tmp_path)
    assert run.code == 1, run.all
    out = run.out
    hints = {
        line.split(":")[0]: next_line.strip()
        for line, next_line in zip(out.splitlines(), out.splitlines()[2:], strict=False)
        if line.endswith("confidence]")
    }
    assert "Kimi Code Console (https://www.kimi.com/code/console)" in hints["code.py"]
    assert "platform.moonshot.cn" in hints["cn.py"]
    assert "platform.moonshot.ai" in hints["intl.py"]
    assert "China or international" in hints["unknown.py"]

    consoles = _console_lines(out)
    code = consoles["Kimi Code key"]
    assert code == "https://www.kimi.com/code/console → API Keys"
    cn = consoles["Moonshot Open Platform key (China, platform.moonshot.cn)"]
    assert cn.startswith("https://platform.moonshot.cn/console/api-keys")
    intl = consoles["Moonshot Open Platform key (international, platform.moonshot.ai)"]
    assert intl.startswith("https://platform.moonshot.ai/console/api-keys")
    unknown = consoles["Moonshot Open Platform key (region unknown)"]
    assert "https://platform.moonshot.cn/console/api-keys" in unknown
    assert "https://platform.moonshot.ai/console/api-keys" in unknown
    # One plan for all four keys: the advice on the files is given once, naming them all.
    assert out.count("What to do") == 1
    assert out.count("read the key from the environment") == 1
    assert "KIMI_API_KEY or MOONSHOT_API_KEY" in out


def test_a_kimi_code_key_glued_to_what_precedes_it_is_found() -> None:
    """The exact Kimi Code shape needs no left boundary (hostile review 2: an author name of
    an escape code followed by a key passed the audit); a longer token is still not one."""
    from kimi_secret_scan.content import Content
    from kimi_secret_scan.detectors import detect
    from tests.keygen import kimi_code_key

    key = kimi_code_key()
    for glued in (f"J{key}", f"x9{key}", f"_{key}", f"-{key}", f"\x1b[2J{key}"):
        found = detect(Content("a.txt", glued.encode()))
        assert [f.secret for f in found] == [key], glued[:4]
    assert detect(Content("a.txt", f"J{key}x".encode())) == []
