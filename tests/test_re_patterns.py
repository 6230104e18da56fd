"""The token and header patterns run on the standard library's `re` (a hook run that finds a
key no longer imports `regex`): they find exactly what their `regex` forms found.

The `regex` forms are written out here as the reference: SK_TOKEN's one variable-width
look-behind (escapes and terminal colours before the `sk-`), and the header pattern whose
blanks around a quote could meet. Content is built from the pieces the guards look at, so
that near misses (a colour without its ESC, `m` before a token, zeros in an entity) are
common. The patterns are compared on their matches, at every start too (`_matches_at`
tries SK_TOKEN at each `sk-` Hyperscan lists).
"""

from __future__ import annotations

import regex
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from kimi_secret_scan.detect import assigned, context, headers, tokens

_SK_TOKEN_REGEX = regex.compile(
    rb"(?:(?<![A-Za-z0-9_-])|(?<=\\[nrtbfv0]|%[0-9A-Fa-f]{2}|\\u[0-9A-Fa-f]{4}"
    rb"|(?:\x1b|\\(?:e|0?33|x1[bB]|u001[bB]|x\{1[bB]\})|%1[bB]|&#0*27;|&#[xX]0*1[bB];)"
    rb"(?:\[|%5[bB])[0-9;]{0,24}m)"
    rb"|(?=sk-kimi-[A-Za-z0-9]{64}(?![A-Za-z0-9]))"
    rb"|(?<=_|(?<![A-Za-z0-9])-)(?=sk-[A-Za-z0-9]{48}(?![A-Za-z0-9])))sk-[A-Za-z0-9_-]*+"
)
_HEADER_REGEX = regex.compile(
    rb"(?i)(?:authorization\\?[\"'\x60]?[ \t]*(?::|=>?|,)[ \t]*\\?[\"'\x60]?[ \t]*bearer[ \t]+"
    rb"|x-api-key\\?[\"'\x60]?[ \t]*(?::|=>?|,)[ \t]*\\?[\"'\x60]?[ \t]*)"
    rb"([A-Za-z0-9._~+/=-]{20,512})"
)

_SETTING_REGEX = regex.compile(
    rb"(?i)(?:kimi|moonshot)[\w.\-]{0,30}?"
    rb"(?:key|token|secret|auth|passw(?:or)?d|credential)[\w.\-]{0,16}"
    rb"\\?[\"'\x60]?[ \t]*(?::=|=>|=|:|,)[ \t]*(?:\\?[\"'\x60][ \t]*)?"
    rb"(?:bearer[ \t]+)?([A-Za-z0-9][A-Za-z0-9._~+/=-]{15,300}+)"
)
_SETTING_CALL_REGEX = regex.compile(
    rb"(?i)(?:kimi|moonshot)[\w.\-]{0,30}?"
    rb"(?:key|token|secret|auth|passw(?:or)?d|credential)[\w.\-]{0,16}"
    rb"\\?[\"'\x60]?[ \t]*(?::=|=>|=|:|,)"
    rb"[^\r\n]{0,80}?(?<![A-Za-z0-9+/_=-])(c2st[A-Za-z0-9+/_-]{12,300}+)"
)

# The prefix patterns (asked of the 200 bytes before a token), as `regex` ran them: their
# blanks around a quote could meet.
_SEP = rb"[ \t]*\\?[\"'\x60]?[ \t]*"
_PREFIX_REGEX = {
    "KIMI_ASSIGNMENT": regex.compile(
        rb"(?i)(?:kimi|moonshot|" + "月之暗面".encode() + rb")"
        rb"(?:[\w.\-\[\]]|[\x80-\xff]){0,40}(?:[ \t]*:[ \t]*[A-Za-z_][\w.\[\]|]{0,30}[ \t]*(?==))?"
        rb"\\?[\"'\x60]?[ \t]*(?::=|=>|=|:|,|\()" + _SEP + rb"(?:bearer[ \t]+)?$"
    ),
    "KEY_ASSIGNMENT": regex.compile(
        rb"(?i)(?:key|token|secret|auth\w*|password)\\?[\"'\x60]?[ \t]*(?::=|=>|=|:|,|\()"
        + _SEP
        + rb"(?:bearer[ \t]+)?$"
    ),
    "assigned_name": regex.compile(
        rb"([A-Za-z0-9_.\-]{1,80})\\?[\"'\x60]?[ \t]*(?::=|=>|=|:|,|\()"
        + _SEP
        + rb"(?:(?i:bearer)[ \t]+)?$"
    ),
    "HEADER_BEFORE": regex.compile(
        rb"(?i)(?:bearer[ \t]+|x-api-key\\?[\"'\x60]?[ \t]*(?::|=>?|,)" + _SEP + rb")$"
    ),
}

# Bodies of the exact shapes, built here (no key-shaped literal in the repository).
_BODY48 = "aB3" * 16
_BODY64 = "Zy9x" * 16

TOKEN_PIECES = [
    "sk-",
    "sk-kimi-",
    _BODY48,
    _BODY64,
    _BODY48[:20],
    "abc",
    "_",
    "-",
    "--",
    "m",
    "task",
    "task-",
    "msk-",
    "msk-msk-",
    "x-",
    "_sk-",
    "x",
    "9",
    ";",
    "[",
    "31",
    "01;31",
    "0" * 30,
    "\x1b",
    "\x1b[",
    "\x1b[32m",
    "\\e[",
    "\\033[",
    "\\33[",
    "\\x1b[",
    "\\x1B[",
    "\\u001b[",
    "\\x{1b}[",
    "%1b%5b",
    "%1B%5B",
    "%5B",
    "&#27;",
    "&#0000000027;",
    "&#x1b;",
    "&#X0000001B;",
    "&#",
    "27;",
    "\\n",
    "\\0",
    "%20",
    "%2",
    "\\u0020",
    "\\u",
    " ",
    "\n",
]

