"""Labelled cases inside containers (zip family, tar, gzip, bzip2, xz, SQLite), built at
run time; a finding's line is counted inside the member (or the database cell) that holds
it. Scanned with windows.detect_all, which is detect() for anything that is not one."""

from __future__ import annotations

import bz2
import gzip
import lzma
import random
import sqlite3
import tempfile
from pathlib import Path

from tests import keygen
from tests.archives import tar_gz_bytes, zip_bytes
from tests.corpus import KIMI_CODE, MOONSHOT, Case, Expect


def _zip(members: dict[str, str]) -> bytes:
    return zip_bytes({name: text.encode() for name, text in members.items()})


def _tar_gz(members: dict[str, str]) -> bytes:
    return tar_gz_bytes({name: text.encode() for name, text in members.items()})


def _sqlite(rows: list[tuple[int, str, str, str]]) -> bytes:
    """one-api's channels table; in the stored record the key runs into the name."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "one-api.db"
        conn = sqlite3.connect(path)
        conn.execute(
            "CREATE TABLE channels (id INTEGER PRIMARY KEY, type INTEGER, key TEXT, "
            "name TEXT, base_url TEXT)"
        )
        conn.executemany(
            "INSERT INTO channels (id, type, key, name, base_url) VALUES (?, 25, ?, ?, ?)", rows
        )
        conn.commit()
        conn.close()
        return path.read_bytes()


def _line(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


def container_positives(seed: int = 6) -> list[Case]:
    rng = random.Random(seed)
    cases: list[Case] = []

    m = keygen.moonshot_key(rng)
    env = f"APP=demo\nDEBUG=0\nMOONSHOT_API_KEY={m}\n"
    cases.append(
        Case(
            "zip-env",
            "backup.zip",
            _zip({"config/.env": env, "README.md": "backup\n"}),
            (Expect(MOONSHOT, m, 3, 18),),
            ".env inside a committed backup.zip",
        )
    )
    c = keygen.kimi_code_key(rng)
    log = "".join(f"12:00:{n:02d} GET /v1/models 200\n" for n in range(30))
    log += f"12:01:00 kimi retry with Authorization: Bearer {c}\n"
    cases.append(
        Case(
            "gzip-log",
            "logs/app.log.gz",
            gzip.compress(log.encode()),
            (Expect(KIMI_CODE, c, 31),),
            "key in a gzip'd log",
        )
    )
    m = keygen.moonshot_key(rng)
    rows = [(n, f"placeholder-{n}", "Kimi", "https://api.moonshot.cn") for n in range(1, 12)]
    rows.append((12, m, "Kimi channel", "https://api.moonshot.cn"))
    cases.append(
        Case(
            "sqlite-one-api",
            "one-api.db",
            _sqlite(rows),
            (Expect(MOONSHOT, m, 1, 1),),
            "one-api.db channels.key, the key runs into the next column",
        )
    )
    m = keygen.moonshot_key(rng)
    settings = f"# deploy\nKIMI_API_KEY={m}\n"
    cases.append(
        Case(
            "tar-gz-env",
            "release.tar.gz",
            _tar_gz({"proj/README": "hi\n", "proj/deploy.env": settings}),
            (Expect(MOONSHOT, m, 2, 14),),
            ".env in a tar.gz",
        )
    )
    m = keygen.moonshot_key(rng)
    document = (
        '<?xml version="1.0"?>\n<w:document><w:body>\n'
        "<w:p><w:t>Moonshot API key for the workshop:</w:t></w:p>\n"
        f"<w:p><w:t>{m}</w:t></w:p>\n</w:body></w:document>\n"
    )
    cases.append(
        Case(
            "docx",
            "workshop.docx",
            _zip({"[Content_Types].xml": "<Types/>", "word/document.xml": document}),
            (Expect(MOONSHOT, m, _line(document, m)),),
            "key in a Word document",
        )
    )
    m = keygen.moonshot_key(rng)
    props = f"llm.provider=moonshot\nllm.api-key={m}\n"
    cases.append(
        Case(
            "jar-properties",
            "lib/app.jar",
            _zip({"META-INF/MANIFEST.MF": "Manifest-Version: 1.0\n", "app.properties": props}),
            (Expect(MOONSHOT, m, 2),),
            "application.properties in a jar",
        )
    )
    for name, compress in (("bz2", bz2.compress), ("xz", lzma.compress)):
        c = keygen.kimi_code_key(rng)
        text = f"export KIMI_API_KEY={c}\n"
        cases.append(
            Case(
                f"{name}-shell",
                f"dotfiles/.bashrc.{name}",
                compress(text.encode()),
                (Expect(KIMI_CODE, c, 1, 21),),
                f"shell profile compressed with {name}",
            )
        )
    return cases


def container_negatives(seed: int = 60) -> list[Case]:
    rng = random.Random(seed)
    placeholder = "sk-" + "x" * 48
    example = (
        "# https://api.moonshot.cn/v1 (kimi)\n"
        f"MOONSHOT_API_KEY={placeholder}\nKIMI_API_KEY=sk-your-kimi-api-key\n"
    )
    rows = [(n, "sk-" + "x" * 48, "Kimi", "https://api.moonshot.cn") for n in range(1, 4)]
    noise = rng.randbytes(20_000)
    return [
        Case("zip-example", "template.zip", _zip({".env.example": example}), (), "zipped template"),
        Case("gzip-docs", "docs.md.gz", gzip.compress(example.encode()), (), "gzip'd docs"),
        Case("sqlite-placeholders", "seed.db", _sqlite(rows), (), "placeholder channel keys"),
        Case(
            "zip-binary",
            "assets.zip",
            _zip({"img.bin": noise.decode("latin-1")}),
            (),
            "random bytes in a zip",
        ),
        Case("gzip-random", "blob.gz", gzip.compress(noise), (), "random bytes, gzip'd"),
    ]
