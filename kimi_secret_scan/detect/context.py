"""Context: the words, endpoints and setting names that tie a place to Kimi / Moonshot."""

from __future__ import annotations

import functools
import re

from kimi_secret_scan.lazy_regex import lazy_re
from kimi_secret_scan.settings import DEFAULT_SETTINGS, DetectorSettings

# Chinese documentation and code name Moonshot AI 月之暗面 (its company name, 北京月之暗面科技
# 有限公司; pinyin yuezhianmian); "Kimi 开放平台" and "Moonshot AI 开放平台" already hold
# an ASCII name. Besides UTF-8 (and UTF-16, read as UTF-8), the spellings that JSON
# (`json.dumps` escapes non-ASCII by default), URLs and HTML give it.
CHINESE_NAMES = (
    "月之暗面".encode(),
    rb"\\u6708\\u4e4b\\u6697\\u9762",
    rb"%e6%9c%88%e4%b9%8b%e6%9a%97%e9%9d%a2",
    rb"&#26376;&#20043;&#26263;&#38754;",
    rb"&#x6708;&#x4e4b;&#x6697;&#x9762;",
    b"yuezhianmian",
)
_NAMES = rb"moonshot|kimi|" + b"|".join(CHINESE_NAMES)
# Words that tie a place to Kimi / Moonshot, and hints at which console issued the key.
CONTEXT = lazy_re(rb"(?i)" + _NAMES)
# After an assignment's separator: blanks, then a backslash and/or a quote and blanks again,
# written so that no two runs of blanks meet (`[ \t]*\\?["']?[ \t]*` is tried a quadratic
# number of ways on a run of blanks: review h13a timed 33 ms a token on a 200-byte prefix).
# These patterns are `re`'s, which has no time-out.
AFTER_SEPARATOR = rb"[ \t]*(?:(?:\\[\"'\x60]?|[\"'\x60])[ \t]*)?"
# What may follow a Kimi name in a setting's name: ASCII name characters, or Chinese
# (`月之暗面密钥:`), up to 40 bytes; then the assignment.
# A type annotation may come between (`kimiApiKey: string =`, `kimi_api_key: str =`).
ASSIGN_TAIL = (
    rb"(?:[\w.\-\[\]]|[\x80-\xff]){0,40}(?:[ \t]*:[ \t]*[A-Za-z_][\w.\[\]|]{0,30}(?=[ \t]*=))?"
    rb"\\?[\"'\x60]?[ \t]*(?::=|=>|=|:|,|\()" + AFTER_SEPARATOR + rb"(?:bearer[ \t]+)?$"
)
KIMI_CODE_HINT = lazy_re(rb"(?i)api\.kimi\.com|kimi\.com/code|kimi[_-]?code|kimi-for-coding")
# The Open Platform key's shape: never a Kimi Code key (those are all `sk-kimi-` + 64).
PLATFORM_SHAPE = lazy_re(r"sk-[A-Za-z0-9]{48}")
CN_HINT = lazy_re(rb"(?i)moonshot\.cn|platform\.kimi\.com")
INTL_HINT = lazy_re(rb"(?i)moonshot\.ai|platform\.kimi\.ai")
ENDPOINT = lazy_re(rb"(?i)api\.moonshot\.(?:cn|ai)|api\.kimi\.com|moonshot\.(?:cn|ai)/")
OTHER_VENDOR = lazy_re(
    rb"(?i)api\.openai\.com|openrouter|deepseek|dashscope|siliconflow|one-?api|new-?api"
    rb"|api\.anthropic\.com|api\.together|groq"
)

# `KIMI_API_KEY=`, `"moonshot_key": "`, `kimi.api_key = '`: a Kimi-named setting being assigned.
KIMI_ASSIGNMENT = lazy_re(rb"(?i)(?:kimi|moonshot|" + "月之暗面".encode() + rb")" + ASSIGN_TAIL)
# A key-like setting being assigned (api_key, apiKey, AUTH_TOKEN, x-api-key, …).
KEY_ASSIGNMENT = lazy_re(
    rb"(?i)(?:key|token|secret|auth\w*|password)\\?[\"'\x60]?[ \t]*(?::=|=>|=|:|,|\()"
    + AFTER_SEPARATOR
    + rb"(?:bearer[ \t]+)?$"
)


# The patterns below are compiled on first use: only a key-shaped token that is not of an
# exact key shape needs them, never a clean hook run.


@functools.cache
def api_host() -> re.Pattern[bytes]:
    """The API hosts code calls (a console page, platform.moonshot.cn, is not one)."""
    return re.compile(rb"(?i)api\.moonshot\.(?:cn|ai)|api\.kimi\.com")


@functools.cache
def _assigned_name() -> re.Pattern[bytes]:
    # The name a value is assigned to, at the end of the text before the value.
    return re.compile(
        rb"([A-Za-z0-9_.\-]{1,80})\\?[\"'\x60]?[ \t]*(?::=|=>|=|:|,|\()"
        + AFTER_SEPARATOR
        + rb"(?:(?i:bearer)[ \t]+)?$"
    )


@functools.cache
def _other_vendor_name() -> re.Pattern[bytes]:
    # Words in a setting's name that name another provider (OPENAI_API_KEY, GEMINI_API_KEY).
    return re.compile(
        rb"(?i)openai|azure|gemini|google|anthropic|claude|deepseek|dashscope|qwen|zhipu|glm"
        rb"|baichuan|minimax|groq|mistral|cohere|together|openrouter|siliconflow|perplexity"
        rb"|xai|grok|hunyuan|doubao|volc|ernie|stepfun|huggingface|replicate|fireworks"
        rb"|voyage|jina|tavily|serp|langsmith|pinecone|github|aws|stripe"
    )


