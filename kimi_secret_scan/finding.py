"""The one type that crosses every boundary: a key found at a place.

A `Finding` holds the whole key because filters (baselines, allow lists) need it, but
nothing that renders a finding may print it: `repr`, `str` and `to_dict` give only the
redacted form and the key's SHA-256 unless the caller explicitly asks for the key.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from enum import IntEnum
from typing import TYPE_CHECKING, Any

from kimi_secret_scan import record
from kimi_secret_scan.lazy_regex import lazy_re

if TYPE_CHECKING:
    from kimi_secret_scan.verdict import Verdict


class Confidence(IntEnum):
    LOW = 1
    MEDIUM = 2
    HIGH = 3

    def __str__(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Confidence:
        try:
            return cls[text.upper()]
        except KeyError:
            raise ValueError(f"unknown confidence {text!r} (low, medium, high)") from None


class KeyKind:
    """Which console revokes the key; decides the remediation text."""

    KIMI_CODE = "kimi-code"
    PLATFORM_CN = "moonshot-platform-cn"
    PLATFORM_INTL = "moonshot-platform-intl"
    PLATFORM = "moonshot-platform"  # region unknown
    UNKNOWN = "unknown"


@record.frozen
@dataclass(init=False, repr=False, eq=False)
class Rule:
    """What a finding is: the rule's id, title and description."""

    id: str
    title: str
    description: str

    def __init__(self, id: str, title: str, description: str) -> None:
        record.assign(self, id=id, title=title, description=description)


@record.frozen
@dataclass(init=False, repr=False, eq=False)
class Commit:
    """The commit a finding was found in, as git names it."""

    sha: str
    author: str
    email: str
    date: str  # ISO 8601, as git prints it with %aI
    # The parents' ids where the source knows them (range, pre-push, ...); () for a root
    # commit, which the remediation plan cannot `reset` to the parent of.
    parents: tuple[str, ...] | None = field(default=None, compare=False)

    def __init__(
        self, sha: str, author: str, email: str, date: str, parents: tuple[str, ...] | None = None
    ) -> None:
        record.assign(self, sha=sha, author=author, email=email, date=date, parents=parents)


def redact(secret: str) -> str:
    """`sk-kimi-AbCd…WxYz`: the prefix, the first and last four characters of the body."""
    for prefix in ("sk-kimi-", "sk-"):
        if secret.startswith(prefix):
            head, body = prefix, secret[len(prefix) :]
            break
    else:
        head, body = "", secret
    if len(body) >= 16:
        return f"{head}{body[:4]}…{body[-4:]}"
    if len(body) >= 8:
        return f"{head}{body[:2]}…"
    return f"{head}…"


# Any sk- token long enough to be a key: excerpts are redacted of these too, so a line with
# a second key (suppressed, or of another vendor) never shows it whole.
_SK_TOKEN = lazy_re(r"(?<![A-Za-z0-9])sk-[A-Za-z0-9_-]{12,}|sk-(?:kimi-)?[A-Za-z0-9]{20,}")


def sha256_hex(secret: str) -> str:
    # CPython's built-in SHA-256 loads in microseconds; hashlib loads OpenSSL (2-6 ms of a
    # hook run that finds a key). A key is short: OpenSSL's speed buys nothing here.
    data = secret.encode("utf-8", "surrogateescape")
    try:
        from _sha256 import sha256  # type: ignore[import-not-found]  # Python <= 3.11
    except ImportError:
        try:
            from _sha2 import sha256  # type: ignore[import-not-found]  # Python >= 3.12
        except ImportError:  # a build without them
            from hashlib import sha256
    return str(sha256(data).hexdigest())


