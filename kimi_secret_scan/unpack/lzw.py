"""Unix `compress` (.Z, magic 1f 9d): the LZW stream `uncompress`, `zcat` and `gzip -d`
read. The standard library has no reader for it, and it is small enough to write here.

Read as gzip's unlzw.c reads it, quirks included: codes are packed low bit first in
groups of eight, and when the code width grows or the table is cleared (code 256 in block
mode) the rest of the current group is skipped; after a clear the next code still adds a
table entry. Each table entry is kept as a span of the output already written (an entry
is the previous code's string plus one byte, and those bytes lie side by side in the
output), so no string is ever built twice; the output is held in memory, and its size is
bounded by the unpacking limits as it is read (archives.drain).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import IO

MAGIC = b"\x1f\x9d"
_CHUNK = 1 << 20
# The output is held whole (the table's strings are spans of it), and the input too: both
# are capped so that a .Z costs at most ~100 MiB of memory, like every other reader
# (bench/memory.py's bound is 150 MiB). Past a cap the file is not read further, which
# is said as for any container that could not be read (a gate fails on it).
MAX_INPUT = 32 << 20
MAX_OUTPUT = 64 << 20


def read_input(stream: IO[bytes]) -> bytes:
    """The compressed bytes, refused past MAX_INPUT."""
    data = stream.read(MAX_INPUT + 1)
    if len(data) > MAX_INPUT:
        raise ValueError(f"over {MAX_INPUT >> 20} MiB compressed: read in memory, so not read")
    return data


class LZWReader:
    """A reader (read(size)) over the decompressed bytes of a .Z file held in `data`."""

    def __init__(self, data: bytes) -> None:
        self._pieces = _decompress(data)
        self._buffer = b""
        self._done = False

    def read(self, size: int = -1, /) -> bytes:
        while not self._done and (size < 0 or len(self._buffer) < size):
            piece = next(self._pieces, None)
            if piece is None:
                self._done = True
            else:
                self._buffer += piece
        if size < 0:
            size = len(self._buffer)
        out, self._buffer = self._buffer[:size], self._buffer[size:]
        return out

    def __enter__(self) -> LZWReader:
        return self

    def __exit__(self, *_: object) -> None:
        self._pieces.close()


def _decompress(data: bytes) -> Generator[bytes, None, None]:
    if len(data) < 3 or data[:2] != MAGIC:
        raise ValueError("not compress (.Z) data")
    flags = data[2]
    maxbits = flags & 0x1F
    block_mode = bool(flags & 0x80)
    if maxbits > 16:
        raise ValueError(f"compressed with {maxbits} bits; 16 at most can be read")
    maxmax = 1 << maxbits
    total = (len(data) - 3) * 8  # bits of codes
    src = data[3:] + b"\x00\x00"  # a code is read from three bytes
    n_bits = 9
    mask = (1 << n_bits) - 1
    maxcode = mask
    free = 257 if block_mode else 256
    starts = [0] * 65537
    lengths = [0] * 65537
    out = bytearray()
    emitted = 0
    pos = 0  # bit position of the next code
    group = 0  # where the current group of codes began (after a width change or clear)
    prev_start = prev_len = 0
    first = True
    while True:
        if free > maxcode and n_bits < 16:
            size = n_bits * 8
            pos = group + -(-(pos - group) // size) * size  # the rest of the group
            group = pos
            n_bits += 1
            maxcode = maxmax if n_bits == maxbits else (1 << n_bits) - 1
            mask = (1 << n_bits) - 1
            continue
        if pos + n_bits > total:
            break
        at = pos >> 3
        code = ((src[at] | src[at + 1] << 8 | src[at + 2] << 16) >> (pos & 7)) & mask
        pos += n_bits
        if first:
            if code >= 256:
                raise ValueError("corrupt input (the first code is not a byte)")
            first = False
            out.append(code)
            prev_start, prev_len = 0, 1
            continue
        if code == 256 and block_mode:
            size = n_bits * 8
            pos = group + -(-(pos - group) // size) * size
            group = pos
            free = 256
            n_bits = 9
            mask = maxcode = (1 << n_bits) - 1
            continue
        here = len(out)
        if code < 256:
            out.append(code)
            length = 1
        elif code < free:
            start = starts[code]
            length = lengths[code]
            out += out[start : start + length]
        elif code == free:  # the string being defined: the previous one and its first byte
            out += out[prev_start : prev_start + prev_len]
            out.append(out[prev_start])
            length = prev_len + 1
        else:
            raise ValueError(f"corrupt input (code {code} before it is defined)")
        if free < maxmax:
            # The previous string and this one's first byte: side by side in the output.
            starts[free] = prev_start
            lengths[free] = prev_len + 1
            free += 1
        prev_start, prev_len = here, length
        if len(out) > MAX_OUTPUT:
            held = MAX_OUTPUT >> 20
            raise ValueError(f"over {held} MiB decompressed: read in memory, so not read")
        if len(out) - emitted >= _CHUNK:
            yield bytes(out[emitted:])
            emitted = len(out)
    if len(out) > emitted:
        yield bytes(out[emitted:])
