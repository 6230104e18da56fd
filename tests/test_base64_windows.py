"""Base64 windows (issue 11): a trigger is skipped only when an earlier window decoded it.

A Kubernetes Secret holds one base64 value per line; a window stops at the end of its own
line, so the Kimi value must be decoded whatever other vendors' values come before or after
it, in any order, padded or not, wrapped or not."""

from __future__ import annotations

import base64
import itertools
import random
import textwrap

import pytest

from kimi_secret_scan.content import Content
from kimi_secret_scan.detectors import DetectionTimeout, detect
from kimi_secret_scan.scan import scan
from tests import keygen

HEX = "0123456789abcdef"


def _others(rng: random.Random) -> list[tuple[str, str]]:
    """Five other vendors' credentials, several of them sk- keys (so base64 triggers too)."""
    sk = "sk-"
    return [
        (
            "OPENAI_API_KEY",
            sk + "proj-" + keygen.body(74, rng) + "T3Blbk" + "FJ" + keygen.body(74, rng),
        ),
        ("ANTHROPIC_API_KEY", sk + "ant-api03-" + keygen.body(93, rng) + "AA"),
        ("DEEPSEEK_API_KEY", sk + "".join(rng.choice(HEX) for _ in range(32))),
        ("GEMINI_API_KEY", "AIza" + keygen.body(35, rng)),
        ("GITHUB_TOKEN", "ghp_" + keygen.body(36, rng)),
    ]


def _encode(value: str, style: str) -> str:
    text = base64.b64encode(value.encode()).decode()
    if style == "unpadded":
        return text.rstrip("=")
    if style == "wrapped":
        # `base64` (coreutils) wraps at 76 columns; YAML holds it as a block scalar.
        return "|\n" + "\n".join("    " + line for line in textwrap.wrap(text, 76))
    return text


def _secret(entries: list[tuple[str, str]], style: str, section: str) -> str:
    lines = [
        "apiVersion: v1",
        "kind: Secret",
        "metadata:",
        "  name: llm-credentials",
        "type: Opaque",
        f"{section}:",
    ]
    for name, value in entries:
        shown = _encode(value, style) if section == "data" else f'"{value}"'
        lines.append(f"  {name}: {shown}")
    return "\n".join(lines) + "\n"


def _orders(rng: random.Random) -> list[tuple[int, ...]]:
    """Every order of the Kimi value (6) among 0 to 4 others, and a sample with all 5."""
    orders: list[tuple[int, ...]] = []
    for size in range(5):
        for others in itertools.permutations(range(5), size):
            for at in range(size + 1):
                orders.append((*others[:at], 5, *others[at:]))
    everything = list(itertools.permutations(range(6)))
    orders += rng.sample(everything, 120)
    return orders


@pytest.mark.parametrize("kind", ["moonshot", "kimi-code"])
@pytest.mark.parametrize("style", ["padded", "unpadded", "wrapped"])
def test_kimi_value_in_a_secret_in_every_order(kind: str, style: str) -> None:
    rng = random.Random(f"{kind}-{style}")
    others = _others(rng)
    key = keygen.moonshot_key(rng) if kind == "moonshot" else keygen.kimi_code_key(rng)
    entries = [*others, ("KIMI_API_KEY", key)]
    missed = []
    for order in _orders(rng):
        text = _secret([entries[i] for i in order], style, "data")
        found = detect(Content(path="k8s/secret.yaml", data=text.encode()))
        line = text.splitlines().index(next(x for x in text.splitlines() if "KIMI_API_KEY" in x))
        if style == "wrapped":
            line += 1  # the value starts on the line after `KIMI_API_KEY: |`
        got = [(f.secret, f.line, f.encoding) for f in found]
        if got != [(key, line + 1, "base64")]:
            missed.append((order, got))
    assert missed == []


@pytest.mark.parametrize("kind", ["moonshot", "kimi-code"])
def test_kimi_value_in_string_data_in_every_order(kind: str) -> None:
    rng = random.Random(kind)
    others = _others(rng)
    key = keygen.moonshot_key(rng) if kind == "moonshot" else keygen.kimi_code_key(rng)
    entries = [*others, ("KIMI_API_KEY", key)]
    for order in _orders(rng)[:200]:
        text = _secret([entries[i] for i in order], "plain", "stringData")
        found = detect(Content(path="k8s/secret.yaml", data=text.encode()))
        assert [(f.secret, f.encoding) for f in found] == [(key, None)], order


def test_two_kimi_values_in_one_secret_are_both_found() -> None:
    rng = random.Random(2)
    a, b = keygen.moonshot_key(rng), keygen.kimi_code_key(rng)
    for style in ("padded", "unpadded", "wrapped"):
        entries = [("MOONSHOT_API_KEY", a), *_others(rng)[:2], ("KIMI_CODE_KEY", b)]
        text = _secret(entries, style, "data")
        found = detect(Content(path="secret.yaml", data=text.encode()))
        assert [f.secret for f in found] == [a, b], style


def test_a_secret_with_thousands_of_values_decodes_the_last() -> None:
    # 512 windows were the limit whatever the size: values after the 512th were not decoded.
    rng = random.Random(7)
    lines = ["kind: Secret", "data:"]
    for i in range(2000):
        lines.append(
            f"  OTHER_{i}: "
            + _encode("sk-" + "".join(rng.choice(HEX) for _ in range(32)), "padded")
        )
    key = keygen.kimi_code_key(rng)
    lines.append("  KIMI_CODE_KEY: " + _encode(key, "padded"))
    text = "\n".join(lines) + "\n"
    found = detect(Content(path="secret.yaml", data=text.encode()))
    assert [(f.secret, f.line, f.encoding) for f in found] == [(key, len(lines), "base64")]


def test_more_encoded_values_than_the_budget_is_not_a_clean_pass() -> None:
    # One base64 value (holding `sk-`) every 21 bytes: more windows than one per 32 bytes.
    rng = random.Random(8)
    unit = [("c2st" + base64.b64encode(rng.randbytes(12)).decode() + "\n") for _ in range(50_000)]
    data = "".join(unit).encode()
    with pytest.raises(DetectionTimeout, match="encoded values"):
        detect(Content(path="blob.b64", data=data))
    result = scan("files", "test", [Content(path="blob.b64", data=data)])
    assert [s.path for s in result.stats.skipped] == ["blob.b64"]
    assert "not scanned whole" in result.stats.skipped[0].reason
