"""Keys in compiled code and serialised data, where the string's length is written right
before it: a Java class's constant pool (u2 big-endian length: `\\x00` `3` for `sk-` + 48),
a jar holding that class, a Python .pyc (marshal: a type byte, then one length byte, `z3sk-…`),
a protobuf message (tag, length, bytes; the next field's tag may be a digit glued to the key).

The length byte of an Open Platform key is `3`, a digit, so the left boundary that keeps
`task-…` slugs out dropped the key: `staged` and `history` exited 0 on a committed .pyc or
.class (hostile review 8a, finding 1). Every file is built at run time, keys from keygen.
"""

from __future__ import annotations

import hashlib
import io
import json
import py_compile
import struct
import zipfile
from pathlib import Path

from kimi_secret_scan.content import Content
from kimi_secret_scan.windows import detect_all
from tests.gitrepo import GitRepo, run_cli
from tests.keygen import body, kimi_code_key, moonshot_key


def _utf8(text: str) -> bytes:
    raw = text.encode()
    return b"\x01" + struct.pack(">H", len(raw)) + raw


def class_file(name: str, strings: list[str]) -> bytes:
    """A minimal valid class file (javac's layout) whose constant pool holds `strings`."""
    pool = [_utf8(name), b"\x07\x00\x01", _utf8("java/lang/Object"), b"\x07\x00\x03"]
    for text in strings:
        index = len(pool) + 1
        pool += [_utf8(text), b"\x08" + struct.pack(">H", index)]  # Utf8, then its String
    head = b"\xca\xfe\xba\xbe" + struct.pack(">HHH", 0, 52, len(pool) + 1)
    # public super class, this = #2, super = #4, no interfaces, fields, methods, attributes
    tail = struct.pack(">HHHHHHH", 0x21, 2, 4, 0, 0, 0, 0)
    return head + b"".join(pool) + tail


