"""Key-shaped strings, built at run time: no key literal is ever committed to this repository."""

from __future__ import annotations

import random
import string

from kimi_secret_scan.randomness import is_placeholder_body, looks_random, secret_looking

ALNUM = string.ascii_letters + string.digits
_rng = random.Random()


def body(length: int, rng: random.Random | None = None) -> str:
    """A random alphanumeric body that none of the scanner's judges takes for a placeholder.

    The judges of tokens of no fixed shape drop a uniformly random token with a small chance
    (`randomness.loose_word_bound`: ~4e-5 at 32 characters); a test that drew such a token
    failed once in a few thousand runs. Bodies are drawn until every judge accepts them, so
    the tests are deterministic; that chance itself is tested in test_placeholder_bound.py.
    """
    rng = rng or _rng
    while True:
        text = "".join(rng.choice(ALNUM) for _ in range(length))
        if is_placeholder_body(text):
            continue
        if length >= 16 and not (looks_random(text, min_length=0) and secret_looking(text)):
            continue
        return text


def unclaimed_body(length: int, rng: random.Random | None = None) -> str:
    """body(), never starting with `ki`: for tokens a test wants no Kimi rule to claim.

    An sk- token of 42 to 102 letters and digits whose body starts with `ki` is reported as
    a Kimi key of an unusual shape (a cut or lengthened Kimi Code key), by design; a random
    body starts so once in 3,844 draws, and the cases of wrong lengths or of a key with
    junk glued to it in test_rules.py failed then (~8e-4 of runs).
    """
    while True:
        text = body(length, rng)
        if not text.startswith("ki"):
            return text


def moonshot_key(rng: random.Random | None = None) -> str:
    """Open Platform shape: sk- + 48."""
    return "sk-" + body(48, rng)


def kimi_code_key(rng: random.Random | None = None) -> str:
    """Kimi Code shape: sk-kimi- + 64."""
    return "sk-" + "kimi-" + body(64, rng)


def other_sk_token(length: int = 32, rng: random.Random | None = None) -> str:
    """An sk- token of no vendor's fixed shape (for the context and header rules)."""
    rng = rng or _rng
    while True:
        text = body(length, rng)
        if any(c.isdigit() for c in text):
            return "sk-" + text


def openai_legacy_key() -> str:
    b = body(48)
    return "sk-" + b[:20] + "T3Blbk" + "FJ" + b[28:]


def deepseek_key() -> str:
    return "sk-" + "".join(_rng.choice("0123456789abcdef") for _ in range(32))
