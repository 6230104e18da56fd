"""Commit and tag text stored in another encoding than UTF-8, as git shows it.

`git -c i18n.commitEncoding=IBM037 commit` stores the message in EBCDIC, with an
`encoding IBM037` header; `git log`, `git show` and the forges re-encode it to UTF-8, so
a key the raw bytes hide is plain to every reader. The scanners read the raw bytes (what
is stored), and, for an object with an `encoding` header, the text decoded from that
encoding as well (what is shown): both, so no finding is lost either way.

Encoding names are git's (iconv's): IBM037, ISO-8859-1, Shift_JIS, UTF-16, CP1252 ... and
are mapped to Python's codecs. A name Python does not know cannot be decoded: the caller
says so (the scan is incomplete), never passes it as clean. Bytes that do not decode in
the named encoding are decoded as replacement characters: git's iconv then fails and
git shows the raw bytes, which the raw scan reads.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable, Iterator

# Codecs whose text is the raw bytes' (UTF-8 and its subset ASCII): the raw scan reads it.
_AS_RAW = frozenset({"utf-8", "utf-8-sig", "ascii"})
# iconv names Python spells otherwise (UCS-2 is UTF-16 without surrogates; Python has none).
_ALIASES = {
    "ucs2": "utf-16",
    "ucs2le": "utf-16-le",
    "ucs2be": "utf-16-be",
    "ucs4": "utf-32",
    "ucs4le": "utf-32-le",
    "ucs4be": "utf-32-be",
    "unicode": "utf-16",
    "unicodelittle": "utf-16-le",
    "unicodebig": "utf-16-be",
    "sjis": "shift_jis",
    "windows31j": "cp932",
    "eucjpms": "euc_jp",
    "cp1047": "cp037",  # not in Python; differs from IBM037 in a few signs, none in a key
    "ibm1047": "cp037",
}
# iconv's suffixes (//TRANSLIT, //IGNORE) and the separators git users write inconsistently
# ("IBM-037", "ISO_8859-1", "Windows-1252").
_SUFFIX = re.compile(r"//.*$")
_SEPARATORS = re.compile(r"[\s_\-.:]+")
# Codecs Python registers that are no character set: they raise on ordinary bytes whatever
# the error handler (undefined, idna), read escapes, or exist on Windows only.
_NOT_CHARSETS = frozenset(
    {"undefined", "idna", "punycode", "unicode-escape", "raw-unicode-escape", "mbcs", "oem"}
)
_LONGEST_NAME = 64
_CHUNK = 1 << 16


def codec_for(name: bytes) -> str | None:
    """Python's codec for the encoding `name` (a header's value), "" when the raw bytes are
    that text already (UTF-8, ASCII, no name), None when Python knows no such encoding."""
    text = name.strip().decode("ascii", "replace")
    if not text:
        return ""
    if len(text) > _LONGEST_NAME:
        return None
    text = _SUFFIX.sub("", text)
    squeezed = _SEPARATORS.sub("", text.lower())
    for candidate in (text, _ALIASES.get(squeezed, ""), squeezed):
        if not candidate:
            continue
        try:
            info = codecs.lookup(candidate)
        except (LookupError, ValueError):
            continue
        # bytes-to-bytes codecs (zlib, base64, rot13...) are no character encoding: a
        # hand-made `encoding zlib` must not make the scanner decompress anything.
        if not getattr(info, "_is_text_encoding", True) or info.name in _NOT_CHARSETS:
            return None
        return "" if info.name in _AS_RAW else info.name
    return None


def encodings_of(head: bytes) -> list[bytes]:
    """Every `encoding` header line's value (git reads one; a hand-made object may hold
    several, and each is tried)."""
    if not head.startswith(b"encoding ") and b"\nencoding " not in head:
        return []
    found: list[bytes] = []
    for line in head.split(b"\n"):
        if line.startswith(b"encoding "):
            value = line[9:].strip()
            if value not in found:
                found.append(value)
    return found


def decoded(data: bytes, codec: str) -> bytes:
    """`data` decoded from `codec`, in UTF-8."""
    return data.decode(codec, "replace").encode("utf-8", "surrogateescape")


def decoded_chunks(
    chunks: Callable[[], Iterator[bytes]], codec: str
) -> Callable[[], Iterator[bytes]]:
    """Chunks of content, decoded from `codec` as they are read (a message larger than a
    window is never held whole)."""

    def read() -> Iterator[bytes]:
        decoder = codecs.getincrementaldecoder(codec)("replace")
        for chunk in chunks():
            for at in range(0, len(chunk), _CHUNK):
                text = decoder.decode(chunk[at : at + _CHUNK])
                if text:
                    yield text.encode("utf-8", "surrogateescape")
        rest = decoder.decode(b"", final=True)
        if rest:
            yield rest.encode("utf-8", "surrogateescape")

    return read


def shown_name(name: bytes) -> str:
    """An encoding's name as the object spells it, short and printable, for a report."""
    text = name.decode("ascii", "replace")[:_LONGEST_NAME]
    return "".join(c if c.isprintable() and c.isascii() else "?" for c in text)


def undecodable(name: bytes) -> str:
    """Why an object stored in the encoding `name` was read only raw (history and gates)."""
    return (
        f"stored in the encoding {shown_name(name)!r}, which the scanner cannot decode: "
        "only its raw bytes were scanned, not the text git shows"
    )
