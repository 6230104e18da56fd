"""Hand-built PDFs for the tests, byte by byte: objects numbered from 1, an xref table
giving each one's offset, and the trailer naming object 1 as the catalog."""

from __future__ import annotations

HEADER = b"%PDF-1.4\n"
# The comment of four high bytes writers put after the header (a PDF is binary).
BINARY_HEADER = HEADER + b"%\xe2\xe3\xcf\xd3\n"


def one_page(content: bytes, resources: bytes = b"") -> list[bytes]:
    """Objects 1-5 of a one-page PDF: catalog, pages, the page (`resources` added to its
    resource dictionary after its font), `content` (object 4: its content stream, whole
    with its dictionary) and the font F1 (object 5)."""
    return [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >>" + resources + b" >> >>",
        content,
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]


def assemble(objs: list[bytes], *, header: bytes = HEADER, trailer: bytes = b" ") -> bytes:
    """`objs` as objects 1, 2, … after `header`, then the xref table and the trailer
    `<< /Size N /Root 1 0 R` + `trailer` + `>>`."""
    out = header
    offsets = []
    for number, obj in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R%s>>\n" % (len(objs) + 1, trailer)
    return out + b"startxref\n%d\n%%%%EOF\n" % xref
