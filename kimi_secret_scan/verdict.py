"""What the issuing service said about a key (`--verify`): the type reports render.

Kept apart from `verify.py`, which holds the network client: a report, a Finding and the
pre-commit hook can name a verdict without loading ssl and http.client.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kimi_secret_scan import record

LIVE = "live"
REVOKED = "revoked"
UNKNOWN = "unknown"

# How each status reads in text: "revoked" is what a 401 means only for a key that was once
# valid; the service cannot tell a revoked key from a wrong one.
WORDS = {LIVE: "live", REVOKED: "revoked or invalid", UNKNOWN: "unknown"}
# Live keys first: they are the ones to revoke now.
RANK = {LIVE: 0, UNKNOWN: 1, REVOKED: 2}


@record.frozen
@dataclass(init=False, repr=False, eq=False)
class Verdict:
    """What the issuing service said about a key (--verify)."""

    status: str  # LIVE, REVOKED or UNKNOWN
    reason: str  # for a person: "HTTP 200", "HTTP 401, after HTTP 401 on api.moonshot.cn"
    host: str | None  # the official host that answered (None when none was asked)
    # Why an unknown is unknown: "network" (no HTTP answer), "deadline" (the time limit
    # ended it), "http" (an answer that says neither), "not-sent". Not part of the JSON.
    cause: str = field(default="http", compare=False)
    # The official hosts that answered 401 (an Open Platform region the key is not live in).
    # Not part of the JSON either: the reason says it for people.
    refused: tuple[str, ...] = field(default=(), compare=False)

    def __init__(
        self,
        status: str,
        reason: str,
        host: str | None,
        cause: str = "http",
        refused: tuple[str, ...] = (),
    ) -> None:
        record.assign(self, status=status, reason=reason, host=host, cause=cause, refused=refused)

    @property
    def word(self) -> str:
        return WORDS[self.status]

    def describe(self) -> str:
        """`live (api.moonshot.cn: HTTP 200)`, one phrase for text reports."""
        where = f"{self.host}: " if self.host else ""
        return f"{self.word} ({where}{self.reason})"

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "reason": self.reason, "host": self.host}


def rank(verdict: Verdict | None) -> int:
    """Sort order for plans: live, then unknown (and not verified: we do not know), then
    revoked."""
    return RANK[verdict.status] if verdict else RANK[UNKNOWN]


def tagged(shown_key: str, verdict: Verdict | None) -> str:
    """A key as listed in a plan: `sk-kimi-AbCd…WxYz (live)`; unchanged when not verified."""
    return f"{shown_key} ({verdict.word})" if verdict else shown_key
