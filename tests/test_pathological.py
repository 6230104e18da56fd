"""Inputs built to make a scanner backtrack, loop or explode: each must finish, and a file
given up on must be reported as skipped, never silently passed."""

from __future__ import annotations

import base64
import json
import random
from typing import Any

import pytest

from kimi_secret_scan import detectors
from kimi_secret_scan.content import Content
from kimi_secret_scan.detectors import detect
from kimi_secret_scan.reports import FORMATS
from kimi_secret_scan.reports.text import summary
from kimi_secret_scan.scan import scan
from tests import keygen
from tests.gitrepo import GitRepo, run_cli

MB = 1024 * 1024


def _detect(data: bytes) -> list[detectors.Finding]:
    return detect(Content(path="p", data=data))


def test_a_megabyte_of_sk_prefixes() -> None:
    assert _detect(b"sk-" * (MB // 3)) == []
    assert _detect(b"sk-kimi-" * (MB // 8)) == []
    assert _detect(b"sk- " * (MB // 4)) == []
    assert _detect(b'"sk-" + ' * (MB // 8)) == []


def test_a_megabyte_of_escaped_prefixes() -> None:
    for unit in (b"sk\\u002d", b"sk%2D", b"sk&#45;", b"sk\\x2d", b"\\u0073\\u006b"):
        assert _detect(unit * (MB // len(unit))) == []


def test_a_megabyte_of_base64_triggers() -> None:
    for unit in (b"c2st", b"NrLa", b"zay0", b"eyJh"):
        assert _detect(unit * (MB // 4) + b"\n.dockerconfigjson") == []


def test_a_megabyte_of_string_joins() -> None:
    # Base64 wrapped as string pieces is read across `"…\n"` ⏎ `+ "…"` (decoders._WRAP):
    # quotes, blanks and operators in bulk, and random base64 in such pieces, finish.
    for unit in (b"'", b'" "', b'"\n+ "', b'"' + b" " * 200 + b'"t', b'AAAA\\n" "c2', b"`\t..`"):
        assert _detect(unit * (MB // len(unit))) == []
    enc = base64.b64encode(random.Random(2).randbytes(MB)).decode()
    pieces = "".join(f'    "{enc[i : i + 76]}\\n"\n' for i in range(0, len(enc), 76))
    assert _detect(b"moonshot.cn\n" + pieces.encode()) == []


def test_one_ten_megabyte_line_reports_the_right_column() -> None:
    key = keygen.kimi_code_key()
    filler = b"var a=function(b){return b*2};" * (10 * MB // 31)
    data = filler + b'var k="' + key.encode() + b'";' + filler[:1000]
    findings = _detect(data)
    assert [(f.line, f.column, f.secret) for f in findings] == [(1, len(filler) + 8, key)]
    # The excerpt is a window around the key, not the whole line.
    assert len(findings[0].excerpt) < 300


def test_ten_megabytes_of_lines_with_crlf() -> None:
    key = keygen.moonshot_key()
    lines = [b"x = 1  # moonshot"] * (10 * MB // 19)
    data = b"\r\n".join([*lines, b'KEY = "' + key.encode() + b'"', b""])
    findings = _detect(data)
    assert [(f.line, f.column) for f in findings] == [(len(lines) + 1, 8)]


def test_nesting_is_bounded() -> None:
    key = keygen.kimi_code_key()
    text = key.encode()
    for _ in range(12):
        text = base64.b64encode(b"x: " + text)
    assert _detect(text) == []  # beyond the depth limit: finishes, finds nothing


def test_three_levels_deep_are_opened() -> None:
    key = keygen.kimi_code_key()
    auth = base64.b64encode(b"robot:" + key.replace("-", "%2D").encode()).decode()
    config = json.dumps({"auths": {"registry.example.com": {"auth": auth}}})
    data = b".dockerconfigjson: " + base64.b64encode(config.encode()) + b"\n"
    findings = _detect(data)
    assert [(f.secret, f.encoding) for f in findings] == [(key, "base64+base64+percent")]


def test_random_base64_megabyte() -> None:
    blob = base64.b64encode(random.Random(1).randbytes(MB))
    assert _detect(blob) == []
    assert _detect(base64.encodebytes(blob)) == []


def test_a_regex_timeout_skips_the_file_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    key = keygen.kimi_code_key()
    # Text decoded from base64 is read by a pattern that `regex` runs with the time-out (the
    # token and setting patterns are `re`'s, which cannot backtrack without bound: none).
    encoded = base64.b64encode(b"KIMI_API_KEY=" + key.encode())
    data = (b"sk-" + b"a" * 40 + b" ") * (2 * MB // 44) + key.encode() + b"\n" + encoded
    monkeypatch.setattr(detectors, "REGEX_TIMEOUT", 1e-9)
    with pytest.raises(detectors.DetectionTimeout):
        _detect(data)
    result = scan("files", "test", [Content(path="huge.txt", data=data)])
    assert [s.path for s in result.stats.skipped] == ["huge.txt"]
    assert result.findings == []
    assert "1 skipped" in summary(result)
    assert "skipped huge.txt: " in FORMATS["text"](result, False, False)
    assert '"path": "huge.txt"' in FORMATS["json"](result, False, False)


def test_pathological_file_through_the_cli(repo: GitRepo) -> None:
    key = keygen.kimi_code_key()
    repo.write("big.min.js", b"sk-" * (MB // 3) + b"\n" + b"a;" * MB + key.encode() + b"\n")
    run = run_cli("files", "big.min.js", cwd=repo.path)
    assert run.code == 1, run.all
    assert "big.min.js:2:" in run.out
    assert key not in run.all


def test_short_content_of_doubly_escaped_hyphens_opens_a_window_per_line_not_per_hit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """1 KiB of `sk%252d` (review of fix11): a window that reaches the content's end was kept
    back by a token's length, so every hit opened its own window, each opening as many one
    layer deeper: 20,899 decoded layers, 6 s. Counted, not timed."""
    from kimi_secret_scan.detect import layered

    layers: list[int] = []
    real = layered._sublayer

    def counted(scan: Any, decoded: Any, found: Any) -> None:
        layers.append(scan.depth + 1)
        real(scan, decoded, found)

    monkeypatch.setattr(layered, "_sublayer", counted)
    assert detect(Content(path="a.txt", data=b"sk%252d" * 146)) == []
    assert len(layers) <= 10, len(layers)


def test_a_line_of_tokens_after_an_m_is_read_once() -> None:
    # `msk-msk-…`: each `msk-` looks like a token after a colour's `m`; the body was read to
    # the line's end from each before the colour was found missing (quadratic: a MiB took
    # tens of minutes, review h13a). The key after it is found.
    key = keygen.moonshot_key()
    data = b"x = '" + b"msk-" * (MB // 4) + b"'\nMOONSHOT_API_KEY=" + key.encode() + b"\n"
    assert [f.secret for f in _detect(data)] == [key]
