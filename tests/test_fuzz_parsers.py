"""Property tests (hypothesis): the parsers of git's output and the detectors, on random
bytes and on random well-formed input. Malformed input raises ScanError (exit 2, one
line), never another exception and never a silently wrong result; well-formed input
parses back to what was written; the detectors never raise and point at the key."""

from __future__ import annotations

import contextlib
import io
import os
import tempfile

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kimi_secret_scan.content import Content
from kimi_secret_scan.detectors import detect
from kimi_secret_scan.errors import ScanError
from kimi_secret_scan.git import parse_batch
from kimi_secret_scan.randomness import is_placeholder_body
from kimi_secret_scan.sources import commits, staged
from kimi_secret_scan.sources.history import _ChunkReader
from tests.keygen import ALNUM

FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
oid = st.text("0123456789abcdef", min_size=40, max_size=40)
path = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\0\n"), min_size=1)
junk = st.binary(max_size=600)


def _key(body: str, kimi: bool) -> str:
    return ("sk-" + "kimi-" + body) if kimi else ("sk-" + body[:48])


# Bodies the scanner does not take for placeholders (a real key passes that test with a
# probability above 1 - 1e-6; hypothesis likes the improbable ones, like all zeros).
key = st.builds(
    _key,
    st.text(ALNUM, min_size=64, max_size=64).filter(
        lambda b: not is_placeholder_body(b) and not is_placeholder_body(b[:48])
    ),
    st.booleans(),
)


@FUZZ
@given(junk)
def test_raw_and_patch_parsers_on_random_bytes(data: bytes) -> None:
    try:
        changes, patch = staged._parse_raw(b":" + data)
        staged._pair(changes, staged._parse_patch(patch))
    except ScanError:
        pass
    staged._parse_patch(data)


@FUZZ
@given(st.lists(st.tuples(oid, oid, st.sampled_from("AMDT"), path), max_size=6))
def test_raw_records_parse_back(records: list[tuple[str, str, str, str]]) -> None:
    raw = b"".join(
        f":100644 100644 {a} {b} {status}\0".encode() + p.encode() + b"\0"
        for a, b, status, p in records
    )
    changes, rest = staged._parse_raw(raw + b"\0diff --git a/x b/x\n")
    assert [(c.old_id, c.new_id, c.status, c.path) for c in changes] == records
    assert rest == b"diff --git a/x b/x\n"


@FUZZ
@given(st.lists(st.tuples(st.integers(1, 10_000), st.integers(0, 50)), max_size=8))
def test_hunk_headers_give_the_added_lines(hunks: list[tuple[int, int]]) -> None:
    body = b"".join(
        b"@@ -1,0 +%d,%d @@\n" % (start, count) + b"+x\n" * count for start, count in hunks
    )
    (section,) = staged._parse_patch(b"diff --git a/f b/f\nindex 1..2 100644\n" + body)
    assert section.lines == {n for s, c in hunks for n in range(s, s + c)}


@FUZZ
@given(junk)
def test_diff_tree_parser_on_random_bytes(data: bytes) -> None:
    # git's own output under fixed options: a malformed one is an error, not a finding.
    with contextlib.suppress(ScanError, ValueError, IndexError, UnicodeDecodeError):
        commits._parse_diff_tree(data)


@FUZZ
@given(junk)
def test_cat_file_stream_on_random_bytes(data: bytes) -> None:
    try:
        for _, _, body in parse_batch(io.BytesIO(data)):
            assert isinstance(body, bytes)
    except ScanError:
        pass


@FUZZ
@given(st.lists(st.tuples(oid, st.sampled_from(["blob", "commit", "tag"]), junk), max_size=6))
def test_cat_file_stream_parses_back(objects: list[tuple[str, str, bytes]]) -> None:
    stream = b"".join(
        f"{o} {kind} {len(data)}\n".encode() + data + b"\n" for o, kind, data in objects
    )
    assert list(parse_batch(io.BytesIO(stream))) == objects
    if objects:  # cut anywhere inside the last object: an error, never a short object
        try:
            list(parse_batch(io.BytesIO(stream[:-1])))
        except ScanError:
            return
        raise AssertionError("a truncated stream was accepted")


@FUZZ
@given(st.lists(st.tuples(oid, st.sampled_from(["blob", "tree", "commit"]), junk), max_size=6))
def test_history_chunk_reader_parses_back(objects: list[tuple[str, str, bytes]]) -> None:
    stream = b"".join(
        f"{o} {kind} {len(data)} some/path name\n".encode() + data + b"\n"
        for o, kind, data in objects
    )
    with tempfile.TemporaryFile() as handle:
        handle.write(stream)
        handle.seek(0)
        reader = _ChunkReader(os.dup(handle.fileno()))
        try:
            for o, kind, data in objects:
                fields = reader.header()
                assert fields == [
                    o.encode(),
                    kind.encode(),
                    str(len(data)).encode(),
                    b"some/path name",
                ]
                if kind == "tree":
                    reader.skip(len(data))
                else:
                    assert reader.data(len(data)) == data
            assert reader.header() is None
        finally:
            os.close(reader.fd)


def _check_positions(data: bytes) -> list[str]:
    found = []
    for f in detect(Content(path="fuzz.txt", data=data)):
        assert f.line >= 1 and f.column >= 1
        if f.encoding is None:
            line = data.split(b"\n")[f.line - 1].decode("utf-8", "replace")
            assert line[f.column - 1 : f.column - 1 + len(f.secret)] == f.secret
            assert f.end_column == f.column + len(f.secret)
        found.append(f.secret)
    return found


@FUZZ
@given(junk)
def test_detectors_on_random_bytes(data: bytes) -> None:
    _check_positions(data)


@FUZZ
@given(junk, junk, key)
def test_detectors_point_at_an_inserted_key(before: bytes, after: bytes, secret: str) -> None:
    data = before + b"\nMOONSHOT_API_KEY=" + secret.encode() + b"\n" + after
    assert secret in _check_positions(data)
