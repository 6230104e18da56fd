"""zlib streams: a PDF's FlateDecode streams, a PNG's compressed text chunks and a bare
zlib file are opened (hostile review 8a, finding 19: a key shown on a PDF page, in a PNG
comment or in `zlib.compress`'s output passed the commit hook with exit 0). What is not
read (an encrypted PDF, a stream in a filter chain, a damaged stream, a bomb) is said, so
gates exit 2. Built at run time, keys from keygen."""

from __future__ import annotations

import base64
import json
import struct
import zlib
from pathlib import Path
from typing import Any

from tests import pdfs
from tests.gitrepo import GitRepo, run_cli
from tests.keygen import body, moonshot_key


def pdf_bytes(streams: list[tuple[bytes, bytes]], trailer_extra: bytes = b"") -> bytes:
    """A PDF with one page per stream; each stream is (its /Filter value, its raw bytes)."""
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>"]
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(len(streams))).encode()
    objs.append(b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % len(streams))
    for i, (filter_, raw) in enumerate(streams):
        content = 4 + 2 * i
        objs.append(b"<< /Type /Page /Parent 2 0 R /Contents %d 0 R >>" % content)
        head = b"<< /Length %d /Filter %s >>\nstream\n" % (len(raw), filter_)
        objs.append(head + raw + b"\nendstream")
    return pdfs.assemble(objs, header=pdfs.BINARY_HEADER, trailer=trailer_extra + b" ")


def page(text: str) -> bytes:
    return b"BT /F1 12 Tf 72 712 Td (" + text.encode() + b") Tj ET"


def png_bytes(chunks: list[tuple[bytes, bytes]]) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    body = b"".join(chunk(kind, data) for kind, data in chunks)
    idat = chunk(b"IDAT", zlib.compress(b"\x00\x00"))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + idat + body + chunk(b"IEND", b"")


def _report(out: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(out)
    return data


def test_pdf_page_and_zlib_file_in_staged_and_history(repo: GitRepo) -> None:
    repo.commit_file("README.md", "demo\n", "start")
    in_pdf, in_zz, in_a85, in_hex = (moonshot_key() for _ in range(4))
    text = page("Spring sale") + b"\n"
    repo.write(
        "doc.pdf",
        pdf_bytes(
            [
                (b"/FlateDecode", zlib.compress(text * 50)),
                (b"/FlateDecode", zlib.compress(page(f"MOONSHOT_API_KEY={in_pdf}"))),
                (
                    b"[/ASCII85Decode /FlateDecode]",
                    base64.a85encode(zlib.compress(page(f"KIMI_API_KEY={in_a85}")), wrapcol=72)
                    + b"~>",
                ),
                (b"/AHx", page(f"KIMI_API_KEY={in_hex}").hex().encode() + b">"),
            ]
        ),
    )
    repo.write("data.zz", zlib.compress(f"MOONSHOT_API_KEY={in_zz}\n".encode()))
    in_z, in_i = moonshot_key().encode(), moonshot_key().encode()
    repo.write(
        "img.png",
        png_bytes(
            [
                (b"zTXt", b"Comment\x00\x00" + zlib.compress(b"MOONSHOT_API_KEY=" + in_z)),
                (b"iTXt", b"Settings\x00\x01\x00en\x00\x00" + zlib.compress(b"KIMI_KEY=" + in_i)),
            ]
        ),
    )
    repo.add()
    expected = {
        ("doc.pdf!(stream 6)", in_pdf),
        ("doc.pdf!(stream 8)", in_a85),
        ("doc.pdf!(stream 10)", in_hex),
        ("data.zz!data", in_zz),
        ("img.png!(zTXt Comment)", in_z.decode()),
        ("img.png!(iTXt Settings)", in_i.decode()),
    }
    for args in (("staged",), ("history",)):
        run = run_cli(*args, "--format", "json", "--show-secrets", cwd=repo.path)
        assert run.code == 1, run.all
        report = _report(run.out)
        assert {(f["path"], f["secret"]) for f in report["findings"]} == expected
        assert report["stats"]["complete"] is True
        if args == ("staged",):
            repo.commit("documents")


def test_what_is_not_read_is_said(repo: GitRepo) -> None:
    repo.commit_file("README.md", "demo\n", "start")
    key = moonshot_key()
    line = f"MOONSHOT_API_KEY={key}".encode()
    # LZW (PDF 1.0's) is not read here: said. ASCII85 before Flate is read (test above).
    repo.write("chain.pdf", pdf_bytes([(b"[/LZWDecode]", b"\x80\x0b\x60\x50\x22\x0c" * 9)]))
    repo.write("locked.pdf", pdf_bytes([(b"/FlateDecode", b"\x8f" * 40)], b" /Encrypt 9 0 R"))
    # A stream cut short: what it inflates to before the cut is scanned, the cut said.
    repo.write("cut.zz", zlib.compress(line + b"\n" + body(4000).encode())[:-200])
    # A bomb: 64 MiB of zeros, about 64 KiB deflated.
    repo.write("bomb.zz", zlib.compress(bytes(64 << 20), 9))
    run = run_cli("files", ".", "--format", "json", "--show-secrets", cwd=repo.path)
    assert run.code == 1, run.all
    report = _report(run.out)
    assert {f["path"] for f in report["findings"]} == {"cut.zz!cut"}
    skipped = {s["path"]: s["reason"] for s in report["stats"]["skipped"]}
    assert "(LZWDecode)" in skipped["chain.pdf"]
    assert "encrypted" in skipped["locked.pdf"]
    assert "cut short" in skipped["cut.zz!cut"]
    assert "compression bomb" in skipped["bomb.zz!bomb"]
    # A gate fails on what it could not read, key or no key.
    repo.add("chain.pdf", "locked.pdf", "bomb.zz")
    gate = run_cli("staged", "--format", "json", cwd=repo.path)
    assert gate.code == 2, gate.all
    report = _report(gate.out)
    assert report["stats"]["complete"] is False
    assert {s["path"] for s in report["stats"]["skipped"]} == {
        "chain.pdf",
        "locked.pdf",
        "bomb.zz!bomb",
    }


def test_text_that_starts_like_zlib_is_text(tmp_path: Path) -> None:
    """`x^2` (a zlib header's two bytes) then text: not opened, nothing said."""
    key = moonshot_key()
    (tmp_path / "notes.txt").write_text(
        "x^2 + y^2 = r^2\n" * 40 + f"MOONSHOT_API_KEY={key}\n", encoding="utf-8"
    )
    run = run_cli("files", "notes.txt", "--format", "json", cwd=tmp_path)
    assert run.code == 1, run.all
    report = _report(run.out)
    assert [f["path"] for f in report["findings"]] == ["notes.txt"]
    assert report["stats"]["skipped"] == []
