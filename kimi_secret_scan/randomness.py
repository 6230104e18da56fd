"""Is a token body random enough to be a real key, or is it a placeholder?

Thresholds come from simulation of random base62 bodies (shared/research/kimi-key-formats.md):
a random 48-character body has Shannon entropy 4.53 bits/char at its 0.1 % quantile, a
64-character body 4.82. The tests below are chosen so that a real key fails them with a
probability under about one in a million, while the placeholders seen in documentation
(`sk-xxxx…`, `sk-kimi-` + 64 `x`, `sk-abcdef…`, `sk-your…`) all fail them.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter

# Words that appear in documentation placeholders. The long ones are tested anywhere in a
# body (a random body contains a given six-letter word with probability ~5e-8); the short
# ones only at the start (probability ~1e-6 each).
_LONG_WORDS = (
    "example",
    "placeholder",
    "replace",
    "sample",
    "changeme",
    "redacted",
    "dummy",
    "yourkey",
    "insert",
    "abcdef",
    "qwerty",
)
_START_WORDS = ("your", "xxxx", "test", "fake", "demo", "dummy", "mock", "abcd", "1234")
_SEQUENCES = (
    "abcdefghijklmnopqrstuvwxyz",
    "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "0123456789",
    "zyxwvutsrqponmlkjihgfedcba",
    "ZYXWVUTSRQPONMLKJIHGFEDCBA",
    "9876543210",
)
# Short words that mark a placeholder anywhere in a token of a non-standard shape.
_LOOSE_WORDS = (
    "your",
    "xxxx",
    "example",
    "test",
    "dummy",
    "fake",
    "sample",
    "placeholder",
    "replace",
    "here",
    "redacted",
    "changeme",
    "insert",
    "todo",
    "secret",
    "token",
)


def shannon_entropy(text: str) -> float:
    if not text:
        return 0.0
    total = len(text)
    return -sum(n / total * math.log2(n / total) for n in Counter(text).values())


def _longest_run(text: str) -> int:
    best = run = 1 if text else 0
    for prev, cur in itertools.pairwise(text):
        run = run + 1 if cur == prev else 1
        best = max(best, run)
    return best


def _has_sequence(text: str, length: int) -> bool:
    return any(
        seq[i : i + length] in text for seq in _SEQUENCES for i in range(len(seq) - length + 1)
    )


def _entropy_floor(length: int) -> float:
    # 75 % of the maximum entropy a body of this length can reach over a 62-letter alphabet.
    return 0.75 * math.log2(min(length, 62))


def is_placeholder_body(body: str) -> bool:
    """For bodies of an exact key shape (48 or 64 alphanumerics)."""
    lower = body.lower()
    if not (any(c.isupper() for c in body) and any(c.islower() for c in body)):
        return True
    if _longest_run(body) >= 5 or _has_sequence(body, 6):
        return True
    if any(word in lower for word in _LONG_WORDS):
        return True
    if lower.startswith(_START_WORDS):
        return True
    return shannon_entropy(body) < _entropy_floor(len(body))


def looks_random(body: str, min_length: int = 20) -> bool:
    """For tokens of no fixed shape: long, mixed, high-entropy, and free of placeholder words."""
    if len(body) < min_length:
        return False
    lower = body.lower()
    if any(word in lower for word in _LOOSE_WORDS):
        return False
    if not (any(c.isdigit() for c in body) and any(c.isalpha() for c in body)):
        return False
    if _longest_run(body) >= 5 or _has_sequence(body, 6):
        return False
    return shannon_entropy(body) >= _entropy_floor(len(body))
