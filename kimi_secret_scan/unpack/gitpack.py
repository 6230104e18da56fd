"""Git bundles and pack files (review h10c #10: a committed `backup.bundle` gave its key
back to `git clone` and passed unread).

Read here, in Python, from the bytes alone: no git is started, nothing is written, no
repository is made. A bundle is a header (prerequisites, refs, a blank line) and then a
pack; a pack is its header and objects, each a zlib stream behind a type and a size, most
of them deltas against another object (by its offset in the pack, or by its id). Every
object is inflated and its deltas applied as `git index-pack` would, each counted against
the container's budget as it is built, so a delta chain that grows is stopped at the
limit. Each object is a piece (`backup.bundle!(blob 1a2b3c4d5e6f)`), a container among
them opened in turn. A delta whose base is not in the pack (a thin bundle, which needs its
prerequisites) is said, and the bytes it inserts are scanned as they are.
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from collections.abc import Iterator

from kimi_secret_scan.content import Content, Skipped
from kimi_secret_scan.unpack.archives import Budget, Data, member

_TYPES = {1: "commit", 2: "tree", 3: "blob", 4: "tag"}
_OFS_DELTA, _REF_DELTA = 6, 7
_STEP = 1 << 16


def read_pack(
    kind: str, data: Data, path: str, base: Content, budget: Budget, depth: int
) -> Iterator[Content | Skipped]:
    raw = data.raw if data.raw is not None else data.stream().read()
    id_size = 20
    start = 0
    if kind == "git bundle":
        end = raw.find(b"\n\n")
        if end < 0:
            raise ValueError("a bundle header without its end")
        if b"\n@object-format=sha256\n" in raw[: end + 1]:
            id_size = 32
        start = end + 2
    if raw[start : start + 4] != b"PACK" or len(raw) < start + 12:
        raise ValueError("no pack after the header")
    (count,) = struct.unpack_from(">I", raw, start + 8)
    pack = memoryview(raw)[start:]
    objects: dict[int, tuple[int, bytes]] = {}  # offset -> (type, bytes), as resolved
    ids: dict[bytes, int] = {}  # object id -> offset
    # Deltas whose base is not resolved yet (by its offset, or its id: it may come later).
    by_offset: dict[int, list[tuple[int, bytes]]] = {}
    by_id: dict[bytes, list[tuple[int, bytes]]] = {}
    pos = 12
    for _ in range(count):
        at = pos
        byte = pack[pos]
        pos += 1
        kind_no, size, shift = (byte >> 4) & 7, byte & 15, 4
        while byte & 0x80:
            byte = pack[pos]
            pos += 1
            size |= (byte & 0x7F) << shift
            shift += 7
        base_at: int | None = None
        base_id = b""
        if kind_no == _OFS_DELTA:
            byte = pack[pos]
            pos += 1
            back = byte & 0x7F
            while byte & 0x80:
                byte = pack[pos]
                pos += 1
                back = ((back + 1) << 7) | (byte & 0x7F)
            base_at = at - back
        elif kind_no == _REF_DELTA:
            base_id = bytes(pack[pos : pos + id_size])
            pos += id_size
            base_at = ids.get(base_id)
        elif kind_no not in _TYPES:
            raise ValueError(f"an object of unknown type {kind_no} at byte {start + at}")
        where = f"{path}!(object at byte {start + at})"
        body, pos = _inflate(pack, pos, size, budget, where)
        todo: list[tuple[int, bytes, int]] = []
        if kind_no in _TYPES:
            todo.append((kind_no, body, at))
        elif base_at is not None and base_at in objects:
            base_type, base_bytes = objects[base_at]
            todo.append((base_type, _apply(base_bytes, body, budget, where), at))
        elif base_at is not None:
            by_offset.setdefault(base_at, []).append((at, body))
        else:
            by_id.setdefault(base_id, []).append((at, body))
        while todo:
            kind_no, body, at = todo.pop()
            name = _TYPES[kind_no]
            head = b"%s %d\x00" % (name.encode(), len(body))
            oid = hashlib.sha1(head + body, usedforsecurity=False).digest()
            if id_size == 32:
                oid = hashlib.sha256(head + body).digest()
            objects[at] = (kind_no, body)
            ids[oid] = at
            here = f"{path}!({name} {oid.hex()[:12]})"
            budget.member(here)
            yield from member(Data(body, None, len(body)), here, base, budget, depth)
            for delta_at, delta in by_offset.pop(at, []) + by_id.pop(oid, []):
                there = f"{path}!(object at byte {start + delta_at})"
                todo.append((kind_no, _apply(body, delta, budget, there), delta_at))
    for base_is, deltas in [
        *((f"byte {start + k}", v) for k, v in by_offset.items()),
        *((f"object {k.hex()}", v) for k, v in by_id.items()),
    ]:
        for delta_at, delta in deltas:
            where = f"{path}!(object at byte {start + delta_at})"
            yield Skipped(
                where,
                f"a delta whose base ({base_is}) is not in the pack (a thin bundle needs "
                "the repository it was made from): not resolved; the bytes it adds were "
                "scanned as they are",
            )
            # What the delta inserts is there as it is: a key a change added is found.
            yield from member(Data(delta, None, len(delta)), where, base, budget, depth)


def _inflate(
    pack: memoryview, pos: int, size: int, budget: Budget, where: str
) -> tuple[bytes, int]:
    """The zlib stream at `pos`, no larger than the `size` its header gives; and where
    the next object starts."""
    inflater = zlib.decompressobj()
    parts: list[bytes] = []
    got = 0
    fed = pos
    while not inflater.eof:
        if inflater.unconsumed_tail:
            chunk = inflater.unconsumed_tail
        else:
            chunk = bytes(pack[fed : fed + _STEP])
            if not chunk:
                raise ValueError(f"an object's zlib stream is cut short ({where})")
            fed += len(chunk)
        out = inflater.decompress(chunk, _STEP)
        got += len(out)
        if got > size:
            raise ValueError(f"an object larger than its header says ({where})")
        budget.take(len(out), where)
        parts.append(out)
    if got != size:
        raise ValueError(f"an object smaller than its header says ({where})")
    return b"".join(parts), fed - len(inflater.unused_data)


def _varint(delta: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = delta[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos


def _apply(source: bytes, delta: bytes, budget: Budget, where: str) -> bytes:
    """A git delta applied to its base (patch-delta.c), its result counted first."""
    size, pos = _varint(delta, 0)
    if size != len(source):
        raise ValueError(f"a delta for another base ({where})")
    target, pos = _varint(delta, pos)
    budget.take(target, where)
    out = bytearray()
    while pos < len(delta):
        op = delta[pos]
        pos += 1
        if op & 0x80:
            offset = length = 0
            for bit in range(4):
                if op & (1 << bit):
                    offset |= delta[pos] << (8 * bit)
                    pos += 1
            for bit in range(3):
                if op & (0x10 << bit):
                    length |= delta[pos] << (8 * bit)
                    pos += 1
            length = length or 0x10000
            if offset + length > len(source):
                raise ValueError(f"a delta copying past its base ({where})")
            out += source[offset : offset + length]
        elif op:
            out += delta[pos : pos + op]
            pos += op
        else:
            raise ValueError(f"a delta with a reserved instruction ({where})")
        if len(out) > target:
            break
    if len(out) != target:
        raise ValueError(f"a delta whose result is not the size it says ({where})")
    return bytes(out)
