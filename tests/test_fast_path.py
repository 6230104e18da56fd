"""The detectors' fast path finds what the full path finds, on any content.

detect() surveys the top layer in few passes (`sk`, "kimi" and the heads of Kimi-named
settings found together from the `k`), runs the Kimi-setting pattern only where a setting's
head follows a name, the header pattern only on lines holding a header word, and finds base64
triggers from their rarest letter. The full path, built here by swapping those pieces for
the plain ones (SK_ANY and each word searched on its own, every name tried, the header
pattern over the whole layer, every trigger found with bytes.find, and the layer scanned
even where the survey found nothing it starts from), must give the same
findings, or the same error, on generated content: keys in Kimi contexts, settings of any
shape, headers, base64, escapes, UTF-16, project words.
"""

from __future__ import annotations

import base64
import random
import re
from collections.abc import Iterator
from contextlib import contextmanager
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kimi_secret_scan import decoders
from kimi_secret_scan.content import Content
from kimi_secret_scan.detect import headers, layered, marks
from kimi_secret_scan.detect.layer import Layer
from kimi_secret_scan.detect.tokens import SK_ANY
from kimi_secret_scan.detectors import detect
from kimi_secret_scan.errors import ScanError
from kimi_secret_scan.finding import Finding
from kimi_secret_scan.settings import DEFAULT_SETTINGS, DetectorSettings
from tests import keygen

_base64_starts = decoders.base64_starts


def _full_setting_starts(folded: bytes, kimi: bool, moonshot: bool) -> tuple[list[int], bool]:
    # Every name that starts a word, whatever follows it (and whatever the caller knows).
    at: list[int] = []
    for word in (b"kimi", b"moonshot"):
        pos = folded.find(word)
        while pos >= 0:
            if pos == 0 or not folded[pos - 1 : pos].isalnum():
                at.append(pos)
            pos = folded.find(word, pos + 1)
    return sorted(at), b"kimi.com" in folded


def _full_find_headers(scan: Layer, found: list[tuple[int, Finding]], folded: bytes) -> None:
    for match in headers._HEADER.finditer(scan.data):
        start, end = match.span(1)
        finding = headers.header_token(scan, start, end)
        if finding is not None:
            found.append((scan.to_root(start), finding))


def _full_base64_starts(data: bytes, deep: bool, broad: bool, wrapped: bool = True) -> list[int]:
    # (`wrapped` is the marks' hint; the full path searches the cut triggers always.)
    if not (deep or broad):
        return []
    starts: list[int] = []
    for needle, index, _ in decoders.SK_TRIGGERS:
        pos = data.find(needle)
        while pos >= 0:
            starts.append(pos - index)
            pos = data.find(needle, pos + 1)
    for pattern, index, _ in decoders.WRAPPED_TRIGGERS:
        starts.extend(m.start() - index for m in re.finditer(pattern, data))
    pos = data.find(decoders.JSON_TRIGGER)
    while pos >= 0:
        if pos == 0 or data[pos - 1] not in decoders._B64_CHARS:
            starts.append(pos)
        pos = data.find(decoders.JSON_TRIGGER, pos + 1)
    if deep:
        starts.extend(m.start() for m in decoders._B64_RUN.finditer(data))
    return starts


def _full_holds_named_base64(data: bytes) -> bool:
    return any(needle in data for needle in decoders.named_triggers())


def _full_survey(data: bytes, folded: bytes) -> layered._Survey:
    names = _full_setting_starts(folded, True, True)
    endpoint = b"kimi.com" in folded or b"moonshot." in folded
    return layered._Survey(
        SK_ANY.search(data), b"kimi" in folded, b"moonshot" in folded, (names[0], endpoint)
    )


