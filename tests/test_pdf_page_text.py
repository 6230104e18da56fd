"""A key on a PDF page, in the shapes PDF writers give it, and a PNG with a zip appended
(hostile review h9b, findings 1 and 6: each passed `files`, `staged`, `range` and
`history` with exit 0). PDFs are hand-built here, byte by byte; keys from keygen.

The dictionary of a content stream may say anything (a string holding `obj`, an
indirect /Filter, `/Length1`, `/Image` in a ProcSet, a dictionary over 4 KiB): its
deflated bytes are read. Its text is given as a reader shows it: hex strings decoded, a
TJ array's kerned pieces joined, PNG predictor rows undone. A `%PDF-` after junk or a
byte-order mark is a PDF, as readers take it."""

from __future__ import annotations

import io
import json
import struct
import zipfile
import zlib
from pathlib import Path

from tests import pdfs
from tests.gitrepo import GitRepo, run_cli
from tests.keygen import kimi_code_key


def _pdf(
    content: bytes,
    *,
    extra: bytes = b"",
    filter_: bytes = b"/FlateDecode",
    rows: int | None = None,
    more: list[bytes] | None = None,
    prefix: bytes = b"",
) -> bytes:
    """A one-page PDF whose content stream (object 4) shows `content`; `extra` goes into
    the stream's dictionary, `more` are objects 6, 7… (5 is the font)."""
    data = content if rows is None else _predicted(content, 20, rows)
    raw = zlib.compress(data)
    stream = b"<< /Length %d /Filter %s %s>>\nstream\n" % (len(raw), filter_, extra)
    objs = pdfs.one_page(stream + raw + b"\nendstream", b" /ProcSet [/PDF /Text /ImageB]")
    return pdfs.assemble([*objs, *(more or [])], header=prefix + pdfs.BINARY_HEADER)


def _predicted(data: bytes, columns: int, kind: int) -> bytes:
    """PNG predictor rows: None (0) or Sub (1)."""
    data += b" " * (-len(data) % columns)
    out = b""
    for i in range(0, len(data), columns):
        row = data[i : i + columns]
        if kind:
            row = bytes((row[j] - (row[j - 1] if j else 0)) & 255 for j in range(columns))
        out += bytes((kind,)) + row
    return out


def _show(text: bytes) -> bytes:
    return b"BT /F1 12 Tf 72 712 Td " + text + b" ET"


def _variants(key: str) -> dict[str, bytes]:
    k = key.encode()
    plain = _show(b"(" + k + b") Tj")
    pieces = b"[(" + k[:5] + b")-27(" + k[5:20] + b")18(" + k[20:] + b")]TJ"
    return {
        "obj_in_string.pdf": _pdf(plain, extra=b"/Note (obj) "),
        "indirect_filter.pdf": _pdf(plain, filter_=b"6 0 R", more=[b"/FlateDecode"]),
        "length1.pdf": _pdf(plain, extra=b"/Length1 0 "),
        "image_name.pdf": _pdf(plain, extra=b"/Note /Image "),
        "subtype_image.pdf": _pdf(plain, extra=b"/Subtype /Image /Width 1 /Height 1 "),
        "long_dict.pdf": _pdf(plain, extra=b"/Pad (" + b"x" * 5000 + b") "),
        "predictor_none.pdf": _pdf(
            plain, rows=0, extra=b"/DecodeParms << /Predictor 10 /Columns 20 >> "
        ),
        "predictor_sub.pdf": _pdf(
            plain, rows=1, extra=b"/DecodeParms << /Predictor 11 /Columns 20 >> "
        ),
        "tj_pieces.pdf": _pdf(_show(pieces)),
        "hex_string.pdf": _pdf(_show(b"<" + k.hex().encode() + b"> Tj")),
        "escaped.pdf": _pdf(_show(b"(" + k[:9] + b"\\" + b"%03o" % k[9] + k[10:] + b") Tj")),
        "junk_header.pdf": _pdf(plain, prefix=b"junk1234"),
        "bom_header.pdf": _pdf(plain, prefix=b"\xef\xbb\xbf"),
    }


def test_a_key_on_a_pdf_page_is_found_whatever_the_dictionary_says(
    tmp_path: Path, repo: GitRepo
) -> None:
    keys = {name: kimi_code_key() for name in _variants(kimi_code_key())}
    for name, key in keys.items():
        (tmp_path / name).write_bytes(_variants(key)[name])
    run = run_cli("files", ".", "--format", "json", "--show-secrets", cwd=tmp_path)
    assert run.code == 1, run.all
    report = json.loads(run.out)
    found = {f["path"].split("!")[0]: f["secret"] for f in report["findings"]}
    assert found == keys
    assert report["stats"]["complete"] is True, report["stats"]["skipped"]
    # The commit hook's gate, on a commit of the same files.
    repo.commit_file("README.md", "demo\n", "start")
    for name in keys:
        repo.write(name, (tmp_path / name).read_bytes())
    repo.add()
    gate = run_cli("staged", "--format", "json", "--show-secrets", cwd=repo.path)
    assert gate.code == 1, gate.all
    staged = json.loads(gate.out)
    assert {f["path"].split("!")[0]: f["secret"] for f in staged["findings"]} == keys


