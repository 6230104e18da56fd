"""The detection rules: stable ids, titles and what each one means."""

from __future__ import annotations

from kimi_secret_scan.finding import Rule

KIMI_CODE_KEY = Rule(
    id="kimi-code-api-key",
    title="Kimi Code API key",
    description="A Kimi Code (membership) key: sk-kimi- followed by 64 letters and digits. "
    "The prefix identifies it, so it is reported wherever it appears.",
)
MOONSHOT_KEY = Rule(
    id="moonshot-api-key",
    title="Moonshot / Kimi Open Platform API key",
    description="sk- followed by exactly 48 mixed-case letters and digits, the shape of "
    "Open Platform keys (platform.moonshot.cn / platform.moonshot.ai). High confidence with "
    "Kimi or Moonshot context nearby, lower without.",
)
KIMI_UNUSUAL_KEY = Rule(
    id="kimi-key-unusual-shape",
    title="Kimi key of an unusual shape",
    description="A random-looking sk-ki… token that is not exactly a Kimi Code key "
    "(truncated, lengthened, or a future format).",
)
KIMI_ASSIGNED_KEY = Rule(
    id="kimi-assigned-key",
    title="Key assigned to a Kimi / Moonshot setting",
    description="A secret-looking value of any shape in a setting named for Kimi "
    "(KIMI_API_KEY, MOONSHOT_API_KEY, 月之暗面密钥; the note names the shape), or an sk- "
    "token in a key setting next to a Kimi endpoint the code calls (ANTHROPIC_AUTH_TOKEN "
    "with ANTHROPIC_BASE_URL=https://api.kimi.com/coding/, ...).",
)
AUTH_HEADER_KEY = Rule(
    id="kimi-auth-header",
    title="Literal token in an Authorization / x-api-key header for a Kimi endpoint",
    description="A literal token in an inline `Authorization: Bearer` or `x-api-key` header "
    "(curl -H, HTTP client header maps, raw HTTP) with a Kimi or Moonshot endpoint nearby.",
)

ALL_RULES: tuple[Rule, ...] = (
    KIMI_CODE_KEY,
    MOONSHOT_KEY,
    KIMI_UNUSUAL_KEY,
    KIMI_ASSIGNED_KEY,
    AUTH_HEADER_KEY,
)
RULES_BY_ID = {rule.id: rule for rule in ALL_RULES}