@contextmanager
def _full_path() -> Iterator[None]:
    with (
        mock.patch.object(layered, "_survey", _full_survey),
        mock.patch.object(layered, "setting_starts", _full_setting_starts),
        mock.patch.object(layered, "find_headers", _full_find_headers),
        mock.patch.object(decoders, "base64_starts", _full_base64_starts),
        mock.patch.object(decoders, "holds_named_base64", _full_holds_named_base64),
        mock.patch.object(layered, "_SHORT", 0),  # no gate for short content
        mock.patch.object(layered, "_SKIP_EMPTY_LAYER", False),  # the layer scanned
    ):
        yield


def _outcome(content: Content, config: DetectorSettings) -> list[Finding] | str:
    try:
        return detect(content, config)
    except ScanError as exc:
        return f"{type(exc).__name__}: {exc}"


@contextmanager
def _marks_on() -> Iterator[None]:
    # The history audit's survey: Hyperscan's marks decide which passes run (where the
    # package has no wheel, the plain survey runs: tests/test_marks.py is skipped there).
    marks.enable()
    try:
        with mock.patch.object(marks, "_MIN_LENGTH", 0):  # at any length
            yield
    finally:
        marks.disable()


def _outcomes(content: Content, config: DetectorSettings) -> list[list[Finding] | str]:
    """The fast path's outcome without and with the marks, and the full path's."""
    fast = _outcome(content, config)
    with _marks_on():
        marked = _outcome(content, config)
    with _full_path():
        full = _outcome(content, config)
    return [fast, marked, full]


NAMES = [
    "kimi",
    "Kimi",
    "KIMI",
    "moonshot",
    "Moonshot",
    "MOONSHOT",
    "kimi_cli",
    "xkimi",
    "kimi_moonshot",
    "kimi.com",
    "api.kimi.com",
    "platform.kimi.com/console",
    "api.moonshot.cn",
    "moonshot.ai/",
    "月之暗面",
    "acme",
]
TAILS = [
    "",
    "_API_KEY",
    "ApiKey",
    ".api_key",
    "_token",
    "Secret",
    "-auth",
    "_passwd",
    "_password",
    "_credential",
    ".com.key",
    "_" + "a" * 28 + "_key",
    "_" + "a" * 31 + "_key",
    "_KEY_PROD",
    "ApiKey: string ",
    "_key_" + "x" * 17,
    "_" + "a" * 29 + "credential" + "b" * 16,
    "_" + "a" * 29 + "credential" + "b" * 17,
    "_" + "a" * 29 + "credential" + "b" * 16 + '" :',
]
OPERATORS = ["=", ": ", " => ", " := ", ", ", "(", '": "', "='", '\\": \\"', " = Bearer ", " "]
HEADERS = [
    "Authorization: Bearer ",
    "authorization: BEARER ",
    '"Authorization": "Bearer ',
    "Authorization => bearer\t",
    "X-Api-Key: ",
    "x-API-key=",
    "X-API-KEY: ",
    'x-api-key\\": \\"',
]
OTHER = [
    "\n",
    "\r\n",
    " ",
    ";",
    "",
    "${KIMI}",
    "os.environ[",
    "...",
    "eyJ",
    "c2st",
    "https://api.moonshot.cn/v1",
    "OPENAI_API_KEY=",
    "# ",
    "sk-",
    "ask-me",
    "TASK-7",
    "Sk%2D",
]


def _value(rng: random.Random, kind: int) -> str:
    if kind == 0:
        return keygen.moonshot_key(rng)
    if kind == 1:
        return keygen.kimi_code_key(rng)
    if kind == 2:
        return keygen.other_sk_token(rng.randint(20, 60), rng)
    if kind == 3:
        return keygen.body(rng.randint(8, 70), rng)
    if kind == 4:
        return "".join(rng.choice("0123456789abcdef") for _ in range(32))
    if kind == 5:
        return "AIza" + keygen.body(35, rng)
    if kind == 6:
        return "KIMI_API_KEY_PROD"
    return "MOONSHOT_API_KEY=" + keygen.moonshot_key(rng)


