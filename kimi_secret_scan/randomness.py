"""Is a token body random enough to be a real key, or is it a placeholder?

Two judges. `is_placeholder_body` judges bodies of an exact key shape (48 or 64 letters and
digits) by rules on the whole body whose chance of dropping a uniformly random key is
computed (`placeholder_bound`: under 1e-11 for both shapes), so a real key is never dropped
by chance. `looks_random` judges tokens of no fixed shape (reported at medium confidence,
only with Kimi context): long, mixed, high-entropy, free of placeholder words.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter

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


def _readable_word(text: str, words: tuple[str, ...] = _LOOSE_WORDS) -> bool:
    """Does a loose placeholder word occur written as a word is written (`your`, `YOUR`,
    `Your`)? Case-folded matching dropped one random 32-character token in ~3,000 (a
    mixed-case key holds `faKe`, `YoUr` or `GHerE` by chance); one of the three written forms
    at a given place has chance 3/62^L, so a uniformly random token of n characters is
    dropped with chance below n * 6 * 3 / 62^4, ~4e-5 for n = 32 (`loose_word_bound`)."""
    lower = text.lower()
    for word in words:
        pos = lower.find(word)
        while pos >= 0:
            piece = text[pos : pos + len(word)]
            if piece.islower() or piece.isupper() or piece.istitle():
                return True
            pos = lower.find(word, pos + 1)
    return False


def loose_word_bound(n: int) -> float:
    """Upper bound of the chance that a uniformly random token of n letters and digits holds
    a loose placeholder word in a written form (a union bound over places and words)."""
    return sum(max(0, n - len(w) + 1) * 3 / float(62 ** len(w)) for w in _LOOSE_WORDS)


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


# Placeholder bodies of an exact key shape (48 or 64 letters and digits) are judged whole:
# each rule below looks at the entire body, never at how it starts or at a short run, so a
# real key that happens to begin with `test` or `1234`, or holds `aaaaa`, is still a key.
# placeholder_bound() computes, for each rule, how likely a uniformly random body is to
# meet it; tests/test_placeholder_bound.py asserts the sum stays under 1e-9 for 48 and 64
# and samples a million random bodies.

# Words of placeholder text ("YourMoonshotApiKeyHere", "TestKeyExampleReplaceMe…").
PLACEHOLDER_WORDS = (
    "your",
    "api",
    "key",
    "here",
    "test",
    "demo",
    "fake",
    "example",
    "sample",
    "dummy",
    "mock",
    "placeholder",
    "replace",
    "insert",
    "change",
    "changeme",
    "secret",
    "token",
    "moonshot",
    "kimi",
    "code",
    "open",
    "platform",
    "invalid",
    "redacted",
    "not",
    "real",
    "this",
    "the",
    "for",
    "qwerty",
    "asdf",
    "password",
)
# A value of letters only is no key if any of these is written in it as a word is written.
_LETTERS_ONLY_WORDS = tuple(sorted(set(PLACEHOLDER_WORDS) | set(_LOOSE_WORDS)))


def _trie_pattern(words: tuple[str, ...]) -> str:
    """One alternation factored by common prefixes (`re` tries fewer branches per position:
    the search costs a third of the plain `a|b|c` alternation)."""
    trie: dict[str, dict] = {}  # type: ignore[type-arg]
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def emit(node: dict) -> str:  # type: ignore[type-arg]
        alts = [re.escape(c) + emit(sub) for c, sub in sorted(node.items()) if c]
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
        return f"(?:{body})?" if "" in node else body

    return emit(trie)


_words: list[re.Pattern[bytes]] = []


def _words_re() -> re.Pattern[bytes]:
    # Compiled on first use: a clean hook run never judges a key-shaped body.
    if not _words:
        _words.append(re.compile(_trie_pattern(PLACEHOLDER_WORDS).encode()))
    return _words[0]


# 0x80 in every byte: added before subtracting, so no byte of the difference borrows.
_PAIR_BIAS = {n: int.from_bytes(b"\x80" * n, "big") for n in (47, 63)}
# A block of the body's first or last characters that occurs again elsewhere in it.
_BLOCK = 8


def _structured_pairs(folded: bytes) -> int:
    """Adjacent pairs that repeat or step by one (`aa`, `ab`, `ba`, `12`; case folded).

    One big-integer subtraction gives every pair's difference (biased by 128) and three
    byte counts read them: C speed, no Python loop over the characters.
    """
    n = len(folded) - 1
    if n < 1:
        return 0
    bias = _PAIR_BIAS.get(n)
    if bias is None:
        bias = int.from_bytes(b"\x80" * n, "big")
    diff = int.from_bytes(folded[1:], "big") + bias - int.from_bytes(folded[:-1], "big")
    steps = diff.to_bytes(n, "big")
    return steps.count(127) + steps.count(128) + steps.count(129)


def word_cover(lower: str) -> int:
    """The most characters that non-overlapping placeholder words cover in `lower`."""
    n = len(lower)
    at: dict[int, list[int]] = {}
    for word in PLACEHOLDER_WORDS:
        pos = lower.find(word)
        while pos >= 0:
            at.setdefault(pos, []).append(len(word))
            pos = lower.find(word, pos + 1)
    best = [0] * (n + 1)
    for i in range(n - 1, -1, -1):
        score = best[i + 1]
        for length in at.get(i, ()):
            score = max(score, length + best[i + length])
        best[i] = score
    return best[0]


def placeholder_rule(body: str) -> str | None:
    """Which placeholder rule an ASCII alphanumeric body of a key shape meets, or None.

    Every rule looks at the whole body: one case only; half of the adjacent pairs repeated
    or sequential (`xxxx`, `abcd`, `AbCd`, `1234`); its first or last 8 characters occurring
    again in it (a repeated block, `aB3d` * 12); readable placeholder words covering half
    of it (`YourMoonshotApiKeyHere…`).
    """
    raw = body.encode("ascii", "replace")
    n = len(raw)
    folded = raw.lower()
    if folded == raw or raw.upper() == raw:
        return "single case"
    if 2 * _structured_pairs(folded) >= n - 1:
        return "repeated or sequential characters"
    if n > _BLOCK and (raw.find(raw[:_BLOCK], 1) >= 0 or raw.rfind(raw[-_BLOCK:], 0, n - 1) >= 0):
        return "repeated block"
    if _words_re().search(folded) is not None and 2 * word_cover(folded.decode()) >= n:
        return "readable words"
    return None


def is_placeholder_body(body: str) -> bool:
    """For bodies of an exact key shape (48 or 64 alphanumerics)."""
    return placeholder_rule(body) is not None


def placeholder_bound(n: int) -> dict[str, float]:
    """Upper bounds, per rule, of the chance that a uniformly random body of n characters
    from the 62 letters and digits is taken for a placeholder (sum them for the total).

    - single case: no upper-case letter, or no lower-case one: 2 * (36/62)^n.
    - structured pairs: given everything before it, a pair is structured with chance at most
      6/62 (the next character, case folded, is one of three letters or digits), so the
      count is dominated by Binomial(n-1, 6/62); the rule needs half of the pairs.
    - repeated block: 2 * (n - 8) / 62^8.
    - readable words: the expected number of sets of non-overlapping word occurrences
      covering half the body (each letter matches with chance 2/62), a union bound.
    """
    from fractions import Fraction
    from math import comb

    single = 2 * Fraction(36, 62) ** n
    p = Fraction(6, 62)
    pairs = n - 1
    need = -(-pairs // 2)
    structured = sum(comb(pairs, j) * p**j * (1 - p) ** (pairs - j) for j in range(need, pairs + 1))
    # A block of 8 at each of the other n - 8 places equals the first (or last) 8 with
    # chance 62^-8, overlapping places included (8 characters are then fixed either way).
    block = 2 * max(0, n - _BLOCK) * Fraction(1, 62**_BLOCK)
    target = -(-n // 2)
    letter = Fraction(2, 62)
    weight: dict[int, int] = {}
    for word in PLACEHOLDER_WORDS:
        weight[len(word)] = weight.get(len(word), 0) + 1
    # ways[i][c]: summed chance of configurations over the first i characters covering c.
    ways = [[Fraction(0)] * (target + 1) for _ in range(n + 1)]
    ways[0][0] = Fraction(1)
    for i in range(n):
        for c, chance in enumerate(ways[i]):
            if not chance:
                continue
            ways[i + 1][c] += chance
            for length, count in weight.items():
                if i + length <= n:
                    ways[i + length][min(target, c + length)] += chance * count * letter**length
    words = ways[n][target]
    return {
        "single case": float(single),
        "repeated or sequential characters": float(structured),
        "repeated block": float(block),
        "readable words": float(words),
    }


def _letters_and_digits(core: str) -> bool:
    """Letters and digits both; or letters only that read as no phrase.

    Requiring a digit of every value dropped a random key with no digit by chance: 1 of 280
    random 32-character tokens ((52/62)^32), measured 102 of 30,000 in KIMI_API_KEY=, and 1
    of 1,100 bearer tokens of 40. A readable phrase in camel case (`ThisIsNotARealKey`)
    has capitals only at its words' starts and its words written whole; a random key of
    letters has, by chance, two capitals together and two small letters together, and no
    placeholder word (`api`, `key`, `the`, `this`, `real`, ...) written as a word is.
    `letters_only_bound` computes the chance that a random key is still dropped.
    """
    if any(c.isdigit() for c in core):
        return any(c.isalpha() for c in core)
    letters = [c for c in core if c.isalpha()]
    if not letters:
        return False
    pairs = list(itertools.pairwise(letters))
    if not any(a.isupper() and b.isupper() for a, b in pairs):
        return False
    if not any(a.islower() and b.islower() for a, b in pairs):
        return False
    return not _readable_word(core, _LETTERS_ONLY_WORDS)


def letters_only_bound(n: int) -> float:
    """Upper bound of the chance that a uniformly random token of n letters and digits is
    dropped by the letters-and-digits rule: it has no digit ((52/62)^n), and then either its
    case pattern (each letter's case a fair coin) has no two capitals together or no two
    small letters together (a string of n coins with no two heads together: Fibonacci
    F(n+2) of the 2^n), or it holds a placeholder word in a written form (a union bound;
    each letter one of 52)."""
    no_digit: float = (52 / 62) ** n
    if n < 2:
        return no_digit
    fib = [0, 1]
    while len(fib) < n + 3:
        fib.append(fib[-1] + fib[-2])
    no_pair = fib[n + 2] / float(1 << n)
    case = min(1.0, 2 * no_pair)
    words = sum(max(0, n - len(w) + 1) * 3 / float(52 ** len(w)) for w in _LETTERS_ONLY_WORDS)
    return no_digit * min(1.0, case + words)


def looks_random(body: str, min_length: int = 20) -> bool:
    """For tokens of no fixed shape: long, mixed, high-entropy, and free of placeholder words."""
    if len(body) < min_length:
        return False
    if _readable_word(body):
        return False
    if not _letters_and_digits(body):
        return False
    if _longest_run(body) >= 5 or _has_sequence(body, 6):
        return False
    return shannon_entropy(body) >= _entropy_floor(len(body))


def secret_looking(value: str, vendor_shape: bool = False) -> bool:
    """For any value in a setting named for Kimi, whatever its vendor shape: long enough,
    letters and digits both, or letters only that read as no phrase (unless the value has a
    known provider's shape: SiliconFlow keys are letters only), and not a placeholder
    (placeholder words, repeated or sequential characters, a repeated block, too few
    distinct characters)."""
    core = "".join(c for c in value if c.isascii() and c.isalnum())
    if len(core) < 16:
        return False
    if _readable_word(value):
        return False
    if not vendor_shape and not _letters_and_digits(core):
        return False
    raw = core.encode()
    n = len(raw)
    if 2 * _structured_pairs(raw.lower()) >= n - 1:
        return False
    if raw.find(raw[:_BLOCK], 1) >= 0 or raw.rfind(raw[-_BLOCK:], 0, n - 1) >= 0:
        return False
    return len(set(core)) >= min(10, n // 2)
