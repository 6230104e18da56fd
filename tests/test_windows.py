"""Content larger than a window is scanned window by window, and reports exactly what a
whole scan reports: each key once, at the line and column of the whole file."""

from __future__ import annotations

import base64
import json
import random
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from kimi_secret_scan.content import Content
from kimi_secret_scan.detectors import detect
from kimi_secret_scan.windows import OVERLAP, detect_chunks
from tests import keygen
from tests.gitrepo import GitRepo, run_cli

WINDOW = 64 << 10
SMALL = {"KIMI_SECRET_SCAN_WINDOW": str(WINDOW)}
WHOLE = {"KIMI_SECRET_SCAN_WINDOW": str(1 << 30)}


def _filler(rng: random.Random, size: int) -> str:
    words = ("alpha", "beta", "gamma", "d\u00e9j\u00e0", "\u6f22\u5b57", "x = 1;", "#")
    out: list[str] = []
    total = 0
    while total < size:
        line = " ".join(rng.choice(words) for _ in range(rng.randint(1, 12))) + "\n"
        out.append(line)
        total += len(line.encode())
    return "".join(out)


def _document() -> tuple[str, list[str]]:
    """A text of about five windows, with keys where windows meet and on a long line."""
    rng = random.Random(7)
    keys = [keygen.kimi_code_key(rng) for _ in range(3)] + [
        keygen.moonshot_key(rng) for _ in range(4)
    ]
    parts = [keys[0], "\n"]  # at the very start
    parts.append(_filler(rng, WINDOW - 1200))
    parts.append("the moonshot account\n")  # context for keys[3], in the previous window
    parts.append(_filler(rng, 1000) + "y" * 100 + "\n")
    parts.append(f"a = '{keys[3]}'\n")  # starts in the next window's own part
    parts.append(_filler(rng, WINDOW - 2000))
    parts.append("k" * 1860 + f" {keys[1]} x\n")  # the key straddles the boundary
    parts.append(_filler(rng, WINDOW // 2))
    # One line longer than two windows, with keys in its middle and near its end.
    parts.append("\u00e9" * (WINDOW * 3 // 4) + f" kimi: {keys[4]} ")
    parts.append("z" * (WINDOW + 3000) + f" {keys[5]} " + "\u6f22" * 9000 + "\n")
    parts.append(_filler(rng, WINDOW))
    parts.append(f"MOONSHOT_API_KEY={keys[6]}\n")
    parts.append(_filler(rng, 3000))
    parts.append(keys[2])  # at the very end, no newline
    return "".join(parts), keys


def _where(text: str, key: str) -> tuple[int, int]:
    offset = text.index(key)
    assert text.count(key) == 1
    line_start = text.rfind("\n", 0, offset) + 1
    return text.count("\n", 0, offset) + 1, offset - line_start + 1


def _findings(report: dict[str, Any]) -> list[tuple[int, int, int, str]]:
    return sorted(
        (f["line"], f["column"], f["end_column"], f["confidence"]) for f in report["findings"]
    )


def _check(text: str, keys: list[str], windowed: dict[str, Any], whole: dict[str, Any]) -> None:
    assert _findings(windowed) == _findings(whole)
    found = {(f["line"], f["column"]): f for f in windowed["findings"]}
    assert len(windowed["findings"]) == len(keys)
    for key in keys:
        line, column = _where(text, key)
        assert (line, column) in found, (key[:10], line, column, sorted(found))
        assert found[(line, column)]["end_column"] == column + len(key)
    assert windowed["stats"]["lines"] == whole["stats"]["lines"]


def test_files_larger_than_a_window(tmp_path: Path) -> None:
    text, keys = _document()
    data = text.encode()
    assert len(data) > 4 * WINDOW
    # Where the keys sit: context only in the previous window, a key across a boundary.
    context, late = data.index(b"moonshot account"), data.index(keys[3].encode())
    assert context < WINDOW < late < context + 2000
    straddling = data.index(keys[1].encode())
    assert straddling < 2 * WINDOW < straddling + len(keys[1])
    (tmp_path / "big.txt").write_bytes(text.encode())
    runs = [
        run_cli("files", "--format", "json", "big.txt", cwd=tmp_path, env=e) for e in (SMALL, WHOLE)
    ]
    for run in runs:
        assert run.code == 1, run.all
    windowed, whole = (json.loads(r.out) for r in runs)
    _check(text, keys, windowed, whole)
    assert windowed["stats"]["bytes"] == len(text.encode())


def test_history_blob_larger_than_a_window(repo: GitRepo) -> None:
    text, keys = _document()
    repo.commit_file("big.txt", text.encode())
    repo.commit_file("other.txt", "nothing\n")
    runs = [run_cli("history", "--format", "json", cwd=repo.path, env=e) for e in (SMALL, WHOLE)]
    for run in runs:
        assert run.code == 1, run.all
    windowed, whole = (json.loads(r.out) for r in runs)
    assert {f["path"] for f in windowed["findings"]} == {"big.txt"}
    _check(text, keys, windowed, whole)


def test_allow_comment_in_a_later_window(tmp_path: Path) -> None:
    text, keys = _document()
    text = text.replace(f"a = '{keys[3]}'\n", f"a = '{keys[3]}'  # kimi-secret-scan: allow\n")
    (tmp_path / "big.txt").write_bytes(text.encode())
    run = run_cli("files", "--format", "json", "big.txt", cwd=tmp_path, env=SMALL)
    report = json.loads(run.out)
    assert len(report["findings"]) == len(keys) - 1
    assert report["stats"]["suppressed"] == 1


_KEYS = [keygen.moonshot_key(random.Random(n)) for n in range(3)] + [
    keygen.kimi_code_key(random.Random(9))
]


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 3000),
            st.sampled_from(["", "\n", "kimi ", "api_key = '", "\u00e9\u00e9", '"sk-" + "']),
            st.sampled_from(range(len(_KEYS))),
        ),
        max_size=12,
    ),
    st.integers(1, 5000),
    st.integers(4000, 40000),
)
def test_windowed_equals_whole(pieces: list[tuple[int, str, int]], chunk: int, window: int) -> None:
    filler = "ab c\u00e9\n" * (OVERLAP // 6)
    text = "".join(filler[:n] + before + _KEYS[k] + "\n" for n, before, k in pieces)
    text = filler + text + filler
    data = text.encode()
    content = Content(path="doc.txt", data=data)
    chunks = (data[i : i + chunk] for i in range(0, len(data), chunk))
    windowed = detect_chunks(Content(path="doc.txt", data=b""), chunks, window=window)
    assert windowed == detect(content)


def test_utf16_larger_than_a_window(tmp_path: Path) -> None:
    """UTF-16 with and without a byte-order mark, both byte orders: every key after the
    first window too, at the same line and column as a whole scan."""
    text, keys = _document()
    for encoding in ("utf-16", "utf-16-le", "utf-16-be"):
        (tmp_path / f"{encoding}.txt").write_bytes(text.encode(encoding))
        runs = [
            run_cli("files", "--format", "json", f"{encoding}.txt", cwd=tmp_path, env=e)
            for e in (SMALL, WHOLE)
        ]
        windowed, whole = (json.loads(r.out) for r in runs)
        _check(text, keys, windowed, whole)


def test_utf16_history_blob_larger_than_a_window(repo: GitRepo) -> None:
    text, keys = _document()
    repo.commit_file("big.txt", text.encode("utf-16"))
    run = run_cli("history", "--format", "json", cwd=repo.path, env=SMALL)
    whole = run_cli("history", "--format", "json", cwd=repo.path, env=WHOLE)
    _check(text, keys, json.loads(run.out), json.loads(whole.out))


@settings(max_examples=15, deadline=None)
@given(
    st.sampled_from(["utf-16", "utf-16-le", "utf-16-be", "utf-32"]),
    st.integers(1, 5000),
    st.integers(4000, 40000),
)
def test_wide_windowed_equals_whole(encoding: str, chunk: int, window: int) -> None:
    filler = "ab c\u00e9 \U0001f600\n" * (OVERLAP // 8)
    text = filler + "".join(f"x{n} = '{k}'\n" + filler[: 977 * n] for n, k in enumerate(_KEYS))
    data = text.encode(encoding)
    chunks = (data[i : i + chunk] for i in range(0, len(data), chunk))
    windowed = detect_chunks(Content(path="doc.txt", data=b""), chunks, window=window)
    whole = detect(Content(path="doc.txt", data=data))
    assert len(whole) == len(_KEYS)
    assert [(f.line, f.column, f.secret) for f in windowed] == [
        (f.line, f.column, f.secret) for f in whole
    ]


def _utf16_then_utf8(window: int) -> tuple[bytes, list[str]]:
    """UTF-16 without a byte-order mark (with a key in it, so detect() reads the whole file
    as wide text too), going on in UTF-8 with keys that only a decoder finds: escapes,
    base64, percent and HTML entities, in the first window and in later ones."""
    rng = random.Random(14)
    keys = [keygen.kimi_code_key(rng) for _ in range(10)] + [keygen.moonshot_key(rng)]
    head = f"X-API-key: {keys[-1]}\n" + "notes for the moonshot account\n" * 80
    spellings = [
        lambda k: "token = '" + k.replace("-", "\\x2d") + "'",
        lambda k: '"auth": "' + k.replace("-", "\\u002d") + '"',
        lambda k: "moonshot_key: " + base64.b64encode(k.encode()).decode(),
        lambda k: "https://api.moonshot.cn/?key=" + k.replace("-", "%2D"),
        lambda k: "<td>" + k.replace("-", "&#45;") + "</td>",
    ]
    filler = "plain ascii text about the moonshot api\n" * (window // 40 + 3)
    tail = "".join(
        spellings[n % 5](key) + "\n" + (filler if n in (4, 7) else "")
        for n, key in enumerate(keys[:-1])
    )
    return head.encode("utf-16-le") + tail.encode(), keys


def test_utf16_then_utf8_windowed_finds_decoded_keys(tmp_path: Path) -> None:
    """A window read as UTF-16 still keeps what the decoders find in its bytes as they are
    (the UTF-8 part): every key a whole read finds, at the same place (it once dropped
    every decoded key of the bytes, silently)."""
    data, keys = _utf16_then_utf8(4096)
    whole = detect(Content(path="doc.txt", data=data))
    assert {f.secret for f in whole} == set(keys)
    for chunk in (1000, 4096):
        chunks = (data[i : i + chunk] for i in range(0, len(data), chunk))
        windowed = detect_chunks(Content(path="doc.txt", data=b""), chunks, window=4096)
        assert sorted((f.line, f.column, f.secret) for f in windowed) == sorted(
            (f.line, f.column, f.secret) for f in whole
        )
    # Through the CLI, with the file several of its windows long.
    data, keys = _utf16_then_utf8(WINDOW)
    assert len(data) > 2 * WINDOW
    (tmp_path / "mixed.txt").write_bytes(data)
    runs = [
        run_cli("files", "--format", "json", "mixed.txt", cwd=tmp_path, env=e)
        for e in (SMALL, WHOLE)
    ]
    for run in runs:
        assert run.code == 1, run.all
    windowed_report, whole_report = (json.loads(r.out) for r in runs)
    assert len(whole_report["findings"]) == len(keys)
    assert _findings(windowed_report) == _findings(whole_report)
    assert windowed_report["stats"]["complete"] is True


def test_utf16_then_utf8_decoder_budget_is_reported(tmp_path: Path) -> None:
    """Past a decoder's budget in a window, the file is reported as not scanned whole
    (exit 2), whichever way the window is read; never passed as clean."""
    head = "notes for the kimi account\n" * 80
    data = head.encode("utf-16-le") + b"kimi sk\\x2dab\n" * (3 * WINDOW // 14)
    (tmp_path / "flood.txt").write_bytes(data)
    for env in (SMALL, WHOLE):
        run = run_cli("files", "--format", "json", "flood.txt", cwd=tmp_path, env=env)
        assert run.code == 2, run.all
        report = json.loads(run.out)
        assert report["stats"]["complete"] is False
        assert "decoder's limit" in report["stats"]["incomplete"][0]["reason"]
