"""One layer of a scan: the data (the content itself, or text decoded from it), where its
bytes came from, and the questions every detector asks of a place in it (context nearby,
the line before it, where it is in the content)."""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kimi_secret_scan import record
from kimi_secret_scan.content import Content
from kimi_secret_scan.detect import limits
from kimi_secret_scan.detect.context import (
    CN_HINT,
    INTL_HINT,
    KIMI_CODE_HINT,
    OTHER_VENDOR_HOST,
    PLATFORM_SHAPE,
    Patterns,
    api_host,
    other_vendor_setting,
    vendor_of_host,
)
from kimi_secret_scan.detect.excerpt import Locator, Span, decode_text
from kimi_secret_scan.finding import Confidence, Finding, KeyKind, Rule
from kimi_secret_scan.lazy_regex import lazy_re

if TYPE_CHECKING:
    import re

# Masked keys (`sk-kimi-abcd…`, `sk-…***`) are what people paste into docs on purpose.
_MASK_AFTER = (b"*", b"\xe2\x80\xa6", b"...", b"<", b"{", b"$", b"[")
# A URL's scheme, at the end of the text before its host.
_SCHEME_AT_END = lazy_re(rb"(?i)[a-z][a-z0-9+.\-]{0,15}://$")
# How comment lines start in shell, YAML, .env, Python, C-family, SQL, INI and HTML.
_COMMENT_MARKS = (b"#", b"//", b"/*", b"*", b"--", b";", b"<!--")


@record.frozen
@dataclass(init=False, repr=False, eq=False)
class Origin:
    """Where a decoded layer came from: its parent and the parent offset of each byte."""

    parent: Layer
    positions: list[int]
    encoding: str

    def __init__(self, parent: Layer, positions: list[int], encoding: str) -> None:
        record.assign(self, parent=parent, positions=positions, encoding=encoding)


