"""Values of settings named for Kimi that are not sk- tokens (those are judged in `tokens`):
`MOONSHOT_API_KEY=<32 hex digits>`, `kimi_api_key: AIza…`. Whatever a setting named for Kimi
holds is a credential for Kimi (often through a relay), so any secret-looking value is
reported, at medium confidence, with its shape named; references (`${…}`, `os.environ[…]`,
`process.env.X`) and placeholders are not."""

from __future__ import annotations

import binascii
import functools
import re
from collections.abc import Callable

from kimi_secret_scan import rules
from kimi_secret_scan.detect.excerpt import decode_text
from kimi_secret_scan.detect.layer import Layer
from kimi_secret_scan.detect.tokens import setting_note
from kimi_secret_scan.finding import Confidence, Finding
from kimi_secret_scan.lazy_regex import lazy_re
from kimi_secret_scan.randomness import secret_looking

_compiled: list[re.Pattern[bytes]] = []


def _setting() -> re.Pattern[bytes]:
    # Compiled on first use: only content that names Kimi or Moonshot is searched with it.
    # `re`'s, as the hook's other patterns are (importing `regex` cost a run ~5 ms): it is
    # matched at a setting's head within one line, and no two of its repeats can share
    # the bytes they take (blanks, name characters and the value are told apart by the
    # separator and the quotes), so it needs no time-out.
    if not _compiled:
        _compiled.append(
            re.compile(
                rb"(?i)(?:kimi|moonshot)[\w.\-]{0,30}?"
                rb"(?:key|token|secret|auth|passw(?:or)?d|credential)[\w.\-]{0,16}"
                rb"\\?[\"'\x60]?[ \t]*(?::=|=>|=|:|,)[ \t]*(?:\\?[\"'\x60][ \t]*)?"
                rb"(?:bearer[ \t]+)?([A-Za-z0-9][A-Za-z0-9._~+/=-]{15,300}+)"
            )
        )
    return _compiled[0]


_called: list[re.Pattern[bytes]] = []


def _setting_call() -> re.Pattern[bytes]:
    """A setting named for Kimi assigned what code decodes from base64 on the same line:
    `KIMI_API_KEY = base64.b64decode("c2st…")`, `atob("c2st…")`, `Buffer.from("c2st…",
    "base64")`, `$(base64 -d <<< c2st…)`, `setdefault("KIMI_API_KEY", b64decode("c2st…"))`.
    Group 1: the first base64 run of `sk-` (`c2st`) within 80 characters of the assignment
    (review h10c: the call's name was read as the value, and a call is skipped)."""
    if not _called:
        _called.append(
            re.compile(
                rb"(?i)(?:kimi|moonshot)[\w.\-]{0,30}?"
                rb"(?:key|token|secret|auth|passw(?:or)?d|credential)[\w.\-]{0,16}"
                rb"\\?[\"'\x60]?[ \t]*(?::=|=>|=|:|,)"
                rb"[^\r\n]{0,80}?(?<![A-Za-z0-9+/_=-])(c2st[A-Za-z0-9+/_-]{12,300}+)"
            )
        )
    return _called[0]


# A value that names something instead of holding it: another variable (`KIMI_KEY_PROD`),
# or a dotted path without digits (`settings.kimi_api_key`, `process.env.KIMI_API_KEY`).
_VARIABLE = lazy_re(rb"[A-Z][A-Z0-9]*+(?:_[A-Z0-9]++)++")
_DOTTED = lazy_re(rb"[A-Za-z_$][A-Za-z_$]*+(?:\.[A-Za-z_$][A-Za-z_$]*+)++")
_CODE_AFTER = (b"(", b"[", b"{", b"$")


