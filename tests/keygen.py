"""Key-shaped strings, built at run time: no key literal is ever committed to this repository."""

from __future__ import annotations

import random
import string

from kimi_secret_scan.randomness import is_placeholder_body

ALNUM = string.ascii_letters + string.digits
_rng = random.Random()


def body(length: int, rng: random.Random | None = None) -> str:
    """A random alphanumeric body that the scanner does not take for a placeholder."""
    rng = rng or _rng
    while True:
        text = "".join(rng.choice(ALNUM) for _ in range(length))
        if not is_placeholder_body(text):
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
