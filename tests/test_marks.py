"""Hyperscan's marks (detect/marks.py) tell the survey which passes can find anything: the
survey given the marks answers exactly what the whole survey answers, on any content.

Every mark is a superset of what its pass finds in the lower-cased content; an unset mark
skips the pass. Content is built from the pieces the passes look for (names, the heads of
settings at their bounds, `sk` and a hyphen in every spelling, base64 triggers), each in a
random case and cut at random, so that near misses are common.
"""

from __future__ import annotations

import base64
import random
import subprocess
import sys
from collections.abc import Iterator
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kimi_secret_scan import decoders
from kimi_secret_scan.content import Content
from kimi_secret_scan.detect import layered, marks, tokens
from kimi_secret_scan.detectors import detect
from kimi_secret_scan.finding import Finding
from tests import keygen

pytest.importorskip("hyperscan", reason="no Hyperscan wheel for this platform")

PIECES = [
    "kimi",
    "moonshot",
    "kimi.com",
    "moonshot.",
    "moonshot.cn/",
    "api.kimi.com",
    "xkimi",
    "kimi_cli.tools import",
    "kimi_",
    "moonshot-",
    "_api",
    "api_key",
    "ApiKey",
    "token",
    "Secret",
    "auth",
    "passwd",
    "password",
    "passw0rd",
    "credential",
    "a" * 29,
    "b" * 16,
    ".",
    "-",
    "\\",
    '"',
    "'",
    "`",
    " ",
    "\t",
    "\n",
    ":",
    "=",
    ":=",
    "=>",
    ",",
    "(",
    "sk",
    "sk-",
    "ask-",
    "task-",
    "sk%2d",
    "sk%2D",
    "sk%25",
    "sk\\u002d",
    "sk\\u002D",
    "sk\\x2d",
    "sk\\055",
    "sk\\-",
    "sk&#45;",
    "sk&#x2d;",
    "sk&#X2D;",
    "c2st",
    "NrL",
    "zay",
    "eyJ",
    "月之暗面",
    "\x00",
]


SK_TAILS = [
    "-",
    "%2d",
    "%25",
    "\\u002d",
    "\\x2d",
    "\\055",
    "\\-",
    "&#45;",
    "&#x2d;",
    "%2",
    "\\u002",
    "\\05",
    "&#45",
    "&#x2d",
    "_",
    # Every further spelling a program reads as `-` (decoders.HYPHEN_*), near misses, and
    # `&hyphen;` / `&dash;` (U+2010, no decoder's `-`).
    "&#0045;",
    "&#X002D",
    "&#0045",
    "&#X0002d;",
    "&amp;#45;",
    "&amp;amp;#x2d;",
    "&amp;#4",
    "\\\\u002d",
    "\\\\\\\\x2d",
    "\\uu002d",
    "\\U0000002d",
    "\\U000002",
    "\\u{2d}",
    "\\u{002D}",
    "\\u{2_d}",
    "\\u{2",
    "\\x{2d}",
    "\\x{ 2d }",
    "\\x002d",
    "\\55",
    "\\5",
    "\\o{55}",
    "\\o{5",
    "\\N{HYPHEN-MINUS}",
    "\\N{hyphen-minus}",
    "\\N{U+2D}",
    "\\N{HYPHEN",
    "\\2d ",
    "\\0002d",
    "`-",
    "`u{2d}",
    "`u{2",
    "%u002d",
    "%U002D",
    "%u00",
    "%252d",
    "%25252d",
    "&hyphen;",
    "&dash;",
]


def _case(text: str, rng: random.Random) -> str:
    pick = rng.randrange(4)
    if pick == 0:
        return text
    if pick == 1:
        return text.upper()
    if pick == 2:
        return text.title()
    return "".join(c.upper() if rng.random() < 0.5 else c for c in text)


