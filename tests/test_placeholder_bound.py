"""Placeholder rules judge the whole body, and the chance that they drop a real key is
computed and kept under 1e-9 (issue 16): the bound, a million random bodies, and keys whose
start or a short run looks like a placeholder's."""

from __future__ import annotations

import random
import string

import pytest

from kimi_secret_scan.content import Content
from kimi_secret_scan.detectors import detect
from kimi_secret_scan.randomness import (
    is_placeholder_body,
    letters_only_bound,
    looks_random,
    loose_word_bound,
    placeholder_bound,
    placeholder_rule,
    secret_looking,
)
from tests import keygen

ALNUM = (string.ascii_letters + string.digits).encode()
# Bytes 0..247 map evenly onto the 62 letters and digits (248 = 4 * 62); the rest are dropped.
_TO_ALNUM = bytes(ALNUM[i % 62] for i in range(256))
_UNEVEN = bytes(range(248, 256))


def _random_bodies(count: int, length: int, seed: int) -> list[str]:
    """`count` uniformly random bodies, drawn at C speed (no Python loop per character).

    Seeded: a million fresh bodies a run would fail one run in ~120,000 by chance (a random
    48-character body is single-case with chance 9.3e-12, and the test allows no drop);
    these bodies are the same every run, and each of them is a key.
    """
    rng = random.Random(seed)
    need = count * length
    raw = b""
    while len(raw) < need:
        raw += rng.randbytes(need + need // 16).translate(_TO_ALNUM, _UNEVEN)
    text = raw[:need].decode()
    return [text[i : i + length] for i in range(0, need, length)]


@pytest.mark.parametrize("length", [48, 64])
def test_computed_bound_is_below_one_in_a_billion(length: int) -> None:
    bound = placeholder_bound(length)
    assert set(bound) == {
        "single case",
        "repeated or sequential characters",
        "repeated block",
        "readable words",
    }
    assert all(0 <= p < 1e-10 for p in bound.values()), bound
    assert sum(bound.values()) < 1e-9


def test_a_million_random_bodies_are_keys() -> None:
    bodies = _random_bodies(800_000, 48, seed=48) + _random_bodies(200_000, 64, seed=64)
    dropped = [b for b in bodies if is_placeholder_body(b)]
    # Expected count under the bound: about 1e-5; any hit is a bug in the bound or the rules.
    assert dropped == []


STARTS = ["test", "Test", "TEST", "demo", "dEmO", "abcd", "your", "Your", "fake", "1234", "xxxx"]


@pytest.mark.parametrize("start", STARTS)
def test_a_random_key_that_starts_like_a_placeholder_is_found(start: str) -> None:
    body = start + keygen.body(44)
    assert placeholder_rule(body) is None
    kimi = start + keygen.body(60)
    text = f"MOONSHOT_API_KEY=sk-{body}\nKIMI_CODE_KEY=sk-kimi-{kimi}\n"
    found = detect(Content(path=".env", data=text.encode()))
    assert [f.secret for f in found] == ["sk-" + body, "sk-kimi-" + kimi]


@pytest.mark.parametrize("run", ["aaaaa", "7777777", "abcdef", "123456", "ZYXWVU", "test1234"])
def test_a_random_key_holding_a_short_run_is_found(run: str) -> None:
    base = keygen.body(48)
    body = base[:20] + run + base[20 + len(run) :]
    assert placeholder_rule(body) is None
    found = detect(Content(path="kimi.py", data=f'client = Kimi(api_key="sk-{body}")\n'.encode()))
    assert [f.secret for f in found] == ["sk-" + body]


@pytest.mark.parametrize(
    ("body", "rule"),
    [
        ("x" * 48, "single case"),
        ("X" * 64, "single case"),
        ("1234567890" * 4 + "12345678", "single case"),
        ("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUV", "repeated or sequential characters"),
        ("AbCdEfGhIjKlMnOpQrStUvWxYz0123456789AbCdEfGhIjKl", "repeated or sequential characters"),
        ("aB3d" * 12, "repeated block"),
        ("aB3d" * 16, "repeated block"),
        ("k8Jz" * 12, "repeated block"),
        ("Q7zKa1B2" * 8, "repeated block"),
        ("YourMoonshotApiKeyHereReplaceThisWithTheRealKey1", "readable words"),
        ("ReplaceWithYourKimiCodeApiKeyFromThePlatform" + "0000Xy9q", "readable words"),
    ],
)
def test_placeholders_are_still_placeholders(body: str, rule: str) -> None:
    assert placeholder_rule(body) == rule


# Tokens of no fixed shape (a relay's sk- + 32 in KIMI_API_KEY=, a bearer token in a header
# to a Kimi endpoint) are judged by looser rules. Their loose words dropped one random
# 32-character token in ~3,000 when matched in any case (`faKe`, `YoUr`); now only as a word
# is written (`fake`, `FAKE`, `Fake`).


def test_loose_word_bound_is_small() -> None:
    assert loose_word_bound(32) < 5e-5
    assert loose_word_bound(48) < 1e-4


def test_letters_only_bound_is_small() -> None:
    # Requiring a digit dropped every random key without one: (52/62)^32, 3.6e-3.
    assert letters_only_bound(32) < 3e-5
    assert letters_only_bound(40) < 5e-6


def test_random_loose_tokens_are_rarely_dropped() -> None:
    bodies = _random_bodies(100_000, 32, seed=32)
    dropped = [b for b in bodies if not (looks_random(b) and secret_looking(b))]
    # Words (3.6e-5), keys of letters only (2.2e-5) and the other loose rules (runs,
    # sequences, entropy): expected ~6 drops; 40 is far outside chance (case-folded words
    # dropped ~35, requiring a digit ~360).
    bound = loose_word_bound(32) + letters_only_bound(32)
    assert len(dropped) < max(40, 10 * len(bodies) * bound), len(dropped)


def test_a_random_token_of_letters_only_in_a_kimi_setting_is_found() -> None:
    # 1 random 32-character token in 280 has no digit; it was dropped even as the value of
    # KIMI_API_KEY (102 of 30,000 uniformly random tokens), and as a bearer token to a Kimi
    # endpoint. Seeded: a token of letters only is still dropped with chance ~6e-3 (no two
    # capitals or small letters together, or a word written whole: letters_only_bound
    # divided by (52/62)^32); the 20 of this seed are all kept (checked).
    rng = random.Random(281)
    for _ in range(20):
        token = "".join(rng.choice(string.ascii_letters) for _ in range(32))
        found = detect(Content(path=".env", data=f'KIMI_API_KEY = "sk-{token}"\n'.encode()))
        assert [f.secret for f in found] == ["sk-" + token]
        header = f'curl https://api.moonshot.cn/v1/models -H "Authorization: Bearer {token}"\n'
        found = detect(Content(path="c.sh", data=header.encode()))
        assert [f.secret for f in found] == [token]


@pytest.mark.parametrize(
    "phrase",
    [
        "ThisIsNotARealKeyValue",  # words written whole (this, not, real, key)
        "HelloWorldFooBarBazQuxAb",  # capitals only at the words' starts
        "MyCompanyProductionApiKeyForKimi",
        "SUPERSECRETVALUEFORPRODUCTION",
        "abcdefghijklmnopqrstuvwxyzabcdef",
    ],
)
def test_a_phrase_of_letters_is_still_not_a_key(phrase: str) -> None:
    assert not secret_looking(phrase)
    found = detect(Content(path=".env", data=f'KIMI_API_KEY = "sk-{phrase}"\n'.encode()))
    assert found == []


@pytest.mark.parametrize("word", ["faKe", "YoUr", "hErE", "xXxX", "tEsT"])
def test_a_loose_token_holding_a_word_in_mixed_case_is_found(word: str) -> None:
    base = keygen.body(32)
    # The word between two digits: written over base[10:14] alone, it replaced the only
    # digits of one base in ~280 (a token of letters only was no key then), and
    # with its neighbours it could spell a word as written (`Xxxx` from `xXxX` + `xxx`):
    # the test failed ~1.8 % of runs (5 words, 0.36 % each, 100,000 draws per word).
    token = "sk-" + base[:9] + "0" + word + "0" + base[15:]
    found = detect(Content(path=".env", data=f'KIMI_API_KEY = "{token}"\n'.encode()))
    assert [f.secret for f in found] == [token]


@pytest.mark.parametrize("word", ["fake", "FAKE", "Fake", "your", "Here", "xxxx"])
def test_a_loose_token_holding_a_written_word_is_a_placeholder(word: str) -> None:
    base = keygen.body(32)
    token = "sk-" + base[:10] + word + base[10 + len(word) :]
    found = detect(Content(path=".env", data=f'KIMI_API_KEY = "{token}"\n'.encode()))
    assert found == []


@pytest.mark.parametrize("length", [24, 32, 40])
def test_a_token_starting_with_ki_in_a_kimi_setting_is_found(length: int) -> None:
    # `sk-ki…` of no Kimi Code shape was dropped outright, even as the value of KIMI_API_KEY
    # (a random body starts with `ki` once in 3,844).
    token = "sk-ki" + keygen.body(length - 2)
    found = detect(Content(path=".env", data=f'KIMI_API_KEY = "{token}"\n'.encode()))
    assert [f.secret for f in found] == [token]
