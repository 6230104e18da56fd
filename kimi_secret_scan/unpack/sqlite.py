"""SQLite databases: every text and blob value of every table, one row at a time.

The database is an attacker's file, so nothing in it is run: it is opened read-only and
immutable (or deserialized into memory from the bytes already read), with
`trusted_schema` off and an authorizer that allows reading base tables and nothing else.
Views are not queried, triggers never fire (nothing is written), virtual tables are not
read (their data lives in shadow tables, which are read), and generated columns that are
computed when read are left out. A progress handler stops a database that takes too long.
The schema's text (sqlite_master) is read as a table is; a value that is itself a
container is opened as an archive's member is, within the same limits.

Each row becomes one piece whose cells are separate lines, so a key stored right before
the next column's text keeps its boundary; a finding is then located in its cell
(`one-api.db!channels[row 12].key`, row = the rowid, or the position in a table WITHOUT
ROWID).
"""

from __future__ import annotations

import dataclasses
import sqlite3
import time
from collections.abc import Iterator
from urllib.parse import quote

from kimi_secret_scan.content import Content, Skipped
from kimi_secret_scan.unpack import find_container
from kimi_secret_scan.unpack.archives import Budget, Data, LimitHit, member, temp_file

_ALLOWED = {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ}
_PRAGMAS = {"table_xinfo"}


def _authorizer(action: int, arg1: str | None, *_: object) -> int:
    if action in _ALLOWED or (action == sqlite3.SQLITE_PRAGMA and arg1 in _PRAGMAS):
        return sqlite3.SQLITE_OK
    return sqlite3.SQLITE_DENY


# Bytes 18 and 19 of the header: 2 when the database is in WAL mode, which an in-memory
# (deserialized) or immutable database cannot open; 1 reads the same pages the legacy way.
_WAL = slice(18, 20)


def _connect(data: Data) -> sqlite3.Connection:
    deserialize = getattr(sqlite3.Connection, "deserialize", None)  # Python 3.11+
    if data.raw is not None and deserialize is not None:
        raw = data.raw
        if raw[_WAL] == b"\x02\x02":
            raw = raw[:18] + b"\x01\x01" + raw[20:]
        conn = sqlite3.connect(":memory:")
        deserialize(conn, raw)
        return conn
    if data.file is None:
        data.file = temp_file()
        data.file.write(data.raw or b"")
    # Always a temporary copy of ours, never the scanned file: it may be changed.
    data.file.seek(18)
    if data.file.read(2) == b"\x02\x02":
        data.file.seek(18)
        data.file.write(b"\x01\x01")
    data.file.flush()
    name = quote(data.file.name)
    return sqlite3.connect(f"file:{name}?mode=ro&immutable=1", uri=True)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def rows(
    data: Data, path: str, base: Content, budget: Budget, depth: int
) -> Iterator[Content | Skipped]:
    conn = _connect(data)
    try:
        conn.text_factory = bytes  # TEXT that is not valid UTF-8 is read, not refused
        conn.execute("PRAGMA trusted_schema=OFF")
        conn.execute("PRAGMA query_only=ON")
        deadline = time.monotonic() + budget.limits.max_seconds
        conn.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)
        conn.set_authorizer(_authorizer)
        tables = conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'table' ORDER BY rowid"
        ).fetchall()
        for raw_name, sql in tables:
            name = raw_name.decode("utf-8", "replace")
            if (sql or b"").lstrip()[:14].upper() == b"CREATE VIRTUAL":
                continue
            yield from _table(conn, name, path, base, budget, depth)
        # The schema's own text: a view's literals, a column's DEFAULT, a CHECK hold
        # values too (`CREATE VIEW v AS SELECT '<key>'`), read nowhere else.
        yield from _table(conn, "sqlite_master", path, base, budget, depth)
    except sqlite3.OperationalError as exc:
        if "interrupted" in str(exc):
            seconds = budget.limits.max_seconds
            reason = f"took longer than {seconds:g} s to read; the rest was not scanned"
            raise LimitHit(path, reason) from None
        raise
    finally:
        conn.close()


def _table(
    conn: sqlite3.Connection, name: str, path: str, base: Content, budget: Budget, depth: int
) -> Iterator[Content | Skipped]:
    where = f"{path}!{name}"
    # A table counts as a member; its rows are bounded by the bytes they hold.
    budget.member(where)
    # hidden: 0 a column, 3 a stored generated column; 2 (computed when read) and 1
    # (a virtual table's hidden column) are left out.
    columns = [
        row[1].decode("utf-8", "replace")
        for row in conn.execute(f"PRAGMA table_xinfo({_quote(name)})")
        if row[6] in (0, 3)
    ]
    if not columns:
        return
    listed = ", ".join(_quote(c) for c in columns)
    try:
        cursor = conn.execute(f"SELECT rowid, {listed} FROM {_quote(name)}")
        with_rowid = True
    except sqlite3.OperationalError:  # WITHOUT ROWID
        cursor = conn.execute(f"SELECT {listed} FROM {_quote(name)}")
        with_rowid = False
    outer = base.container or base.path
    for position, record in enumerate(cursor, 1):
        row = record[0] if with_rowid else position
        values = record[1:] if with_rowid else record
        parts: list[bytes] = []
        cells: list[tuple[int, str]] = []
        nested: list[tuple[str, bytes]] = []
        line = 1
        for column, value in zip(columns, values, strict=False):
            if not isinstance(value, bytes) or not value:
                continue
            if find_container(value) is not None:
                # A zip, a gzip… stored as a value: opened as any member is (below),
                # within the same limits, instead of scanned as its compressed bytes.
                nested.append((f"{where}[row {row}].{column}", value))
                continue
            cells.append((line, f"[row {row}].{column}"))
            parts.append(value)
            line += value.count(b"\n") + 1
        for cell, value in nested:
            yield from member(Data(value, None, len(value)), cell, base, budget, depth)
        if not parts:
            continue
        text = b"\n".join(parts) + b"\n"
        budget.take(len(text), f"{where}[row {row}]")
        yield dataclasses.replace(
            base,
            path=where,
            data=text,
            lines=None,
            chunks=None,
            size=0,
            container=outer,
            cells=tuple(cells),
        )
