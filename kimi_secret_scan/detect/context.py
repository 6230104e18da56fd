"""Context: the words, endpoints and setting names that tie a place to Kimi / Moonshot."""

from __future__ import annotations

import functools

import regex

from kimi_secret_scan.settings import DEFAULT_SETTINGS, DetectorSettings

# Words that tie a place to Kimi / Moonshot, and hints at which console issued the key.
CONTEXT = regex.compile(rb"(?i)moonshot|kimi")
ASSIGN_TAIL = (
    rb"[\w.\-\[\]]{0,40}\\?[\"'\x60]?[ \t]*(?::=|=>|=|:|,|\()[ \t]*"
    rb"\\?[\"'\x60]?[ \t]*(?:bearer[ \t]+)?$"
)
KIMI_CODE_HINT = regex.compile(rb"(?i)api\.kimi\.com|kimi\.com/code|kimi[_-]?code|kimi-for-coding")
CN_HINT = regex.compile(rb"(?i)moonshot\.cn|platform\.kimi\.com")
INTL_HINT = regex.compile(rb"(?i)moonshot\.ai|platform\.kimi\.ai")
ENDPOINT = regex.compile(rb"(?i)api\.moonshot\.(?:cn|ai)|api\.kimi\.com|moonshot\.(?:cn|ai)/")
OTHER_VENDOR = regex.compile(
    rb"(?i)api\.openai\.com|openrouter|deepseek|dashscope|siliconflow|one-?api|new-?api"
    rb"|api\.anthropic\.com|api\.together|groq"
)

# `KIMI_API_KEY=`, `"moonshot_key": "`, `kimi.api_key = '`: a Kimi-named setting being assigned.
KIMI_ASSIGNMENT = regex.compile(rb"(?i)(?:kimi|moonshot)" + ASSIGN_TAIL)
# A key-like setting being assigned (api_key, apiKey, AUTH_TOKEN, x-api-key, …).
KEY_ASSIGNMENT = regex.compile(
    rb"(?i)(?:key|token|secret|auth\w*|password)\\?[\"'\x60]?[ \t]*(?::=|=>|=|:|,|\()[ \t]*"
    rb"\\?[\"'\x60]?[ \t]*(?:bearer[ \t]+)?$"
)


class Patterns:
    """The context and assignment patterns, extended by the project's settings."""

    def __init__(self, settings: DetectorSettings) -> None:
        self.folded_words = tuple(w.lower().encode() for w in settings.context_words)
        self.context = CONTEXT
        self.assignment = KIMI_ASSIGNMENT
        if settings.context_words:
            words = b"|".join(regex.escape(w.encode()) for w in settings.context_words)
            self.context = regex.compile(rb"(?i)moonshot|kimi|" + words)
        if settings.variable_names or settings.context_words:
            names = b"|".join(
                regex.escape(n.encode())
                for n in (*settings.variable_names, *settings.context_words)
            )
            self.assignment = regex.compile(rb"(?i)(?:kimi|moonshot|" + names + rb")" + ASSIGN_TAIL)


DEFAULT_PATTERNS = Patterns(DEFAULT_SETTINGS)


@functools.lru_cache(maxsize=8)
def _patterns_for(settings: DetectorSettings) -> Patterns:
    return Patterns(settings)


def patterns_for(settings: DetectorSettings) -> Patterns:
    # Compiled once per settings, not once per blob of a history scan.
    if settings is DEFAULT_SETTINGS or settings == DEFAULT_SETTINGS:
        return DEFAULT_PATTERNS
    return _patterns_for(settings)


def names_kimi(folded: bytes, patterns: Patterns) -> bool:
    """Does the lower-cased content name Moonshot, a Kimi endpoint, or a project word?

    Two long words, searched for in every blob of a history, cost no more than main's
    endpoint test; a bare "kimi" (short, so a slower search) is left out.
    """
    return (
        b"moonshot" in folded
        or b"kimi.com" in folded
        or any(word in folded for word in patterns.folded_words)
    )
