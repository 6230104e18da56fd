"""A key on a PDF page in spellings a PDF reader takes (hostile review h10c, findings 2-5,
16: each passed `files` and `staged` with exit 0, or took a minute): a /Length running
over the next object, two zlib streams one after the other, a stream dictionary spelt
loosely (white space, `stream ` and its end of line, a /Filter in a string or a nested
dictionary, a name escape, a font's or an image's keys on a content stream), page text
in a stream that is not deflated, a key drawn as two strings, and PNG predictor rows
(fast, and said past their limit). PDFs are hand-built; keys from keygen."""

from __future__ import annotations

import base64
import json
import zlib
from pathlib import Path

from tests import pdfs
from tests.gitrepo import GitRepo, run_cli
from tests.keygen import kimi_code_key


def _pdf(
    content: bytes,
    filter_: str | None = "flate",
    *,
    before: bytes = b"",
    after: bytes = b"",
    gap: bytes = b"\n",
    eol: bytes = b"\n",
    name: bytes | None = None,
) -> bytes:
    """A one-page PDF whose content stream (object 4) is `content` in `filter_`; `before`
    and `after` go into its dictionary around /Filter, `gap` between `>>` and `stream`."""
    if filter_ == "flate":
        data, filt = zlib.compress(content), b"/FlateDecode"
    elif filter_ == "ahx":
        data, filt = content.hex().encode() + b">", b"/ASCIIHexDecode"
    elif filter_ == "a85":
        data, filt = base64.a85encode(content) + b"~>", b"/ASCII85Decode"
    else:
        data, filt = content, b""
    filt = name or filt
    entry = b"/Filter " + filt + b" " if filt else b""
    stream = b"<< %s%s%s/Length %d >>" % (before, entry, after, len(data))
    return pdfs.assemble(pdfs.one_page(stream + gap + b"stream" + eol + data + b"\nendstream"))


def _show(text: bytes) -> bytes:
    return b"BT /F1 12 Tf 72 700 Td " + text + b" ET"


def _literal(key: str) -> bytes:
    return _show(b"(" + key.encode() + b") Tj")


def _hex(key: str) -> bytes:
    return _show(b"<" + key.encode().hex().encode() + b"> Tj")


def _kerned(key: str) -> bytes:
    k = key.encode()
    pieces = b"-20".join(b"(" + k[i : i + 5] + b")" for i in range(0, len(k), 5))
    return _show(b"[" + pieces + b"]TJ")


def _found(tmp_path: Path, files: dict[str, tuple[str, bytes]]) -> None:
    """Each file's key is found, once, by `files` and by the commit hook's gate."""
    for name, (_, data) in files.items():
        (tmp_path / name).write_bytes(data)
    run = run_cli("files", ".", "--format", "json", "--show-secrets", cwd=tmp_path)
    assert run.code == 1, run.all
    report = json.loads(run.out)
    found = sorted((f["path"].split("!")[0], f["secret"]) for f in report["findings"])
    assert found == sorted((name, key) for name, (key, _) in files.items()), found
    assert report["stats"]["complete"] is True, report["stats"]["skipped"]


def _over(first: bytes, between: bytes, second: bytes, end: bytes) -> bytes:
    """Object 4, deflated, whose /Length runs from `first` over `between` to the end of
    `second`; then `end`."""
    head = b"%%PDF-1.4\n4 0 obj\n<< /Filter /FlateDecode /Length %d >>\nstream\n"
    return head % (len(first) + len(between) + len(second)) + first + between + second + end