def jar_of(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\r\n\r\n")
        for name, data in members.items():
            archive.writestr(name, data)
    return buf.getvalue()


def pyc_of(tmp: Path, source: str) -> bytes:
    """The bytes py_compile writes for a module holding `source` (its own source deleted)."""
    module = tmp / "module_src.py"
    module.write_text(source, encoding="utf-8")
    target = tmp / "module_src.pyc"
    py_compile.compile(str(module), cfile=str(target), doraise=True)
    module.unlink()
    data = target.read_bytes()
    target.unlink()
    return data


def _sha(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _found(run_out: str) -> dict[str, str]:
    """secret_sha256 -> path of every finding of a JSON report."""
    return {f["secret_sha256"]: f["path"] for f in json.loads(run_out)["findings"]}


def test_class_jar_and_pyc_in_staged_and_history(repo: GitRepo, tmp_path: Path) -> None:
    repo.commit_file("README.md", "demo\n", "start")
    platform, code, bare = moonshot_key(), kimi_code_key(), moonshot_key()
    klass = class_file("Client", ["https://api.moonshot.cn/v1", platform, code])
    assert b"\x00\x33" + platform.encode() in klass  # the u2 length: `3` glued to the key
    repo.write("classes/Client.class", klass)
    repo.write("lib/client.jar", jar_of({"Client.class": klass}))
    pyc = pyc_of(
        tmp_path,
        f'import openai\nclient = openai.OpenAI(api_key="{platform}", '
        f'base_url="https://api.moonshot.cn/v1")\nKIMI_API_KEY = "{code}"\n',
    )
    assert b"3" + platform.encode() in pyc  # marshal's one length byte
    repo.write("app/__pycache__/settings.cpython-311.pyc", pyc)
    # A key alone in a .pyc, no Kimi / Moonshot context: still a key (medium confidence).
    repo.write("b/__pycache__/c.cpython-311.pyc", pyc_of(tmp_path, f'TOKEN = "{bare}"\n'))
    repo.add()
    expected = {
        ("classes/Client.class", _sha(platform)),
        ("classes/Client.class", _sha(code)),
        ("lib/client.jar!Client.class", _sha(platform)),
        ("lib/client.jar!Client.class", _sha(code)),
        ("app/__pycache__/settings.cpython-311.pyc", _sha(platform)),
        ("app/__pycache__/settings.cpython-311.pyc", _sha(code)),
        ("b/__pycache__/c.cpython-311.pyc", _sha(bare)),
    }
    staged = run_cli("staged", "--format", "json", cwd=repo.path)
    assert staged.code == 1, staged.all
    got = {(f["path"], f["secret_sha256"]) for f in json.loads(staged.out)["findings"]}
    assert got == expected
    for key in (platform, code, bare):
        assert key not in staged.all
    repo.commit("compiled")
    history = run_cli("history", "--format", "json", cwd=repo.path)
    assert history.code == 1, history.all
    got = {(f["path"], f["secret_sha256"]) for f in json.loads(history.out)["findings"]}
    assert got == expected


def _detect(data: bytes, path: str = "blob.bin") -> list[str]:
    return [f.secret for f in detect_all(Content(path=path, data=data))]


def test_a_length_prefixed_string_ends_where_its_length_says() -> None:
    """protobuf: tag, length, bytes, and the next field's tag glued to the key's right end
    (field 6, length-delimited: `2`); each key kind, and other lengths of `sk-ki…` tokens."""
    platform, code = moonshot_key(), kimi_code_key()
    unusual = "sk-ki" + body(60)  # 65 bytes: its length byte is `A`
    message = b"\x08\x96\x01"
    for key in (platform, code, unusual):
        message += b"\x0a" + bytes([len(key)]) + key.encode() + b"2\x05hello"
    assert _detect(message) == [platform, code, unusual]


def test_length_bytes_that_are_not_the_length_still_guard_the_left() -> None:
    """A slug in binary data (`task-` + 48 letters and digits: the byte before `sk-` is `a`,
    not 51) and `3sk-…` in text (no NUL byte) stay unreported, as before."""
    slug = "task-" + body(48)
    assert _detect(b"\x00\x00" + bytes([len(slug)]) + slug.encode() + b"\x00") == []
    key = moonshot_key()
    assert _detect(f"version 3{key} build\n".encode(), "notes.txt") == []
    # A longer string with its own length before it is not cut to a key's length.
    longer = key + body(4)
    assert _detect(b"\x00\x01\x00" + bytes([len(longer)]) + longer.encode() + b"\x01") == []


def test_a_key_after_its_length_in_serialised_data_without_control_bytes() -> None:
    """msgpack, CBOR, a one-field protobuf and Avro write no control byte around a string:
    a key after its length byte (`3` for `sk-` + 48, `H` for a Kimi Code key, Avro's
    zigzag `f`) passed every command (review h9b finding 3). Bytes written by hand."""
    platform, code = moonshot_key(), kimi_code_key()
    k, kc = platform.encode(), code.encode()
    cases = {
        # msgpack {"name": "prod", "key": K}: fixmap, fixstr headers, str8 (0xd9) + length.
        "msgpack": b"\x82\xa4name\xa4prod\xa3key\xd9\x33" + k,
        "msgpack-code": b"\x81\xa3key\xd9\x48" + kc,
        # msgpack ["…", K, "…"]: fixarray, then each fixstr/str8.
        "msgpack-array": b"\x93\xa2ab\xd9\x33" + k + b"\xa4next",
        # CBOR {"key": K, "name": "prod"}: a text string with a one-byte length (0x78).
        "cbor": b"\xa2\x63key\x78\x33" + k + b"\x64name\x64prod",
        # protobuf: field 1 (tag 0x0a), length, bytes, and nothing else.
        "protobuf": b"\x0a\x33" + k,
        # Avro datum of two strings: zigzag lengths (4 -> 0x08, 51 -> 0x66 `f`).
        "avro": b"\x08prod\x66" + k,
    }
    for name, data in cases.items():
        expected = [code] if name == "msgpack-code" else [platform]
        assert _detect(data, f"{name}.bin") == expected, name
    # Text keeps its left boundary: a key glued to a word, a number or a letter.
    for text in (f"version 3{platform} build\n", f"v f{platform} x\n", f"_3{platform}\n"):
        assert _detect(text.encode(), "notes.txt") == [], text