HEADER_PIECES = [
    "authorization",
    "Authorization",
    "x-api-key",
    "X-Api-Key",
    "bearer",
    "Bearer",
    ":",
    "=>",
    "=",
    ",",
    " ",
    "\t",
    " " * 40,
    '"',
    "'",
    "`",
    "\\",
    '\\"',
    _BODY48[:24],
    "sk-",
    "tok.en~+/=",
    "\n",
    "x",
]


SETTING_PIECES = [
    "KIMI",
    "moonshot",
    "_API_",
    "key",
    "Token",
    "_id",
    ".",
    "-",
    "=",
    ":=",
    "=>",
    ":",
    ",",
    " ",
    "\t",
    '"',
    "'",
    "\\",
    "bearer ",
    "Bearer\t",
    "c2st",
    "atob(",
    _BODY48[:16],
    _BODY48,
    "/+=~",
    "\n",
]


def _content(pieces: list[str]) -> st.SearchStrategy[bytes]:
    return st.lists(st.sampled_from(pieces), max_size=24).map(lambda p: "".join(p).encode())


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_content(TOKEN_PIECES))
@example(b"x-sk-" + _BODY48.encode() + b" ")
@example(b"--sk-" + _BODY48.encode() + b" ")
@example(b"msk-abc_sk-" + _BODY48.encode())
@example(b"\x1b[31msk-abc \x1b[31;1;2;3;4;5;6;7;8;9;10;11msk-abc")
def test_sk_token_finds_what_the_regex_form_found(data: bytes) -> None:
    want = [m.span() for m in _SK_TOKEN_REGEX.finditer(data)]
    assert [m.span() for m in tokens.SK_TOKEN.finditer(data)] == want
    for at in range(len(data)):
        old = _SK_TOKEN_REGEX.match(data, at)
        new = tokens.SK_TOKEN.match(data, at)
        assert (None if new is None else new.span()) == (None if old is None else old.span())
    # Tried only at the `sk-` starts, as the token pass does.
    starts = [i for i in range(len(data)) if data.startswith(b"sk-", i)]
    assert [m.span() for m in tokens._matches_at(tokens.SK_TOKEN, data, starts)] == want


@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_content(HEADER_PIECES))
def test_header_pattern_finds_what_the_regex_form_found(data: bytes) -> None:
    want = [(m.span(), m.span(1)) for m in _HEADER_REGEX.finditer(data)]
    assert [(m.span(), m.span(1)) for m in headers._HEADER.finditer(data)] == want


def test_colour_before_a_token_is_read_through_leading_zeros() -> None:
    # An entity's zeros are any count (a browser reads them so): more than the 8 bytes
    # the ESC spellings are first looked for in.
    for esc in (b"&#" + b"0" * 200 + b"27;", b"&#x" + b"0" * 200 + b"1b;"):
        data = b"log " + esc + b"[01;31msk-" + _BODY48.encode() + b" end"
        assert [m.span() for m in tokens.SK_TOKEN.finditer(data)] == [
            m.span() for m in _SK_TOKEN_REGEX.finditer(data)
        ]
        assert next(tokens.SK_TOKEN.finditer(data)).group().startswith(b"sk-")


def test_a_line_of_blanks_after_a_header_word_is_read_once() -> None:
    # The `regex` form tried each split of the blanks around a missing quote (quadratic);
    # `re` has no time-out, so the new form must not: a megabyte line finishes at once.
    line = b"Authorization:" + b" " * (1 << 20) + b"x"
    assert list(headers._HEADER.finditer(line)) == []


@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_content(SETTING_PIECES))
@example(b"KIMI_API_KEY = '" + _BODY48.encode() + b"'\nmoonshot.token: Bearer " + _BODY48.encode())
@example(b'kimi_key = atob("c2st' + _BODY48.encode() + b'")')
def test_setting_patterns_find_what_their_regex_forms_found(data: bytes) -> None:
    for new, old in (
        (assigned._setting(), _SETTING_REGEX),
        (assigned._setting_call(), _SETTING_CALL_REGEX),
    ):
        for at in range(len(data)):
            stop = data.find(b"\n", at)
            stop = len(data) if stop < 0 else stop
            want = old.match(data, at, stop)
            got = new.match(data, at, stop)
            assert (got and got.span(1)) == (want and want.span(1))


PREFIX_PIECES = [
    "KIMI",
    "moonshot",
    "月之暗面",
    "_api_",
    "Key",
    "token",
    "authorization",
    "password",
    "x-api-key",
    "bearer",
    "Bearer ",
    ": str",
    ": string",
    ":",
    "=",
    ":=",
    "=>",
    ",",
    "(",
    " ",
    "\t",
    " " * 20,
    '"',
    "'",
    "`",
    "\\",
    "[0]",
    ".",
    "-",
    "x",
]


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_content(PREFIX_PIECES))
@example(b"KIMI_API_KEY: str = ")
@example(b'Authorization: \\"Bearer ')
def test_prefix_patterns_find_what_their_regex_forms_found(data: bytes) -> None:
    new = {
        "KIMI_ASSIGNMENT": context.KIMI_ASSIGNMENT,
        "KEY_ASSIGNMENT": context.KEY_ASSIGNMENT,
        "assigned_name": context._assigned_name(),
        "HEADER_BEFORE": headers.HEADER_BEFORE,
    }
    for name, old in _PREFIX_REGEX.items():
        want = old.search(data)
        got = new[name].search(data)
        assert (got and (got.span(), got.groups())) == (want and (want.span(), want.groups())), name