# A setting whose name goes on, after its key word, with what describes a key rather than
# holding it: its hash, fingerprint or checksum, its id, a commit, its public half, its
# version. A credential's value named so is not the credential, when the value has the shape
# the name says (a key in hex or base32, reversed, without its `sk-kimi-`, or a relay's key
# named `…_ID` is still reported; an `sk-` value is judged with the other tokens whatever
# its name).
# (Compiled on first use, as the other patterns here: the hook's start-up pays nothing.)
_DESCRIBES = lazy_re(
    rb"(?:^|[._\-])(?:(sha\d*|md5|hash|digest|fingerprint|checksum|commit)|(ids?|uuid)"
    rb"|(public|pub)|(version|hint|prefix|suffix|last4|length|len))(?=$|[._\-])"
)
# Hex digits a digest of each name has (any of them where the name says no algorithm).
_DIGEST_HEX = {b"md5": (32,), b"sha1": (40,), b"sha224": (56,), b"sha256": (64,)}
_DIGEST_HEX |= {b"sha384": (96,), b"sha512": (128,)}
_ANY_DIGEST = (32, 40, 56, 64, 96, 128)
_HEX = lazy_re(rb"(?:(?:sha\d*|md5)[:=\-])?([0-9a-fA-F]++)")
_ID = lazy_re(rb"[0-9]++|[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
# A public key's spellings: base64 DER (`MF…`, `MII…`), OpenSSH (`ssh-…`, `ecdsa-…`).
_PUBLIC = lazy_re(rb"M(?:F|II)[A-Za-z0-9+/]++=*|(?:ssh|ecdsa|sk-ssh)-[\w.@+/=-]++")
_SHORT_DESCRIPTION = 12


def _describes(tail: bytes, value: bytes) -> bool:
    """Does the setting's name, after its key word (`tail`, from _name_tail), describe the
    key rather than hold it, and the value have the shape the name says?"""
    for match in _DESCRIBES.finditer(tail):
        digest, ident, public, short = match.groups()
        if digest is not None:
            hexed = _HEX.fullmatch(value)
            sizes = _DIGEST_HEX.get(digest, _ANY_DIGEST)
            if hexed is not None and len(hexed.group(1)) in sizes:
                return True
        elif ident is not None:
            if _ID.fullmatch(value) is not None:
                return True
        elif public is not None:
            if _PUBLIC.fullmatch(value) is not None:
                return True
        elif short is not None and len(value) <= _SHORT_DESCRIPTION:
            return True
    return False


_KEY_WORD = lazy_re(rb"(?i)key|token|secret|auth|passw(?:or)?d|credential")


def _name_tail(head: bytes) -> bytes:
    """What a setting's name says after its last key word, in lower case, camelCase words
    cut as snake_case (`kimiApiKeyId` -> `_id`); `head` runs from the name to its value."""
    name = re.match(rb"[\w.\-]*", head)
    text = name.group() if name is not None else b""
    words = list(_KEY_WORD.finditer(text))
    tail = text[words[-1].end() :] if words else b""
    return re.sub(rb"(?<=[a-z0-9])(?=[A-Z])", b"_", tail).lower()


def _encodes_sk(value: bytes) -> bool:
    """Is the value base64 of an sk- token (`c2st…`)? The base64 layer reads it decoded."""
    if not value.startswith(b"c2st"):
        return False
    head = value[:8].replace(b"-", b"+").replace(b"_", b"/")
    try:
        return binascii.a2b_base64(head).startswith(b"sk-")
    except binascii.Error:
        return False


# Where a setting named for Kimi may start: the name, a key word within its 30 name
# characters, and the assignment. It is `_setting()`'s pattern up to the assignment, in lower
# case (plus a lookahead that pattern implies), so it matches in the lower-cased data wherever
# `_setting()` can match in the data (bytes.lower keeps every offset). Searched with `re`,
# whose literal-prefix search is several times faster than trying `_setting()` at every
# "kimi" of a file that names Kimi on most lines (`from kimi_cli import …`). Bounded
# repetitions only: linear.
# The lookahead comes first and fails fast on the common name that is no setting
# (`kimi_cli.tools import`): the name's characters after kimi/moonshot, the key word's and
# those after it are one run of [\w.-] (at most 30 + 10 + 16), and the assignment begins
# with a character outside it, so the whole run is followed by the assignment. (Greedy, not
# possessive: `re` has possessive quantifiers only from Python 3.11; a run longer than 56
# fails after at most 57 steps.)
_HEAD = (
    rb"(?=[\w.\-]{0,56}(?![\w.\-])\\?[\"'\x60]?[ \t]*[:=,])"
    rb"[\w.\-]{0,30}?(?:key|token|secret|auth|passw(?:or)?d|credential)[\w.\-]{0,16}"
)
_HEAD_TAIL = rb"\\?[\"'\x60]?[ \t]*(?::=|=>|=|:|,)"


# What follows the name in a setting's head (for callers that search for the name together
# with other things in one pass: layered._survey).
SETTING_HEAD = _HEAD + _HEAD_TAIL


@functools.cache
def _setting_heads() -> tuple[re.Pattern[bytes], re.Pattern[bytes], re.Pattern[bytes]]:
    # Compiled on first use, like `_setting()`. The first also finds "kimi.com" (a Kimi
    # endpoint, which the caller needs to know of) in the same pass over the content.
    return (
        re.compile(rb"kimi(?:(\.com)|" + SETTING_HEAD + rb")"),
        re.compile(rb"moonshot" + SETTING_HEAD),
        re.compile(rb"kimi" + SETTING_HEAD),
    )


@functools.cache
def _moonshot_pass() -> Callable[..., re.Match[bytes] | None]:
    return re.compile(rb"moonshot(?:(\.)|(" + SETTING_HEAD + rb"))?").search


def moonshot_marks(folded: bytes) -> tuple[bool, list[int], bool]:
    """Whether the lower-cased content says moonshot, where a setting named for it may
    start, and whether it names "moonshot." (a Moonshot host): one pass, every occurrence
    visited (a few per file where there are any, unlike "kimi" in a Kimi project)."""
    search = _moonshot_pass()
    match = search(folded)
    present = match is not None
    at: list[int] = []
    dot = False
    while match is not None:
        pos = match.start()
        if match.group(1) is not None:
            dot = True
            # `moonshot.` matched first: is a setting's head there too (`moonshot.api_key=`)?
            head = _setting_heads()[1].match(folded, pos) is not None
        else:
            head = match.group(2) is not None
        if head and (pos == 0 or not folded[pos - 1 : pos].isalnum()):
            at.append(pos)
        match = search(folded, pos + 1)
    return present, at, dot


def kimi_setting_at(folded: bytes, pos: int, com: bool) -> bool:
    r"""For a match of `kimi(?:(\.com)|SETTING_HEAD)` at `pos` (`com`: its `.com` group
    matched): may a setting start there? Only where the name starts a word; a `kimi.com`
    match hides the setting's head it may also begin (`kimi.com.key=`)."""
    if pos > 0 and folded[pos - 1 : pos].isalnum():
        return False
    return not com or _setting_heads()[2].match(folded, pos) is not None


def setting_starts(folded: bytes, kimi: bool, moonshot: bool) -> tuple[list[int], bool]:
    """Every offset where a name starts (`kimi`, `moonshot`, not inside a longer word) and
    the head of a setting follows: the only offsets where `_setting()` can match; and
    whether the content names kimi.com. `folded`: the content in lower case; `kimi`,
    `moonshot`: whether it holds each name (a name it does not hold is not searched for).

    Each search starts one byte after the previous match, as matches may nest
    (`kimi_moonshot_key`)."""
    at: list[int] = []
    kimi_com = False
    kimi_head, moonshot_head, _ = _setting_heads()
    if kimi:
        search = kimi_head.search
        match = search(folded)
        while match is not None:
            pos = match.start()
            com = match.group(1) is not None
            kimi_com = kimi_com or com
            if kimi_setting_at(folded, pos, com):
                at.append(pos)
            match = search(folded, pos + 1)
    if moonshot:
        search = moonshot_head.search
        match = search(folded)
        while match is not None:
            pos = match.start()
            if pos == 0 or not folded[pos - 1 : pos].isalnum():
                at.append(pos)
            match = search(folded, pos + 1)
        if kimi:
            at.sort()
    return at, kimi_com


# The longest setting read: a name, an operator, up to 80 characters of a call and a 300-
# character value are ~500; the rest is room for blanks around the operator.
_SETTING_REACH = 4096


def find_kimi_settings(
    scan: Layer,
    found: list[tuple[int, Finding]],
    starts: list[int],
    encoded: list[int] | None = None,
) -> None:
    """Every non-sk- value of a setting named for Kimi in the layer, tried only at `starts`
    (from `setting_starts`). Where a value is base64 of an sk- token, its start is added to
    `encoded`: the caller decodes it (its base64 pass does not search every file)."""
    data = scan.data
    setting = _setting()
    done = -1
    for pos in starts:
        if pos < done:
            continue
        # A setting is one line, and no longer than _SETTING_REACH but for blanks: `regex`
        # looks for a pattern's required letters (`c2st`) to the end of what it is given
        # before it tries to match, and every setting of a file read to its end made
        # 2 MiB of `KIMI_API_KEY=…` lines take 30 s (quadratic).
        stop = data.find(b"\n", pos, pos + _SETTING_REACH)
        stop = min(len(data), pos + _SETTING_REACH) if stop < 0 else stop
        match = setting.match(data, pos, stop)
        if encoded is not None and (match is None or data.startswith(_CODE_AFTER, match.end(1))):
            # What a call or a command substitution decodes (`atob("c2st…")`): the base64
            # argument is read as the value itself would be.
            call = _setting_call().match(data, pos, stop)
            if call is not None and _encodes_sk(call.group(1)):
                encoded.append(call.start(1))
        if match is None:
            continue
        start, end = match.span(1)
        done = end
        value = match.group(1)
        if value[:3].lower() == b"sk-":
            continue  # judged with every other sk- token
        if _encodes_sk(value):
            # Judged decoded, with the other sk- tokens; decoded here whatever the file (a
            # program naming only "kimi" has no base64 pass of its own).
            if encoded is not None:
                encoded.append(start)
            continue
        if data.startswith(_CODE_AFTER, end) or scan.masked(end):
            continue  # a call, an index or a template, or a masked value
        if _VARIABLE.fullmatch(value) is not None or _DOTTED.fullmatch(value) is not None:
            continue
        if _describes(_name_tail(data[pos:start]), value):
            continue  # KIMI_API_KEY_SHA256, KIMI_KEY_ID, kimiKeyFingerprint: about a key
        text = decode_text(value)
        if not secret_looking(text):
            continue
        finding = scan.finding(
            rules.KIMI_ASSIGNED_KEY, Confidence.MEDIUM, start, end, note=setting_note(text)
        )
        found.append((scan.to_root(start), finding))
