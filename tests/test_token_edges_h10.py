"""Token edges that passed every command (hostile review 10c): a key glued after `-` in a
file holding any control byte (a `-` read as a length byte cut the key short), a key printed
in colour (the SGR's `m` glued before `sk-`, raw or escaped), a key compiled into a binary
(string literals packed together: `Bearer<key>Authorization`), and a whole key followed by
one character and then `<`, `{`, `*`, `...` (dropped as "masked").

Keys are built at run time (tests/keygen.py).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from kimi_secret_scan.content import Content
from kimi_secret_scan.windows import detect_all
from tests.gitrepo import GitRepo, run_cli
from tests.keygen import body, kimi_code_key, moonshot_key

ESC = "\x1b"


def _secrets(data: bytes, path: str = "a.bin") -> list[str]:
    return [f.secret for f in detect_all(Content(path=path, data=data))]


def _staged(repo: GitRepo, files: dict[str, str | bytes]) -> dict[str, list[str]]:
    for name, content in files.items():
        repo.write(name, content)
    repo.add()
    run = run_cli("staged", "--format", "json", cwd=repo.path)
    assert run.code == 1, run.all
    found: dict[str, list[str]] = {name: [] for name in files}
    for finding in json.loads(run.out)["findings"]:
        found[finding["path"]].append(finding["confidence"])
    return found


def test_a_key_glued_after_a_dash_in_data_with_control_bytes(repo: GitRepo) -> None:
    k, m = kimi_code_key(), moonshot_key()
    log = f"deploy token=prod-{k}\nMOONSHOT_API_KEY=--{m}\n"
    found = _staged(
        repo,
        {
            "text.log": log,
            "bel.log": "build done \x07\n" + log,
            "nul.log": "build done \x00\n" + log,
            "keys.bin": b"\x00\x01\x02name=prod-" + k.encode() + b"\x00",
        },
    )
    assert found == {
        "text.log": ["high", "high"],
        "bel.log": ["high", "high"],
        "nul.log": ["high", "high"],
        "keys.bin": ["high"],
    }
    # Whole keys, not the length-cut readings (`sk-kimi-` + 37, `sk-` + 42).
    assert _secrets(("\x07\n" + log).encode()) == [k, m]


def test_a_key_printed_in_colour(repo: GitRepo) -> None:
    m = moonshot_key()
    cast = json.dumps([0.5, "o", f"$ echo $MOONSHOT_API_KEY\r\n{ESC}[1m{m}{ESC}[0m\r\n"])
    found = _staged(
        repo,
        {
            "ci.log": f"Using https://api.moonshot.cn/v1\nMOONSHOT_API_KEY={ESC}[32m{m}{ESC}[0m\n",
            "demo.cast": cast + "\n",
        },
    )
    assert found == {"ci.log": ["high"], "demo.cast": ["high"]}
    prefixes = [
        "\\e[1m",
        "\\033[1m",
        "\\x1b[1m",
        "\\u001b[1m",
        "\\u001B[1;32m",
        "%1B%5B1m",
        "&#27;[1m",
        "\\b",
        "\\f",
        "\\v",
        "\\0",
    ]
    for prefix in prefixes:
        text = '{"log": "MOONSHOT_API_KEY=' + prefix + m + '"}\n'
        assert _secrets(text.encode(), "log.json") == [m], prefix


def test_a_key_compiled_into_a_binary() -> None:
    k, m = kimi_code_key(), moonshot_key()
    elf = b"\x7fELF\x02\x01\x01\x00" + bytes(56)
    # rustc -O packs `let scheme = "Bearer"; let key = "…"; let who = "Authorization";`.
    assert _secrets(elf + b"Bearer" + k.encode() + b"Authorization/rustc/" + bytes(8)) == [k]
    assert _secrets(elf + b"error" + k.encode() + b"unexpected EOF" + bytes(16)) == [k]
    assert _secrets(elf + b"y" + k.encode() + b"z\x00") == [k]
    # `sk-` + 48 packed between letters: a key with Moonshot context, else no finding (an
    # identifier of 48 letters and digits after `task-` is no key).
    host = b"https://api.moonshot.cn/v1\x00"
    assert _secrets(elf + host + b"Bearer" + m.encode() + b"Authorization\x00") == [m]
    assert _secrets(elf + host + b"error" + m.encode() + b"\x00") == [m]
    assert _secrets(elf + b"Bearer" + m.encode() + b"Authorization\x00") == []
    assert _secrets(elf + b"task" + ("sk-" + body(48)).encode() + b"\x00") == []


def test_a_whole_key_then_a_character_is_not_masked() -> None:
    k, m = kimi_code_key(), moonshot_key()
    for tail in ("A<", "7{", "x[0]", "Q$", "z*", "B...", "B\u2026"):
        found = detect_all(Content(path="a.txt", data=f"token: {k}{tail}\n".encode()))
        assert len(found) == 1, tail
        assert found[0].secret.startswith(k), tail
    found = detect_all(Content(path="a.txt", data=f"MOONSHOT_API_KEY={m}A<\n".encode()))
    assert len(found) == 1 and found[0].secret.startswith(m)
    # Masked keys stay masked.
    for masked in ("sk-kimi-abcd...", "sk-kimi-" + body(20) + "***", "sk-" + body(10) + "<"):
        assert detect_all(Content(path="a.txt", data=f"token: {masked}\n".encode())) == []


def test_the_rust_binary_through_history(repo: GitRepo, tmp_path: Path) -> None:
    k = kimi_code_key()
    repo.commit_file("app", b"\x7fELF" + bytes(60) + b"Bearer" + k.encode() + b"Authorization")
    run = run_cli("history", "--format", "json", cwd=repo.path)
    assert run.code == 1, run.all
    assert k not in run.all


def test_a_key_split_after_sk_or_with_an_escape_in_a_later_piece(repo: GitRepo) -> None:
    k, m = kimi_code_key(), moonshot_key()
    b = k[8:]

    def escaped(c: str) -> str:
        return f"\\u{ord(c):04x}"

    found = _staged(
        repo,
        {
            "a.py": f'KIMI_API_KEY = "sk" + "-kimi-{b}"\n',
            "b.py": f'KIMI_API_KEY = "s" + "k-kimi-{b}"\n',
            "c.py": f'MOONSHOT_API_KEY = "sk" + "-{m[3:]}"\n',
            "d.js": f'const k = "{k[:30]}" + "{k[30:40]}{escaped(k[40])}{k[41:]}";\n',
        },
    )
    assert found == {"a.py": ["high"], "b.py": ["high"], "c.py": ["high"], "d.js": ["high"]}
    data = f'KIMI_API_KEY = "sk" + "-kimi-{b}"\n'.encode()
    assert _secrets(data, "a.py") == [k]
    # Pieces that make no exact shape stay unreported.
    assert _secrets(f'KIMI_API_KEY = "sk" + "-kimi-{b[:60]}"\n'.encode(), "a.py") == []
    assert _secrets(b'name = "s" + "k-" + "kimi"\n', "a.py") == []


def test_a_megabyte_run_of_sk_stays_in_bounded_memory(tmp_path: Path) -> None:
    """6 MB of `sk-` (one token of two million glued pieces) held a list of every piece:
    430 MB of memory. The scan's peak stays under the 150 MiB goal, measured by a process
    of its own whose only child is the scan."""
    (tmp_path / "sk_many.txt").write_bytes(b"sk-" * 2_000_000)
    probe = (
        "import resource, subprocess, sys\n"
        "run = subprocess.run([sys.executable, '-m', 'kimi_secret_scan', 'files', 'sk_many.txt'],"
        " capture_output=True)\n"
        "print(run.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    code, peak_kib = (int(x) for x in run.stdout.split())
    assert code == 0, run.stdout
    assert peak_kib < 150 * 1024, peak_kib