def test_a_length_over_the_next_object_and_a_second_zlib_stream(
    tmp_path: Path, repo: GitRepo
) -> None:
    first, key = zlib.compress(_show(b"(Page one) Tj")), kimi_code_key()
    second = zlib.compress(_literal(key))
    # Object 4's /Length runs over object 7 to its `endstream` (a reader follows the
    # xref to 7 and shows its page).
    seven = b"\nendstream\nendobj\n7 0 obj\n<< /Filter /FlateDecode /Length %d >>\nstream\n" % (
        len(second)
    )
    long = _over(first, seven, second, b"\nendstream\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n")
    # Object 4's /Length runs to object 7's `endstream`, the only one (7 has no other).
    shared_key = kimi_code_key()
    hidden = zlib.compress(_literal(shared_key))
    inner = b"\n7 0 obj\n<< /Filter /FlateDecode /Length %d >>\nstream\n" % len(hidden)
    shared = _over(first, inner, hidden, b"\nendstream\nendobj\n%%EOF\n")
    again = kimi_code_key()
    files = {
        "long.pdf": (key, long),
        "shared.pdf": (shared_key, shared),
        "two.zz": (again, zlib.compress(b"hello\n" * 50) + zlib.compress(b"k " + again.encode())),
    }
    _found(tmp_path, files)
    repo.commit_file("README.md", "demo\n", "start")
    for name, (_, data) in files.items():
        repo.write(name, data)
    # Bytes after a zlib stream that are not another one: said, the gate fails.
    repo.write("junk.zz", zlib.compress(b"hello\n" * 50) + b"\x01\x02" + zlib.compress(b"more"))
    repo.add()
    gate = run_cli("staged", "--format", "json", "--show-secrets", cwd=repo.path)
    assert gate.code == 1, gate.all
    report = json.loads(gate.out)
    assert {f["secret"] for f in report["findings"]} == {key, shared_key, again}
    skipped = {s["path"]: s["reason"] for s in report["stats"]["skipped"]}
    assert "after the zlib stream's end are not a zlib stream" in skipped["junk.zz!junk"]


def test_stream_dictionaries_spelt_as_readers_take_them(tmp_path: Path) -> None:
    keys = [kimi_code_key() for _ in range(9)]
    binary, accent = b"%\x01\x02\x03 c\n", "% é\n".encode()
    made = [
        ("spaces.pdf", lambda k: _pdf(_literal(k), gap=b" " * 70 + b"\n")),
        ("crlf.pdf", lambda k: _pdf(_literal(k), gap=b"\r\n" * 40)),
        ("stream_space.pdf", lambda k: _pdf(_literal(k), eol=b" \n")),
        ("in_string.pdf", lambda k: _pdf(_literal(k), before=b"/Note (/Filter /DCTDecode) ")),
        ("in_subdict.pdf", lambda k: _pdf(_literal(k), before=b"/M << /Filter /DCTDecode >> ")),
        ("name_escape.pdf", lambda k: _pdf(_literal(k), "ahx", name=b"/#41SCIIHexDecode")),
        ("length1.pdf", lambda k: _pdf(binary + _hex(k), after=b"/Length1 0 ")),
        ("opentype.pdf", lambda k: _pdf(binary + _kerned(k), after=b"/Subtype /OpenType ")),
        ("image.pdf", lambda k: _pdf(accent + _literal(k), after=b"/Subtype /Image /Width 1 ")),
    ]
    _found(tmp_path, {name: (key, make(key)) for (name, make), key in zip(made, keys, strict=True)})


def test_a_dictionary_not_parsed_is_said(repo: GitRepo) -> None:
    """Over 64 KiB of dictionary before the stream: its ASCIIHex digits are said, not
    passed as text; a page it shows is read."""
    key, pad = kimi_code_key(), b"/Pad (" + b"x" * 70_000 + b") "
    repo.commit_file("README.md", "demo\n", "start")
    repo.write("hexed.pdf", _pdf(_literal(kimi_code_key()), "ahx", after=pad))
    repo.write("shown.pdf", _pdf(_hex(key), None, after=pad))
    repo.add()
    gate = run_cli("staged", "--format", "json", "--show-secrets", cwd=repo.path)
    assert gate.code == 1, gate.all
    report = json.loads(gate.out)
    assert {(f["path"].split("!")[0], f["secret"]) for f in report["findings"]} == {
        ("shown.pdf", key)
    }
    skipped = {s["path"]: s["reason"] for s in report["stats"]["skipped"]}
    assert "(a dictionary not read)" in skipped["hexed.pdf"], skipped


def test_page_text_in_a_stream_not_deflated(tmp_path: Path) -> None:
    keys = [kimi_code_key() for _ in range(4)]
    made = [
        ("plain_hex.pdf", _hex, None),
        ("plain_kerned.pdf", _kerned, None),
        ("ahx_kerned.pdf", _kerned, "ahx"),
        ("a85_hex.pdf", _hex, "a85"),
    ]
    _found(
        tmp_path,
        {
            name: (key, _pdf(show(key), filter_))
            for (name, show, filter_), key in zip(made, keys, strict=True)
        },
    )


