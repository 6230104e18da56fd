"""A container inside another has its own bytes scanned too, as an outermost one has
(hostile review h10c, finding 1: a PDF in a zip, a tar.gz or a .pdf.gz was read only
through the PDF reader, so a key on an uncompressed page, in its /Info or in an
uncompressed attachment passed `staged` and `history` with exit 0, while the bare PDF
was found). A key found both in what the nested container holds and in its bytes is
reported once, at the member."""

from __future__ import annotations

import gzip
import io
import json
import struct
import tarfile
import zipfile
import zlib

import pytest

from tests.gitrepo import GitRepo, run_cli
from tests.keygen import kimi_code_key


def _pdf(
    stream: bytes, *, flate: bool = False, stream_dict: bytes = b"", info: bytes = b""
) -> bytes:
    """A one-page PDF whose content stream (object 4) holds `stream`, uncompressed unless
    `flate`; `info` goes into the trailer's /Info dictionary."""
    data = zlib.compress(stream) if flate else stream
    filter_ = b"/Filter /FlateDecode " if flate else b""
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< %s%s/Length %d >>\nstream\n" % (filter_, stream_dict, len(data))
        + data
        + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for number, obj in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R %s>>\n" % (len(objs) + 1, info)
    return out + b"startxref\n%d\n%%%%EOF\n" % xref


def _png_text(text: bytes) -> bytes:
    """A 1x1 PNG with an uncompressed tEXt chunk."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"tEXt", b"Comment\x00" + text)
        + chunk(b"IDAT", zlib.compress(b"\x00\x00"))
        + chunk(b"IEND", b"")
    )


def _zip(name: str, data: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, data)
    return buf.getvalue()


def _tgz(name: str, data: bytes) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as archive:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _cases(key: str) -> dict[str, tuple[str, bytes, str]]:
    """name -> (file, its bytes, the path the key is reported at)."""
    k = key.encode()
    page = _pdf(b"BT /F1 12 Tf 72 700 Td (" + k + b") Tj ET")
    info = _pdf(
        b"BT /F1 12 Tf 72 700 Td (hello) Tj ET",
        flate=True,
        info=b"/Info << /Title (KIMI_API_KEY=" + k + b") >> ",
    )
    attached = _pdf(b"KIMI_API_KEY=" + k + b"\n", stream_dict=b"/Type /EmbeddedFile ")
    png = _png_text(b"KIMI_API_KEY=" + k)
    return {
        "page-in-zip": ("docs.zip", _zip("manual.pdf", page), "docs.zip!manual.pdf"),
        "page-in-tar-gz": ("docs.tar.gz", _tgz("manual.pdf", page), "docs.tar.gz!docs.tar"),
        "page-in-gz": ("manual.pdf.gz", gzip.compress(page), "manual.pdf.gz!manual.pdf"),
        "info-in-zip": ("info.zip", _zip("report.pdf", info), "info.zip!report.pdf"),
        "attachment-in-zip": ("attach.zip", _zip("report.pdf", attached), "attach.zip!report.pdf"),
        "png-text-in-zip": ("shots.zip", _zip("shot.png", png), "shots.zip!shot.png"),
    }


def _findings(out: str) -> list[dict[str, object]]:
    findings: list[dict[str, object]] = json.loads(out)["findings"]
    return findings


@pytest.mark.parametrize(
    "case",
    [
        "page-in-zip",
        "page-in-tar-gz",
        "page-in-gz",
        "info-in-zip",
        "attachment-in-zip",
        "png-text-in-zip",
    ],
)
def test_a_nested_containers_own_bytes_are_scanned(repo: GitRepo, case: str) -> None:
    key = kimi_code_key()
    name, data, where = _cases(key)[case]
    repo.write(name, data)
    repo.add(name)
    staged = run_cli("staged", "--format", "json", cwd=repo.path)
    repo.commit("add " + name)
    history = run_cli("history", "--format", "json", cwd=repo.path)
    for run in (staged, history):
        assert run.code == 1, run.all
        [finding] = _findings(run.out)
        path = str(finding["path"])
        # (tar.gz: the PDF is found in the tar's bytes, which hold it as it is.)
        assert path.startswith(where), path
        assert key not in run.all


def test_a_key_in_a_nested_archive_is_reported_at_its_member_once(repo: GitRepo) -> None:
    # The tar inside the gzip holds the .env as it is: found in the tar's bytes too, and
    # reported at the member only.
    key = kimi_code_key()
    env = f"KIMI_API_KEY={key}\n".encode()
    repo.write("conf.zip", _zip("conf.tar.gz", _tgz("app/.env", env)))
    repo.add("conf.zip")
    staged = run_cli("staged", "--format", "json", cwd=repo.path)
    repo.commit("add conf.zip")
    history = run_cli("history", "--format", "json", cwd=repo.path)
    for run in (staged, history):
        assert run.code == 1, run.all
        paths = [f["path"] for f in _findings(run.out)]
        assert paths == ["conf.zip!conf.tar.gz!conf.tar!app/.env"], paths