@st.composite
def _content(draw: st.DrawFn) -> bytes:
    rng = random.Random(draw(st.integers(0, 2**32)))
    parts: list[str] = []
    for _ in range(draw(st.integers(0, 14))):
        kind = draw(st.integers(0, 13))
        if kind == 0:
            parts.append(keygen.moonshot_key(rng))
        elif kind == 1:
            parts.append("".join(rng.choice(keygen.ALNUM) for _ in range(rng.randint(1, 40))))
        elif kind == 3:  # `sk` and a hyphen in one of its spellings, or nearly
            parts.append(
                rng.choice(["", " ", "a", "t", "\\n"])
                # (`sk-kimi` too: an escaped hyphen after it opens a window, SK_ESCAPED)
                + (rng.choice(["sk", "sk", "sk-kimi"]) if rng.random() < 0.7 else _case("sk", rng))
                + _case(rng.choice(SK_TAILS), rng)
            )
        elif kind == 4:  # a base64 trigger, as base64 spells it
            parts.append(
                rng.choice(["", " ", "a", ":"]) + rng.choice(["c2st", "NrL", "zay", "eyJ"])
            )
            if rng.random() < 0.3:  # the base64 of a Kimi name, whole or cut
                named = rng.choice(decoders.named_triggers()).decode()
                cut = rng.randrange(len(named) + 1) if rng.random() < 0.3 else len(named)
                parts.append(named[:cut])
        elif kind == 2:  # a setting's head, at and past its bounds
            parts.append(
                _case(rng.choice(["kimi", "moonshot", "xkimi", "kimi.com"]), rng)
                + rng.choice(["", "_", ".", "-", "_api_", "a" * rng.randint(25, 35)])
                + _case(rng.choice(["key", "token", "secret", "auth", "passwd", "password"]), rng)
                + rng.choice(["", "s", "_prod", "b" * rng.randint(10, 20)])
                + rng.choice(["", "\\", '"', '\\"', "'", "`"])
                + rng.choice(["", " ", "\t", "  "])
                + rng.choice([":", "=", ",", ":=", "=>", "(", ";", "\n"])
            )
        else:
            piece = _case(rng.choice(PIECES), rng)
            if rng.random() < 0.2:
                piece = piece[: rng.randrange(len(piece) + 1)]  # a near miss
            parts.append(piece)
    text = "".join(parts).encode()
    if draw(st.integers(0, 5)) == 0:
        text = base64.b64encode(text)
    return text


def _survey(data: bytes, found: int | None) -> tuple[object, ...]:
    if found is None:
        survey = layered._survey(data, data.lower())
    else:
        survey = layered._marked_survey(data, found)[0]
    first = survey.first_sk
    return (None if first is None else first.span(), survey.kimi, survey.moonshot, survey.names)


@pytest.fixture(autouse=True)
def _marks_on(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # At any length (detect() asks for marks only from _MIN_LENGTH bytes on).
    monkeypatch.setattr(marks, "_MIN_LENGTH", 0)
    assert marks.enable()
    yield
    marks.disable()


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=_content())
def test_the_marked_survey_is_the_survey(data: bytes) -> None:
    found = marks.marks(data)
    assert found is not None
    assert _survey(data, found) == _survey(data, None)
    first = tokens.SK_ANY.search(data)
    if not found & marks.SK_ESCAPED and first is not None:
        # Windows open from the first `sk` and hyphen on: no escaped hyphen there.
        assert decoders.SK_ESCAPED.search(data, first.start()) is None
        assert tokens.SK_ENTITY.search(data, first.start()) is None
    if not marks.may_hold_base64(data):
        assert decoders.base64_starts(data, deep=False, broad=True) == []
    if not found & marks.MOONSHOT:
        assert bool(found & marks.NAMED_BASE64) == decoders.holds_named_base64(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=_content(), path=st.sampled_from(["main.py", "config.yaml", "blob"]))
def test_detect_with_marks_is_detect(data: bytes, path: str) -> None:
    content = Content(path=path, data=data)
    marked = detect(content)
    marks.disable()
    assert marked == detect(content)