class Layer:
    """The state of one layer's scan: the data and the lazily found context positions.

    The top layer is the content itself; decoded layers point back to it through `origin`,
    so findings inside them are located at the encoded text.
    """

    def __init__(
        self,
        content: Content,
        data: bytes,
        patterns: Patterns,
        origin: Origin | None = None,
        label: str | None = None,
    ) -> None:
        self.patterns = patterns
        self.content = content
        self.data = data
        self.origin = origin
        self.depth: int = 0 if origin is None else origin.parent.depth + 1
        self.root: Layer = self if origin is None else origin.parent.root
        parent_label = None if origin is None else origin.parent.label
        own = label if origin is None else origin.encoding
        self.label: str | None = "+".join(x for x in (parent_label, own) if x) or None
        self.locator = Locator(data)
        # Where each finding's key (in whatever spelling) is in the root data, by id().
        self.spans: dict[int, Span] = {}
        self._near_cache: dict[tuple[int, bool], tuple[list[int], list[int]]] = {}

    def to_parent(self, offset: int) -> int:
        assert self.origin is not None
        positions = self.origin.positions
        return positions[min(offset, len(positions) - 1)]

    def to_root(self, offset: int) -> int:
        scan = self
        while scan.origin is not None:
            offset = scan.to_parent(offset)
            scan = scan.origin.parent
        return offset

    def _positions(
        self, pattern: re.Pattern[bytes], code_only: bool = False
    ) -> tuple[list[int], list[int]]:
        """Starts and ends of the pattern's matches (both increasing: matches never overlap);
        with `code_only`, only those outside comment lines. Context patterns are `re`'s:
        alternations of words and hosts, which cannot backtrack without bound (no time-out)."""
        key = (id(pattern), code_only)
        if key not in self._near_cache:
            starts: list[int] = []
            ends: list[int] = []
            if code_only:
                for s, e in zip(*self._positions(pattern), strict=True):
                    if not self.in_comment(s):
                        starts.append(s)
                        ends.append(e)
            else:
                for m in pattern.finditer(self.data):
                    starts.append(m.start())
                    ends.append(m.end())
            self._near_cache[key] = (starts, ends)
        return self._near_cache[key]

    def in_comment(self, offset: int) -> bool:
        """Is `offset` on a comment line (`#`, `//`, `/*`, `*`, `--`, `;`, `<!--`)?"""
        data = self.data
        line_start = data.rfind(b"\n", max(0, offset - 400), offset) + 1
        if line_start == 0 and offset > 400:
            return False
        return data[line_start:offset].lstrip(b" \t").startswith(_COMMENT_MARKS)

    def near(
        self,
        pattern: re.Pattern[bytes],
        start: int,
        end: int,
        code_only: bool = False,
    ) -> bool:
        """Is there a match of `pattern` within the context window, outside [start, end)?

        In a decoded layer the encoded text's surroundings count too (a Kubernetes Secret
        named `moonshot-credentials` is context for the base64 value under it). Matches are
        found once per layer and looked up by bisection, so a file with thousands of keys
        and thousands of context words costs no more than the sum of both. `code_only`
        leaves out matches on comment lines (a console URL in a comment is weaker context
        than an endpoint the code calls).
        """
        return self.near_text(pattern, start, end, code_only) is not None

    def near_text(
        self,
        pattern: re.Pattern[bytes],
        start: int,
        end: int,
        code_only: bool = False,
    ) -> bytes | None:
        """The first match `near` finds, or None."""
        lo, hi = start - limits.CONTEXT_WINDOW, end + limits.CONTEXT_WINDOW
        starts, ends = self._positions(pattern, code_only)
        i = bisect.bisect_right(ends, lo)
        while i < len(starts) and starts[i] < hi:
            if not (starts[i] >= start and ends[i] <= end):
                return self.data[starts[i] : ends[i]]
            i += 1
        if self.origin is None:
            return None
        parent = self.origin.parent
        return parent.near_text(pattern, self.to_parent(start), self.to_parent(end), code_only)

    def line_prefix(self, start: int) -> bytes:
        line_start = self.data.rfind(b"\n", max(0, start - 200), start) + 1
        prefix = self.data[max(line_start, start - 200) : start]
        if line_start == 0 and self.origin is not None and len(prefix) < 200:
            # The decoded window starts mid-line: what precedes the encoded text counts too
            # (`api_key: <base64>`, `Authorization: Basic <base64>`).
            prefix = self.origin.parent.line_prefix(self.to_parent(0)) + prefix
        return prefix[-200:]

    def key_kind(self, start: int, end: int, secret: str) -> str:
        """Every Kimi Code key is `sk-kimi-` + 64, so an Open Platform shape (`sk-` + 48) is
        never one, whatever Kimi Code URL or setting is nearby (Claude Code on Kimi Code
        beside a `MOONSHOT_API_KEY=`, a kimi-cli config with both providers): calling it
        Kimi Code sent it to api.kimi.com and its user to the wrong console. Its region
        comes from the platform hosts nearby, else it is unknown. Only a token of neither
        shape (a bearer token sent to api.kimi.com) takes Kimi Code from its context."""
        if secret.startswith("sk-kimi-"):
            return KeyKind.KIMI_CODE
        if not PLATFORM_SHAPE.fullmatch(secret) and self.near(KIMI_CODE_HINT, start, end):
            return KeyKind.KIMI_CODE
        cn = self.near(CN_HINT, start, end)
        intl = self.near(INTL_HINT, start, end)
        if cn and not intl:
            return KeyKind.PLATFORM_CN
        if intl and not cn:
            return KeyKind.PLATFORM_INTL
        return KeyKind.PLATFORM

    def other_vendor(self, start: int, end: int) -> str | None:
        """The other provider the key's context names, when nothing ties it to Kimi: then
        `--verify` does not send it (a key sent to Moonshot that is another vendor's has
        leaked to a third party). Named: another provider's API host nearby (a comment
        counts), or a setting named for one (`OPENAI_API_KEY=`). Tied to Kimi: a setting
        named for Kimi on the key's own line; for a key in a setting named for another
        provider, only a Kimi API host the code sets for that same provider's settings
        (`OPENAI_BASE_URL=https://api.moonshot.cn/v1`) or calls on the key's own line; for
        a key in any other setting, a Kimi API host the code calls nearby. Kimi words or
        settings on other lines never tie a key its own setting names for another provider:
        `MOONSHOT_API_KEY=` above `OPENAI_API_KEY=` is a file with two providers' keys.
        (The same key as the value of a Kimi setting elsewhere is sent: verify.py.)"""
        prefix = self.line_prefix(start)
        host = self.near_text(OTHER_VENDOR_HOST, start, end)
        setting = other_vendor_setting(prefix)
        if host is None and setting is None:
            return None
        if self.patterns.assignment.search(prefix):
            return None
        if setting is not None:
            return None if self._kimi_endpoint_for(setting, start, end) else setting
        if self.near(api_host(), start, end, code_only=True):
            return None
        return vendor_of_host(host) if host is not None else setting

    def _kimi_endpoint_for(self, vendor: str, start: int, end: int) -> bool:
        """Is a Kimi API host the code calls (not on a comment line) within the context
        window either on the key's own line or the value of a setting named for `vendor`,
        the provider the key's own setting names (OPENAI_BASE_URL for OPENAI_API_KEY)?"""
        data = self.data
        # The key's own line, looked for only as far as a host this asks about can be (one
        # ending within the window): to the content's ends, each key of a long line made
        # it time growing with the square of its length.
        reach = limits.CONTEXT_WINDOW + 256
        low = max(0, start - reach)
        own_start = data.rfind(b"\n", low, start) + 1 or low
        own_end = data.find(b"\n", end, end + reach)
        own_end = min(len(data), end + reach) if own_end < 0 else own_end
        starts, ends = self._positions(api_host(), code_only=True)
        i = bisect.bisect_right(ends, start - limits.CONTEXT_WINDOW)
        while i < len(starts) and starts[i] < end + limits.CONTEXT_WINDOW:
            at = starts[i]
            i += 1
            if own_start <= at < own_end:
                return True
            # The setting the URL is the value of: the text before it, less its scheme.
            before = _SCHEME_AT_END.sub(b"", self.line_prefix(at))
            if other_vendor_setting(before) == vendor:
                return True
        if self.origin is None:
            return False
        parent = self.origin.parent
        return parent._kimi_endpoint_for(vendor, self.to_parent(start), self.to_parent(end))

    def finding(
        self,
        rule: Rule,
        confidence: Confidence,
        start: int,
        end: int,
        key_kind: str | None = None,
        note: str | None = None,
        secret: str | None = None,
    ) -> Finding:
        if secret is None:
            secret = decode_text(self.data[start:end])
        root = self.root
        root_start, root_end = self.to_root(start), self.to_root(end)
        data = root.data
        line = root.locator.line_of(root_start)
        line_start, line_end = root.locator.line_bounds(root_start)
        col = root.locator.column(line_start, root_start)
        end_column = col + (
            len(decode_text(data[root_start:root_end])) if root_end <= line_end else len(secret)
        )
        # The excerpt is made once every key of the content is known (layered.py), from
        # this span: decoded or joined keys are shown (redacted on output) in place of their
        # encoded or split form, so an excerpt never carries a whole key in another spelling.
        span = Span(root_start, root_end, secret, line_start, line_end)
        kind = key_kind or self.key_kind(start, end, secret)
        finding = Finding(
            rule=rule,
            confidence=confidence,
            key_kind=kind,
            path=self.content.path,
            line=line,
            column=col,
            end_column=end_column,
            secret=secret,
            commit=self.content.commit,
            note=note,
            encoding=self.label,
            # A `sk-kimi-` key's prefix is its own; any other token (a key of Kimi Code only
            # by its context, an Open Platform shape) may be another vendor's.
            other_vendor=None if secret.startswith("sk-kimi-") else self.other_vendor(start, end),
            container=self.content.container,
        )
        root.spans[id(finding)] = span
        return finding

    def masked(self, end: int) -> bool:
        return self.data.startswith(_MASK_AFTER, end)