def named_for_other_vendor(prefix: bytes) -> bool:
    """Is the value after `prefix` assigned to a setting named for another provider?

    Such a setting is not a Kimi setting: only an endpoint the code calls ties it to Kimi
    (OPENAI_API_KEY with OPENAI_BASE_URL=https://api.moonshot.cn/v1 is how the OpenAI SDK
    reaches Moonshot), never a word or a console URL in a comment.
    """
    return other_vendor_setting(prefix) is not None


def other_vendor_setting(prefix: bytes) -> str | None:
    """The provider named by the setting the value after `prefix` is assigned to
    (`OPENAI_API_KEY=` -> "OpenAI"), or None."""
    match = _assigned_name().search(prefix)
    if match is None:
        return None
    name = match.group(1)
    word = _other_vendor_name().search(name)
    if word is None or CONTEXT.search(name) is not None:
        return None
    folded = str(word.group().decode("ascii")).lower()
    return _VENDOR_WORDS.get(folded, folded.capitalize())


_VENDOR_WORDS = {
    "openai": "OpenAI",
    "azure": "Azure OpenAI",
    "gemini": "Google Gemini",
    "google": "Google",
    "anthropic": "Anthropic",
    "claude": "Anthropic",
    "deepseek": "DeepSeek",
    "dashscope": "Alibaba DashScope",
    "qwen": "Alibaba DashScope",
    "zhipu": "Zhipu",
    "glm": "Zhipu",
    "minimax": "MiniMax",
    "openrouter": "OpenRouter",
    "siliconflow": "SiliconFlow",
    "xai": "xAI",
    "grok": "xAI",
    "huggingface": "Hugging Face",
    "github": "GitHub",
    "aws": "AWS",
}

# API hosts of other providers. `--verify` never sends a key whose context names one of
# these (OPENAI_BASE_URL=https://api.openai.com/v1) unless a Kimi API host is named too:
# OpenAI's legacy keys and New-API relay keys share the Open Platform's sk- + 48 shape, and
# a key sent to Moonshot that is not Moonshot's is a key leaked to a third party.
_OTHER_VENDOR_HOSTS = (
    (b"api.openai.com", "OpenAI"),
    (b"openai.azure.com", "Azure OpenAI"),
    (b"api.deepseek.com", "DeepSeek"),
    (b"dashscope.aliyuncs.com", "Alibaba DashScope"),
    (b"dashscope-intl.aliyuncs.com", "Alibaba DashScope"),
    (b"api.siliconflow.cn", "SiliconFlow"),
    (b"api.siliconflow.com", "SiliconFlow"),
    (b"openrouter.ai", "OpenRouter"),
    (b"api.anthropic.com", "Anthropic"),
    (b"api.groq.com", "Groq"),
    (b"api.together.xyz", "Together AI"),
    (b"api.together.ai", "Together AI"),
    (b"generativelanguage.googleapis.com", "Google Gemini"),
    (b"api.mistral.ai", "Mistral"),
    (b"open.bigmodel.cn", "Zhipu"),
    (b"api.x.ai", "xAI"),
    (b"ark.cn-beijing.volces.com", "Volcengine Ark"),
    (b"api.minimax.chat", "MiniMax"),
    (b"api.minimaxi.com", "MiniMax"),
    (b"api.baichuan-ai.com", "Baichuan"),
    (b"api.perplexity.ai", "Perplexity"),
    (b"api.fireworks.ai", "Fireworks"),
    (b"api.cohere.com", "Cohere"),
    (b"api.cohere.ai", "Cohere"),
)
OTHER_VENDOR_HOST = lazy_re(
    rb"(?i)(?<![A-Za-z0-9-])(?:[A-Za-z0-9-]+\.)?(?:"
    + b"|".join(re.escape(host) for host, _ in _OTHER_VENDOR_HOSTS)
    + rb")(?![A-Za-z0-9-])"
)


def vendor_of_host(text: bytes) -> str:
    """The provider whose API host `text` (a match of OTHER_VENDOR_HOST) names."""
    folded = text.lower()
    for host, vendor in _OTHER_VENDOR_HOSTS:
        if folded.endswith(host):
            return vendor
    return "another provider"


class Patterns:
    """The context and assignment patterns, extended by the project's settings."""

    def __init__(self, settings: DetectorSettings) -> None:
        self.folded_words = tuple(w.lower().encode() for w in settings.context_words)
        self.context = CONTEXT
        self.assignment = KIMI_ASSIGNMENT
        # Compiled on first use as the defaults are (`re.escape` escapes the same bytes
        # `regex.escape` would for a literal): a project's words cost a hook run that never
        # asks for context nothing.
        if settings.context_words:
            words = b"|".join(re.escape(w.encode()) for w in settings.context_words)
            self.context = lazy_re(rb"(?i)" + _NAMES + b"|" + words)
        if settings.variable_names or settings.context_words:
            names = b"|".join(
                re.escape(n.encode()) for n in (*settings.variable_names, *settings.context_words)
            )
            self.assignment = lazy_re(
                rb"(?i)(?:kimi|moonshot|" + "月之暗面".encode() + b"|" + names + rb")" + ASSIGN_TAIL
            )


DEFAULT_PATTERNS = Patterns(DEFAULT_SETTINGS)


@functools.lru_cache(maxsize=8)
def _patterns_for(settings: DetectorSettings) -> Patterns:
    return Patterns(settings)


def patterns_for(settings: DetectorSettings) -> Patterns:
    # Compiled once per settings, not once per blob of a history scan.
    if settings is DEFAULT_SETTINGS or settings == DEFAULT_SETTINGS:
        return DEFAULT_PATTERNS
    return _patterns_for(settings)