def test_each_mark() -> None:
    assert marks.marks(b"nothing to see") == 0
    assert marks.marks(b"from KiMi import x") == marks.KIMI
    assert marks.marks(b"see KIMI.com") == marks.KIMI | marks.KIMI_NAMED
    assert marks.marks(b"kimi_api_KEY: x") == marks.KIMI | marks.KIMI_NAMED
    assert marks.marks(b"the moonshot") == marks.MOONSHOT
    assert marks.marks(b"api.MOONSHOT.cn") == marks.MOONSHOT | marks.MOONSHOT_NAMED
    assert marks.marks(b'Moonshot_Token" = x') == marks.MOONSHOT | marks.MOONSHOT_NAMED
    assert marks.marks(b"a SK%2D b") == marks.SK | marks.SK_ESCAPED
    assert marks.marks(b"a sk-b") == marks.SK
    assert marks.marks(b"a sk&#X2D; b") == marks.SK | marks.SK_ESCAPED
    assert marks.marks(b"a desk-b") == marks.SK  # a superset: the survey decides
    for needle in decoders.named_triggers():
        assert marks.marks(b"x " + needle + b" y") == marks.NAMED_BASE64
        assert marks.marks(b"x " + needle[1:] + b" y") == 0
        # (Base64 is searched where Moonshot is named anyway: the pass ends there.)
        assert marks.marks(needle + b" moonshot") == marks.MOONSHOT
        assert marks.marks(b"moonshot " + needle) == marks.MOONSHOT
    assert not marks.may_hold_base64(b"plain text")
    assert marks.may_hold_base64(b"x eyJhIjoxfQ==")


def test_off_too_short_and_too_long(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(marks, "_MIN_LENGTH", 5)
    assert marks.marks(b"kimi") is None
    assert marks.may_hold_base64(b"text")
    monkeypatch.setattr(marks, "_MAX_LENGTH", 10)
    assert marks.marks(b"0123456789ab") is None  # the survey runs whole
    assert marks.may_hold_base64(b"0123456789ab")
    marks.disable()
    assert marks.marks(b"kimi") is None
    assert marks.may_hold_base64(b"text")


def test_without_hyperscan() -> None:
    # Where the package is missing (a platform without its wheel), enable() says so and the
    # detectors run their own survey.
    code = (
        "import sys; sys.modules['hyperscan'] = None\n"
        "from kimi_secret_scan.detect import marks\n"
        "assert marks.enable() is False and marks.marks(b'kimi') is None\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# Few pieces, most of them inert: content where one trigger alone decides.
_INERT = [" ", "a", ":", "\n", "=", "ki", "moon", "EYJ", "nrl", "sk"]
_SPARSE = st.lists(
    st.sampled_from([*_INERT, "eyJ", "c2st", "NrL", "zay", *SK_TAILS]),
    max_size=6,
).map(lambda parts: "".join(parts).encode())


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.one_of(_content(), _SPARSE))
def test_the_short_gate_passes_whatever_the_survey_would_look_at(data: bytes) -> None:
    # (Not a mark: detect()'s one search of short content, layered._short_gate. Here for the
    # generator of near misses.) Where the gate finds nothing, the survey and the base64
    # search find nothing either, and detect() returns no finding.
    if layered._short_gate()(data.lower()) is not None:
        return
    first_sk, kimi, moonshot, names = _survey(data, None)
    assert (first_sk, kimi, moonshot, names) == (None, False, False, ([], False))
    assert decoders.base64_starts(data, deep=False, broad=True) == []


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.one_of(_content(), _SPARSE),
    path=st.sampled_from(["main.py", "config.yaml", ".env", "blob", "<commit message>"]),
    marked=st.booleans(),
    wide=st.integers(0, 4),
)
def test_holds_nothing_only_where_detect_finds_nothing(
    data: bytes, path: str, marked: bool, wide: int
) -> None:
    # The history's readers build no Content where holds_nothing() says so: it must never
    # say so of content detect() finds a key in (marks on or off, short or long, UTF-16).
    _holds_nothing_agrees(data, path, marked, wide)