def test_pdf_text_shapes_are_read_as_shown(tmp_path: Path) -> None:
    """What a stream shows, as the page's text: the piece `!(stream 4 text)`; a plain
    `(…) Tj` is found in the stream itself, once."""
    key, other = kimi_code_key(), kimi_code_key()
    half = len(other) // 2
    pieces = b"[(" + other[:half].encode() + b")-30(" + other[half:].encode() + b")]TJ"
    (tmp_path / "two.pdf").write_bytes(
        _pdf(_show(b"(" + key.encode() + b") Tj 0 -14 Td " + pieces))
    )
    run = run_cli("files", "two.pdf", "--format", "json", "--show-secrets", cwd=tmp_path)
    assert run.code == 1, run.all
    found = sorted((f["path"], f["secret"]) for f in json.loads(run.out)["findings"])
    assert found == sorted([("two.pdf!(stream 4)", key), ("two.pdf!(stream 4 text)", other)])


def test_a_predictor_or_filter_not_read_is_said(repo: GitRepo) -> None:
    content = _show(b"(" + kimi_code_key().encode() + b") Tj")
    repo.commit_file("README.md", "demo\n", "start")
    repo.write(
        "tiff.pdf", _pdf(content, rows=0, extra=b"/DecodeParms << /Predictor 2 /Columns 20 >> ")
    )
    # An indirect /Filter over bytes that are not deflated (here, ASCIIHex): said too.
    hexed = _pdf(content, filter_=b"6 0 R", more=[b"/ASCIIHexDecode"])
    head, _, rest = hexed.partition(b"stream\n")
    raw, _, tail = rest.partition(b"\nendstream")
    plain = zlib.decompress(raw).hex().encode() + b">"
    repo.write("indirect.pdf", head + b"stream\n" + plain + b"\nendstream" + tail)
    repo.add()
    gate = run_cli("staged", "--format", "json", cwd=repo.path)
    assert gate.code == 2, gate.all
    skipped = {s["path"]: s["reason"] for s in json.loads(gate.out)["stats"]["skipped"]}
    assert "(FlateDecode /Predictor 2)" in skipped["tiff.pdf"]
    assert "(an indirect /Filter)" in skipped["indirect.pdf"]


def _png(key: bytes) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    text = chunk(b"zTXt", b"Comment\x00\x00" + zlib.compress(b"api key " + key))
    idat = chunk(b"IDAT", zlib.compress(b"\x00\x00"))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + text + idat + chunk(b"IEND", b"")


def test_png_with_a_zip_appended_is_read_as_both(repo: GitRepo) -> None:
    in_png, in_zip = kimi_code_key(), kimi_code_key()
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("readme.txt", "hello\n")
        zf.writestr("notes.txt", f"key {in_zip}\n")
    repo.commit_file("README.md", "demo\n", "start")
    repo.write("logo.png", _png(in_png.encode()) + archive.getvalue())
    repo.add()
    expected = {("logo.png!(zTXt Comment)", in_png), ("logo.png!notes.txt", in_zip)}
    for args in (("files", "logo.png"), ("staged",), ("history",)):
        run = run_cli(*args, "--format", "json", "--show-secrets", cwd=repo.path)
        assert run.code == 1, (args, run.all)
        report = json.loads(run.out)
        assert {(f["path"], f["secret"]) for f in report["findings"]} == expected, args
        if args == ("staged",):
            repo.commit("logo")


def test_pdf_with_a_zip_appended_is_read_as_both(tmp_path: Path) -> None:
    expected = set()
    for name, prefix in (("plain.pdf", b""), ("junk.pdf", b"junk1234")):
        on_page, in_zip = kimi_code_key(), kimi_code_key()
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("notes.txt", f"key {in_zip}\n")
        page = _show(b"<" + on_page.encode().hex().encode() + b"> Tj")
        (tmp_path / name).write_bytes(_pdf(page, prefix=prefix) + archive.getvalue())
        expected |= {(f"{name}!(stream 4 text)", on_page), (f"{name}!notes.txt", in_zip)}
    run = run_cli("files", ".", "--format", "json", "--show-secrets", cwd=tmp_path)
    assert run.code == 1, run.all
    report = json.loads(run.out)
    assert {(f["path"], f["secret"]) for f in report["findings"]} == expected


def test_text_after_an_inline_image_at_a_streams_start_is_read(repo: GitRepo) -> None:
    # A stream binary from its start has only its text blocks read (speed: fonts and an
    # application's private data are not parsed as page text); a page that starts with an
    # inline image still shows its text, so its text blocks are read.
    k = kimi_code_key().encode()
    image = b"q 1 0 0 1 0 0 cm BI /W 4 /H 4 /BPC 8 /CS /G ID " + bytes(range(16)) + b" EI Q "
    # (The letters `ET` in a string end no text block: a key may hold them, or a string
    # written before it.)
    shown = b"BT /F1 12 Tf 72 712 Td (a note ET here) Tj [(" + k[:20]
    shown += b")-30(" + k[20:] + b")]TJ ET"
    repo.write("inline.pdf", _pdf(image + shown))
    run = run_cli("files", "inline.pdf", "--format", "json", cwd=repo.path)
    assert run.code == 1, run.all
    assert any(f["path"].startswith("inline.pdf") for f in json.loads(run.out)["findings"])