@record.frozen
@dataclass(init=False, repr=False, eq=False)
class Finding:
    """A key found at a place (one type for every source and report)."""

    rule: Rule
    confidence: Confidence
    key_kind: str
    path: str
    line: int
    column: int
    end_column: int
    secret: str = field(compare=True)
    # A window of the line around the key (long minified lines are cut), key included.
    excerpt: str = ""
    commit: Commit | None = None
    note: str | None = None
    # Which encoding the key was found under (base64, percent, …), None when plain.
    encoding: str | None = None
    # What the issuing service said about the key (--verify); None when not asked.
    verification: Verdict | None = field(default=None, compare=False)
    # The other provider the key's context names with nothing tying it to Kimi
    # (`OPENAI_BASE_URL=https://api.openai.com/v1`): --verify does not send such a key.
    other_vendor: str | None = field(default=None, compare=False)
    # Found in a piece of a container (unpack/): the outermost container's path, the file a
    # plan or a code-scanning alert names (`path` is then `bundle.zip!app/.env`).
    container: str | None = field(default=None, compare=False)

    def __init__(
        self,
        rule: Rule,
        confidence: Confidence,
        key_kind: str,
        path: str,
        line: int,
        column: int,
        end_column: int,
        secret: str,
        excerpt: str = "",
        commit: Commit | None = None,
        note: str | None = None,
        encoding: str | None = None,
        verification: Verdict | None = None,
        other_vendor: str | None = None,
        container: str | None = None,
    ) -> None:
        record.assign(
            self,
            rule=rule,
            confidence=confidence,
            key_kind=key_kind,
            path=path,
            line=line,
            column=column,
            end_column=end_column,
            secret=secret,
            excerpt=excerpt,
            commit=commit,
            note=note,
            encoding=encoding,
            verification=verification,
            other_vendor=other_vendor,
            container=container,
        )

    @property
    def member(self) -> str | None:
        """Where in its container the key is (`app/.env` of `bundle.zip!app/.env`); None for
        a key in a file itself, or when `path` no longer names the container (a source
        that relocated the finding)."""
        if self.container and self.path.startswith(self.container + "!"):
            return self.path[len(self.container) + 1 :]
        return None

    @property
    def file(self) -> str:
        """The file of the repository that holds the key: the container for a member."""
        return self.container if self.member is not None and self.container else self.path

    @property
    def secret_sha256(self) -> str:
        return sha256_hex(self.secret)

    @property
    def redacted(self) -> str:
        return redact(self.secret)

    def shown_secret(self, show_secrets: bool) -> str:
        return self.secret if show_secrets else self.redacted

    def shown_excerpt(self, show_secrets: bool) -> str:
        if show_secrets:
            return self.excerpt
        text = self.excerpt.replace(self.secret, self.redacted)
        return _SK_TOKEN.sub(lambda m: redact(m.group(0)), text)

    def __repr__(self) -> str:
        return (
            f"Finding(rule={self.rule.id!r}, path={self.path!r}, line={self.line}, "
            f"column={self.column}, secret={self.redacted!r})"
        )

    __str__ = __repr__

    def to_dict(self, show_secrets: bool = False) -> dict[str, Any]:
        return {
            "rule": self.rule.id,
            "title": self.rule.title,
            "confidence": str(self.confidence),
            "key_kind": self.key_kind,
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "end_column": self.end_column,
            "secret": self.shown_secret(show_secrets),
            "secret_sha256": self.secret_sha256,
            "excerpt": self.shown_excerpt(show_secrets),
            "commit": self.commit.sha if self.commit else None,
            "author": (f"{self.commit.author} <{self.commit.email}>" if self.commit else None),
            "date": self.commit.date if self.commit else None,
            "note": self.note,
            "encoding": self.encoding,
            "verification": self.verification.to_dict() if self.verification else None,
        }


def _heads(secrets: Iterable[str], size: int) -> dict[str, list[tuple[int, frozenset[str]]]]:
    """Secrets by their first `size` characters, then by length (longest first): a lookup
    costs one set test per distinct length, however many secrets share a head."""
    grouped: dict[str, dict[int, set[str]]] = {}
    for secret in secrets:
        grouped.setdefault(secret[:size], {}).setdefault(len(secret), set()).add(secret)
    return {
        head: [(n, frozenset(same)) for n, same in sorted(by_length.items(), reverse=True)]
        for head, by_length in grouped.items()
    }


def _match(excerpt: str, at: int, group: list[tuple[int, frozenset[str]]]) -> str | None:
    for length, same in group:
        candidate = excerpt[at : at + length]
        if candidate in same:
            return candidate
    return None


def redact_neighbours(findings: Sequence[Finding]) -> list[Finding]:
    """Redact, in each finding's excerpt, the other keys found in the same content.

    An excerpt is the finding's line; when that line holds a second key, showing the first
    finding with --show-secrets must not be the only thing that keeps the second one hidden.

    Linear in the number of findings: an excerpt is searched for the places a key can start
    (each `sk-`, found by `str.find`) and the secrets starting there are looked up by their
    first characters, instead of testing every other secret against every excerpt. Secrets
    of other shapes (header tokens, rare) are looked up at every position of the excerpt.
    """
    secrets = {f.secret for f in findings}
    if len(secrets) < 2:
        return list(findings)
    sk = [s for s in secrets if s.startswith("sk-")]
    other = [s for s in secrets if not s.startswith("sk-")]
    sk_size = min((len(s) for s in sk), default=1)
    other_size = min((len(s) for s in other), default=1)
    sk_heads = _heads(sk, sk_size)
    other_heads = _heads(other, other_size)
    out = []
    for f in findings:
        excerpt = f.excerpt
        hits: list[tuple[int, str]] = []
        at = excerpt.find("sk-") if sk_heads else -1
        while at >= 0:
            group = sk_heads.get(excerpt[at : at + sk_size])
            found = _match(excerpt, at, group) if group else None
            if found is not None:
                hits.append((at, found))
            at = excerpt.find("sk-", at + 1)
        if other_heads:
            for at in range(len(excerpt) - other_size + 1):
                group = other_heads.get(excerpt[at : at + other_size])
                found = _match(excerpt, at, group) if group else None
                if found is not None:
                    hits.append((at, found))
        pieces: list[str] = []
        pos = 0
        for at, cand in sorted(hits):
            if at < pos or cand == f.secret:
                continue
            pieces += [excerpt[pos:at], redact(cand)]
            pos = at + len(cand)
        if not pieces:
            out.append(f)
        else:
            pieces.append(excerpt[pos:])
            out.append(replace(f, excerpt="".join(pieces)))
    return out