# Spellings of `-` that programs decode (decoders.HYPHEN_*), and `&hyphen;` (U+2010).
HYPHENS = [
    "\\u002d",
    "%2D",
    "\\x2d",
    "&#45;",
    "&#X2D;",
    "&#0045;",
    "&#45",
    "&amp;#45;",
    "\\\\u002d",
    "\\u{2d}",
    "\\x{2d}",
    "\\U0000002d",
    "\\x002d",
    "\\55",
    "\\o{55}",
    "\\N{HYPHEN-MINUS}",
    "\\2d ",
    "`u{2d}",
    "%u002d",
    "%252d",
    "&hyphen;",
]


@st.composite
def _piece(draw: st.DrawFn) -> str:
    rng = random.Random(draw(st.integers(0, 2**32)))
    shape = draw(st.integers(0, 6))
    value = _value(rng, draw(st.integers(0, 7)))
    if shape == 0:  # a setting of any shape
        name = draw(st.sampled_from(NAMES)) + draw(st.sampled_from(TAILS))
        text = name + draw(st.sampled_from(OPERATORS)) + value
    elif shape == 1:  # a header
        text = draw(st.sampled_from(HEADERS)) + value
    elif shape == 2:  # a context word near a bare value
        text = draw(st.sampled_from(NAMES)) + draw(st.sampled_from(OTHER)) + value
    elif shape == 3:  # escaped
        text = value.replace("-", draw(st.sampled_from(HYPHENS)), 1)
    else:
        text = draw(st.sampled_from(NAMES + OTHER + HEADERS)) + draw(st.sampled_from(OTHER))
    if draw(st.integers(0, 5)) == 0:  # base64, maybe of base64
        text = draw(st.sampled_from(["  api-key: ", "data: ", "", "kimi: "])) + (
            base64.b64encode(text.encode()).decode()
        )
    return text


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    pieces=st.lists(st.tuples(_piece(), st.sampled_from(OTHER)), max_size=8),
    encoding=st.sampled_from(["utf-8", "utf-8", "utf-8", "utf-16", "utf-16-le"]),
    path=st.sampled_from(["main.py", "config.yaml", ".env", "README.md", "blob"]),
    custom=st.booleans(),
)
def test_fast_path_finds_what_the_full_path_finds(
    pieces: list[tuple[str, str]], encoding: str, path: str, custom: bool
) -> None:
    text = "".join(piece + sep for piece, sep in pieces)
    content = Content(path=path, data=text.encode(encoding, "surrogatepass"))
    config = (
        DetectorSettings(context_words=("acme",), variable_names=("ACME_TOKEN",))
        if custom
        else DEFAULT_SETTINGS
    )
    fast, marked, full = _outcomes(content, config)
    assert fast == full
    assert marked == full


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32),
    name=st.sampled_from(NAMES),
    tail=st.sampled_from(TAILS),
    operator=st.sampled_from(OPERATORS),
    kind=st.integers(0, 6),
    before=st.sampled_from(OTHER),
    after=st.sampled_from(OTHER),
)
def test_settings_of_any_shape(
    seed: int, name: str, tail: str, operator: str, kind: int, before: str, after: str
) -> None:
    value = _value(random.Random(seed), kind)
    text = f"x {before}{name}{tail}{operator}{value}{after} {name}{tail}{operator}{value}"
    content = Content(path="main.py", data=text.encode())
    fast, marked, full = _outcomes(content, DEFAULT_SETTINGS)
    assert fast == full
    assert marked == full


def test_the_full_path_is_the_plain_one() -> None:
    # The swap takes effect (else the property above compares the fast path with itself).
    with _full_path():
        assert decoders.base64_starts is _full_base64_starts
        assert decoders.holds_named_base64 is _full_holds_named_base64
        assert layered.setting_starts is _full_setting_starts
        assert layered._survey is _full_survey
        assert layered._SHORT == 0
    assert decoders.base64_starts is _base64_starts