def test_holds_nothing_of_keys_detect_finds() -> None:
    # Cases the generator reaches rarely: base64 in a configuration file (no mark at all),
    # a key in UTF-16, a key in a short message, each long and short.
    key = keygen.moonshot_key().encode()
    for text in (
        base64.b64encode(key),
        b"token: " + base64.b64encode(key) + b"\n" + b"x" * 300,
        b"data:\n  k: " + base64.b64encode(b"MOONSHOT_API_KEY=" + key) + b"\n" + b"#" * 300,
        b"kimi " + key,
        b"MOONSHOT_API_KEY=" + key + b"\n" + b"y" * 400,
        # Keys without `sk`: a Kimi-named setting's value, a header beside an endpoint
        # (marks "kimi"/"moonshot" and their named forms only).
        b"KIMI_API_KEY=" + key[3:] + b"\n" + b"#" * 300,
        b"curl https://api.moonshot.cn/v1 -H 'Authorization: Bearer "
        + key[3:]
        + b"'\n"
        + b"#" * 300,
        b"curl https://api.kimi.com/coding -H 'x-api-key: " + key[3:] + b"'\n" + b"#" * 300,
    ):
        for path in ("config.yaml", ".env", "main.py", "<commit message>"):
            for wide in range(3):
                for marked in (True, False):
                    assert marks.enable()
                    _holds_nothing_agrees(text, path, marked, wide)


def test_holds_nothing_of_keys_terminal_sequences_cut() -> None:
    # `s` SEQ `k-…`, `sk` SEQ `-…`: no `sk-` as written; the SK mark must be set (review h12).
    for seq in ("\x1b(B", "\x1b]0;t\x07", "\u009b1m", "^[[1m", "\\E[1m", "[0m", "[m[K"):
        for at in (1, 2):
            key = keygen.kimi_code_key()
            data = f"LOG {key[:at]}{seq}{key[at:]}\n{'#' * 300}".encode()
            assert marks.enable()
            assert marks.marks(data) & marks.SK, seq
            assert not layered.holds_nothing("ci.log", data), seq
            assert [f.secret for f in detect(Content(path="ci.log", data=data))] == [key], seq


def _holds_nothing_agrees(data: bytes, path: str, marked: bool, wide: int) -> None:
    if wide == 1:
        data = data.decode().encode("utf-16-le")
    elif wide == 2:
        data = b"\xff\xfe" + data.decode().encode("utf-16-le")
    if not marked:
        marks.disable()
    if layered.holds_nothing(path, data):
        assert _detect_whole(Content(path=path, data=data)) == []
    marks.disable()
    if layered.holds_nothing(path, data):
        assert _detect_whole(Content(path=path, data=data)) == []


def _detect_whole(content: Content) -> list[Finding]:
    # detect() without its shortcut past a layer the survey found nothing to start from,
    # which holds_nothing() takes too: a wrong shortcut taken by both would agree.
    with mock.patch.object(layered, "_SKIP_EMPTY_LAYER", False):
        return detect(content)


def test_the_same_bytes_asked_twice_are_scanned_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # holds_nothing() and then detect() ask for the marks of the same blob: one scan. Equal
    # bytes in another object, or a buffer that could change, are scanned again.
    scanner = marks._scanner
    assert scanner is not None
    calls: list[int] = []
    real = scanner.kimi

    def counted(*args: object) -> object:
        calls.append(1)
        return real(*args)

    monkeypatch.setattr(scanner, "kimi", counted)
    data = b"kimi_api_key = " + b"x" * 300
    first = marks.marks(data)
    assert marks.marks(data) == first and len(calls) == 1
    assert marks.marks(bytes(bytearray(data))) == first and len(calls) == 2
    buffer = bytearray(data)
    assert marks.marks(buffer) == first  # type: ignore[arg-type]
    buffer[:4] = b"xxxx"
    assert marks.marks(buffer) != first  # type: ignore[arg-type]


# Pieces around `sk-` for the token pass's starts: glued, escaped, after a length byte, in
# binary data, cut and run together.
_TOKEN_PIECES = [
    "sk-",
    "sk-kimi-",
    "sk",
    "-",
    "_",
    "task-",
    "3",
    "H",
    "f",
    "x",
    "\x00",
    "\x01",
    "\x1b[32m",
    # Terminal sequences detect/terminal.py reads beside `s` and `sk` (review h12).
    "\x1b(B",
    "\x1b]0;t\x07",
    "\u009b1m",
    "^[[1m",
    "[0m",
    "[m[K",
    "\\n",
    "%20",
    "\n",
    " ",
    '"',
    "s",
    "k-",
    '" + "',
    "' '",
    "`",
    "\\\n",
    "\r\n",
]


