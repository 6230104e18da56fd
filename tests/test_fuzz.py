"""A bounded, seeded fuzz run over real-world-shaped documents holding keys.

A .env, a notebook, YAML, a curl line, a Python client, each with generated keys, are
mutated (bytes flipped, inserted, deleted, truncated; runs of random bytes) a fixed number
of times. The detectors must never raise, and every key whose text and surrounding line
survived a mutation intact is still found. Seeded: a failure names its seed and replays.
"""

from __future__ import annotations

import json
import random

from kimi_secret_scan.content import Content
from kimi_secret_scan.detectors import detect
from tests.keygen import kimi_code_key, moonshot_key

SEED = 20261124
ROUNDS = 400


def documents(rng: random.Random) -> list[tuple[str, bytes, list[bytes]]]:
    """(path, content, the lines holding a key) of each real-world-shaped document."""
    k = [moonshot_key(rng), kimi_code_key(rng), moonshot_key(rng), kimi_code_key(rng)]
    env = f"# local settings\nDEBUG=1\nMOONSHOT_API_KEY={k[0]}\nKIMI_API_KEY={k[1]}\n"
    cell = {"cell_type": "code", "source": [f'os.environ["MOONSHOT_API_KEY"] = "{k[2]}"\n']}
    notebook = json.dumps({"cells": [cell], "nbformat": 4}, indent=1)
    yaml = f"llm:\n  provider: kimi\n  base_url: https://api.moonshot.cn/v1\n  api_key: {k[3]}\n"
    curl = (
        "curl https://api.moonshot.cn/v1/chat/completions \\\n"
        f'  -H "Authorization: Bearer {k[0]}" \\\n  -d @body.json\n'
    )
    python = (
        "from openai import OpenAI\n\n"
        f'client = OpenAI(api_key="{k[1]}", base_url="https://api.moonshot.ai/v1")\n'
    )
    out = []
    for path, text in [
        (".env", env),
        ("demo.ipynb", notebook),
        ("config.yaml", yaml),
        ("call.sh", curl),
        ("client.py", python),
    ]:
        data = text.encode()
        lines = [line for line in data.split(b"\n") if any(x.encode() in line for x in k)]
        out.append((path, data, lines))
    return out


def mutate(rng: random.Random, data: bytes) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        op = rng.randrange(5)
        pos = rng.randrange(len(buf) + 1)
        if op == 0 and buf:
            buf[min(pos, len(buf) - 1)] ^= 1 << rng.randrange(8)
        elif op == 1:
            buf[pos:pos] = rng.randbytes(rng.randint(1, 8))
        elif op == 2:
            del buf[pos : pos + rng.randint(1, 8)]
        elif op == 3:
            del buf[pos:]
        else:
            buf[pos:pos] = rng.choice([b"\0", b"\r\n", b"\xff\xfe", b"sk-", b"\xe2\x80", b"\\"])
    return bytes(buf)


def test_mutated_documents() -> None:
    rng = random.Random(SEED)
    docs = documents(rng)
    checked = 0
    for round_ in range(ROUNDS):
        path, data, key_lines = docs[round_ % len(docs)]
        mutated = mutate(rng, data)
        found = {f.secret for f in detect(Content(path=path, data=mutated))}
        mutated_lines = set(mutated.split(b"\n"))
        for line in key_lines:
            if line in mutated_lines:  # the key and its whole line survived
                secrets = [s for s in found if s.encode() in line]
                assert secrets, f"seed {SEED} round {round_}: key lost in {path}"
                checked += 1
    assert checked > ROUNDS // 10
