"""A container inside another has its own bytes scanned too, as an outermost one has
(hostile review h10c, finding 1: a PDF in a zip, a tar.gz or a .pdf.gz was read only
through the PDF reader, so a key on an uncompressed page, in its /Info or in an
uncompressed attachment passed `staged` and `history` with exit 0, while the bare PDF
was found). A key found both in what the nested container holds and in its bytes is
reported once, at the member."""

from __future__ import annotations

import gzip
import json
import struct
import zlib

import pytest

from tests import pdfs
from tests.archives import tar_gz_bytes, zip_bytes
from tests.gitrepo import GitRepo, run_cli
from tests.keygen import kimi_code_key


def _pdf(
    stream: bytes, *, flate: bool = False, stream_dict: bytes = b"", info: bytes = b""
) -> bytes:
    """A one-page PDF whose content stream (object 4) holds `stream`, uncompressed unless
    `flate`; `info` goes into the trailer's /Info dictionary."""
    data = zlib.compress(stream) if flate else stream
    filter_ = b"/Filter /FlateDecode " if flate else b""
    content = b"<< %s%s/Length %d >>\nstream\n" % (filter_, stream_dict, len(data))
    return pdfs.assemble(pdfs.one_page(content + data + b"\nendstream"), trailer=b" " + info)


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
        "page-in-zip": ("docs.zip", zip_bytes({"manual.pdf": page}), "docs.zip!manual.pdf"),
        "page-in-tar-gz": (
            "docs.tar.gz",
            tar_gz_bytes({"manual.pdf": page}),
            "docs.tar.gz!docs.tar",
        ),
        "page-in-gz": ("manual.pdf.gz", gzip.compress(page), "manual.pdf.gz!manual.pdf"),
        "info-in-zip": ("info.zip", zip_bytes({"report.pdf": info}), "info.zip!report.pdf"),
        "attachment-in-zip": (
            "attach.zip",
            zip_bytes({"report.pdf": attached}),
            "attach.zip!report.pdf",
        ),
        "png-text-in-zip": ("shots.zip", zip_bytes({"shot.png": png}), "shots.zip!shot.png"),
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
    repo.write("conf.zip", zip_bytes({"conf.tar.gz": tar_gz_bytes({"app/.env": env})}))
    repo.add("conf.zip")
    staged = run_cli("staged", "--format", "json", cwd=repo.path)
    repo.commit("add conf.zip")
    history = run_cli("history", "--format", "json", cwd=repo.path)
    for run in (staged, history):
        assert run.code == 1, run.all
        paths = [f["path"] for f in _findings(run.out)]
        assert paths == ["conf.zip!conf.tar.gz!conf.tar!app/.env"], paths
