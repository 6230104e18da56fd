"""Properties of detection that must hold for any key, any surrounding text, any bytes."""

from __future__ import annotations

import base64
import random
import string
from collections.abc import Callable

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kimi_secret_scan.content import Content
from kimi_secret_scan.detectors import detect
from kimi_secret_scan.reports import FORMATS
from kimi_secret_scan.scan import scan
from tests import keygen

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Each syntax writes a key into one line and says at which character (0-based) the key, or
# its encoded or split form, starts.
Syntax = Callable[[str], tuple[str, int]]


def _around(before: str, middle: str, after: str) -> tuple[str, int]:
    return before + middle + after, len(before)


SYNTAXES: dict[str, Syntax] = {
    "python": lambda k: _around('API_KEY = "', k, '"'),
    "json": lambda k: _around('"apiKey": "', k, '",'),
    "yaml": lambda k: _around("api_key: ", k, ""),
    "dotenv": lambda k: _around("KIMI_API_KEY=", k, ""),
    "shell": lambda k: _around("export KEY='", k, "'"),
    "curl": lambda k: _around('curl -H "Authorization: Bearer ', k, '" https://api.kimi.com/'),
    "xml": lambda k: _around('<add key="kimi" value="', k, '"/>'),
    "markdown": lambda k: _around("The key is `", k, "`."),
    "notebook": lambda k: _around('"    key = \\"', k, '\\"\\n",'),
    "url": lambda k: _around("https://relay.example/v1?api_key=", k, "&m=kimi"),
    "comment": lambda k: _around("# 密钥 (月之暗面 😀): ", k, ""),
    "percent": lambda k: _around("https://relay.example/?k=", k.replace("-", "%2D", 1), "&x"),
    "unicode-escape": lambda k: _around('{"k": "', k.replace("-", "\\u002d"), '"}'),
    "base64": lambda k: _around("  api-key: ", base64.b64encode(k.encode()).decode(), ""),
    "concat": lambda k: _around('key = "', k[:3] + '" + "' + k[3:], '"'),
}
# Without a byte-order mark, UTF-16 is recognised by a literal sk- in it.
PLAIN = {"python", "json", "yaml", "dotenv", "shell", "curl", "xml", "markdown", "url", "comment"}
FILLER = st.text(
    alphabet=st.sampled_from(list(string.ascii_letters + string.digits + " .,;:()#/=é中文😀")),
    max_size=60,
)


def _key(seed: int, kimi_code: bool) -> str:
    rng = random.Random(seed)
    return keygen.kimi_code_key(rng) if kimi_code else keygen.moonshot_key(rng)


@FAST
@given(
    seed=st.integers(0, 2**32),
    kimi_code=st.booleans(),
    syntax=st.sampled_from(sorted(SYNTAXES)),
    before=st.lists(FILLER, max_size=6),
    after=st.lists(FILLER, max_size=3),
    indent=st.text(alphabet=" \t", max_size=8),
    newline=st.sampled_from(["\n", "\r\n"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-32"]),
)
def test_key_found_at_exact_place(
    seed: int,
    kimi_code: bool,
    syntax: str,
    before: list[str],
    after: list[str],
    indent: str,
    newline: str,
    encoding: str,
) -> None:
    if encoding == "utf-16-le" and syntax not in PLAIN:
        encoding = "utf-16"
    key = _key(seed, kimi_code)
    line, column = SYNTAXES[syntax](key)
    text = newline.join([*before, indent + line, *after]) + newline
    findings = detect(Content(path="f", data=text.encode(encoding)))
    where = [(f.line, f.column) for f in findings if f.secret == key]
    assert (len(before) + 1, len(indent) + column + 1) in where, (syntax, where)


@FAST
@given(st.binary(max_size=4000))
def test_arbitrary_bytes_never_crash(data: bytes) -> None:
    detect(Content(path="f", data=data))


_PIECES = [
    b"sk-",
    b"sk-kimi-",
    b"c2st",
    b"NrL",
    b"zay",
    b"eyJ",
    b"ockerc",
    b"\\u002d",
    b"sk%2D",
    b"sk&#45;",
    b"\\x2d",
    b"%",
    b"\\",
    b'"',
    b"'",
    b" + ",
    b"\n",
    b"\r\n",
    b"\\\n",
    b"\xff\xfe",
    b"\xfe\xff",
    b"\x00",
    b"s\x00k\x00-\x00",
    b"Bearer ",
    b"x-api-key: ",
    b"api.kimi.com",
    b"moonshot.cn",
    b"KIMI_API_KEY=",
    b"=",
    b"\xe4\xb8\xad",
]


@FAST
@given(
    st.lists(
        st.one_of(
            st.sampled_from(_PIECES),
            st.binary(max_size=20),
            st.text(
                alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
            ).map(str.encode),
        ),
        max_size=60,
    )
)
def test_key_shaped_noise_never_crashes(parts: list[bytes]) -> None:
    data = b"".join(parts)
    detect(Content(path="f", data=data))
    detect(Content(path="f", data=base64.b64encode(data)))


@FAST
@given(
    seed=st.integers(0, 2**32),
    syntaxes=st.lists(st.sampled_from(sorted(SYNTAXES)), min_size=1, max_size=4),
    one_line=st.booleans(),
    show=st.booleans(),
)
def test_no_format_shows_a_whole_key_unless_asked(
    seed: int, syntaxes: list[str], one_line: bool, show: bool
) -> None:
    rng = random.Random(seed)
    keys = [keygen.kimi_code_key(rng) if i % 2 else keygen.moonshot_key(rng) for i in range(4)]
    lines = [SYNTAXES[s](keys[i % 4])[0] for i, s in enumerate(syntaxes)]
    # On one line, each finding's excerpt holds the other keys in their own spellings.
    text = (" ; " if one_line else "\n").join(lines)
    result = scan("files", "test", [Content(path="f.txt", data=text.encode())])
    assert result.findings
    for name, render in FORMATS.items():
        out = render(result, show, False)
        for key in keys:
            encoded = base64.b64encode(key.encode()).decode()
            if show:
                continue
            assert key not in out, name
            assert key[3:] not in out, name
            assert encoded not in out, name
    if show:
        shown = FORMATS["json"](result, True, False)
        assert any(f.secret in shown for f in result.findings)