def test_a_key_drawn_as_two_strings(tmp_path: Path) -> None:
    keys = [kimi_code_key() for _ in range(6)]
    shapes = {
        "td.pdf": b"BT /F1 12 Tf 72 700 Td (%s) Tj 150 0 Td (%s) Tj ET",
        "two_bt.pdf": b"BT /F1 12 Tf 72 700 Td (%s) Tj ET BT /F1 12 Tf 222 700 Td (%s) Tj ET",
        "tm.pdf": b"BT /F1 12 Tf 1 0 0 1 72 700 Tm (%s) Tj 1 0 0 1 222 700 Tm (%s) Tj ET",
        "wrapped.pdf": b"BT /F1 12 Tf 72 700 Td (%s) Tj 0 -14 Td (%s) Tj ET",
        "cut_sk.pdf": b"BT /F1 12 Tf 72 700 Td (token: s) Tj 0 -14 Td (%s) Tj ET",
        "three.pdf": b"BT 72 700 Td (%s) Tj 0 -14 Td (%s) Tj 0 -14 Td (%s) Tj (, next) Tj ET",
    }
    files = {}
    for (name, shape), key in zip(shapes.items(), keys, strict=True):
        k = key.encode()
        pieces = (k[:30], k[30:])
        if name == "cut_sk.pdf":
            pieces = (k[1:],)
        elif name == "three.pdf":
            pieces = (k[:20], k[20:45], k[45:])
        files[name] = (key, _pdf(shape % pieces))
    _found(tmp_path, files)


def _predicted(data: bytes, width: int, bpp: int) -> bytes:
    """PNG predictor rows of every kind in turn (None, Sub, Up, Average, Paeth)."""
    data += b" " * (-len(data) % width)
    out, prior = b"", bytes(width)
    for n in range(0, len(data), width):
        row, kind = data[n : n + width], n // width % 5
        coded = bytearray()
        for i, byte in enumerate(row):
            left = row[i - bpp] if i >= bpp else 0
            up, corner = prior[i], prior[i - bpp] if i >= bpp else 0
            p = left + up - corner
            near = [(abs(p - left), 0, left), (abs(p - up), 1, up), (abs(p - corner), 2, corner)]
            paeth = min(near)
            guess = (0, left, up, (left + up) // 2, paeth[2])[kind]
            coded.append((byte - guess) & 255)
        out += bytes((kind,)) + coded
        prior = row
    return out


def test_png_predictor_rows_undone_and_their_limit_said(tmp_path: Path, repo: GitRepo) -> None:
    key = kimi_code_key()
    parms = b"/DecodeParms << /Predictor 15 /Colors 3 /Columns 8 >> "
    page = _show(b"(" + key.encode() + b") Tj") * 3
    (tmp_path / "rows.pdf").write_bytes(_pdf(_predicted(page, 24, 3), after=parms))
    # The same parameters in an object of their own (`/DecodeParms 6 0 R`).
    other = kimi_code_key()
    rows = _predicted(_show(b"(" + other.encode() + b") Tj") * 3, 24, 3)
    head, _, tail = _pdf(rows, after=b"/DecodeParms 6 0 R ").rpartition(b"xref\n")
    six = b"6 0 obj\n<< /Predictor 15 /Colors 3 /Columns 8 >>\nendobj\n"
    (tmp_path / "indirect.pdf").write_bytes(head + six + b"xref\n" + tail)
    run = run_cli("files", ".", "--format", "json", "--show-secrets", cwd=tmp_path)
    assert run.code == 1, run.all
    found = {(f["path"].split("!")[0], f["secret"]) for f in json.loads(run.out)["findings"]}
    assert found == {("rows.pdf", key), ("indirect.pdf", other)}
    # One-byte Paeth rows past the limit: scanned as inflated, said; the gate fails.
    many = b"\x04A" * 300_000
    repo.commit_file("README.md", "demo\n", "start")
    repo.write("slow.pdf", _pdf(many, after=b"/DecodeParms << /Predictor 14 /Columns 1 >> "))
    repo.add()
    gate = run_cli("staged", "--format", "json", cwd=repo.path)
    assert gate.code == 2, gate.all
    skipped = {s["path"]: s["reason"] for s in json.loads(gate.out)["stats"]["skipped"]}
    assert "PNG predictor rows past the limit" in skipped["slow.pdf!(stream 4)"]