@st.composite
def _token_content(draw: st.DrawFn) -> bytes:
    rng = random.Random(draw(st.integers(0, 2**32)))
    parts: list[str] = []
    for _ in range(draw(st.integers(0, 24))):
        kind = draw(st.integers(0, 5))
        if kind == 0:
            parts.append(rng.choice([keygen.moonshot_key(rng), keygen.kimi_code_key(rng)]))
        elif kind == 1:
            parts.append("".join(rng.choice(keygen.ALNUM) for _ in range(rng.randint(1, 70))))
        else:
            parts.append(rng.choice(_TOKEN_PIECES))
    return "".join(parts).encode()


def _finds(data: bytes) -> list[int]:
    out = []
    at = data.find(b"sk-")
    while at >= 0:
        out.append(at)
        at = data.find(b"sk-", at + 3)
    return out


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.one_of(_token_content(), _content()))
def test_the_token_pass_starts_where_its_searches_did(data: bytes) -> None:
    # tokens.find_sk_tokens tries its patterns only at the `sk-` starts Hyperscan lists:
    # the same matches as each pattern's own search of the whole content.
    marked = marks.sk_starts(data)
    assert marked == _finds(data)
    for starts in (marked, tokens._sk_starts(data)):
        for pattern in (tokens.SK_TOKEN, tokens._EXACT_SHAPE):
            assert [m.span() for m in tokens._matches_at(pattern, data, starts)] == [
                m.span() for m in pattern.finditer(data)
            ]
    assert marks.holds_control(data) == (
        len(data.translate(None, tokens.CONTROL_BYTES)) != len(data)
    )
    assert list(tokens._sk_starts(data)) == _finds(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=_token_content(), path=st.sampled_from(["main.py", "blob.bin"]))
def test_detect_of_tokens_with_marks_is_detect(data: bytes, path: str) -> None:
    content = Content(path=path, data=data)
    marked = detect(content)
    marks.disable()
    assert marked == detect(content)


def _split_heads(data: bytes) -> list[tuple[int, int]]:
    # tokens.find_split_heads' search, as it was: every match after no word byte.
    return [
        m.span()
        for m in tokens._SPLIT_HEAD.finditer(data)
        if not (m.start() and data[m.start() - 1] in tokens._TOKEN_BYTES)
    ]


# A key's head split from its rest, after a word byte or not, by every kind of glue.
_GLUES = ['" + "', "' '", '"\n"', "\\\n  ", "\n", "\r\n", "`, `", '" /* x */ "', '\\"', '"""']


@st.composite
def _split_content(draw: st.DrawFn) -> bytes:
    rng = random.Random(draw(st.integers(0, 2**32)))
    parts: list[str] = []
    for _ in range(draw(st.integers(0, 12))):
        head = rng.choice(["sk", "s", "sk", "S", "ss"])
        tail = "-" if head.endswith("k") else rng.choice(["k-", "-", "K-"])
        parts.append(
            rng.choice(["", " ", "a", "(", "_", "-", "\\n", '"', "\n"])
            + head
            + rng.choice(_GLUES)
            + tail
            + "".join(rng.choice(keygen.ALNUM) for _ in range(rng.randint(0, 50)))
        )
    return "".join(parts).encode()


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.one_of(_split_content(), _token_content(), _content()))
def test_split_heads_are_tried_where_the_search_matched(data: bytes) -> None:
    heads = marks.split_heads(data)
    assert heads is not None
    tried = [tokens._SPLIT_HEAD.match(data, at) for at in heads]
    assert [m.span() for m in tried if m is not None] == [
        span for span in _split_heads(data) if span[0] in heads
    ]
    assert {start for start, _ in _split_heads(data)} <= set(heads)
