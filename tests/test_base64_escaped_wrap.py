"""Wrapped base64 whose line breaks are written as escapes (hostile review 11 #2).

`json.dumps({"env_file": base64.encodebytes(env)})` keeps a .env file's 76-column base64 in a
JSON string with its breaks as `\\n` escapes; a shell script continues the lines with ` \\`.
Only real breaks were read as wrap separators, so a key not at the start of the encoded text
passed every command (48 of 48 such files). Each form, both widths, every placement of the
key (the break cutting its trigger among them), read by `files`, `staged` and `history`
(whose readers ask Hyperscan first, detect/marks.py)."""

from __future__ import annotations

import base64
import json
import random

from kimi_secret_scan.finding import sha256_hex
from tests import keygen
from tests.gitrepo import GitRepo, run_cli


def _cases() -> list[tuple[str, str, str]]:
    rng = random.Random(202612021)
    cases = []
    for width in (64, 76):
        for pre in range(0, 2 * width, 5):
            key = keygen.moonshot_key(rng) if pre % 2 else keygen.kimi_code_key(rng)
            env = f"# app settings\nDEBUG=0{' ' * pre}\nKIMI_API_KEY={key}\n".encode()
            enc = base64.b64encode(env).decode()
            lines = [enc[i : i + width] for i in range(0, len(enc), width)]
            cases.append(
                (
                    f"deploy-{width}-{pre}.json",
                    json.dumps({"name": "app", "env_file": "\n".join(lines) + "\n"}) + "\n",
                    key,
                )
            )
            cases.append(
                (
                    f"crlf-{width}-{pre}.json",
                    json.dumps({"env_file": "\r\n".join(lines)}, indent=2) + "\n",
                    key,
                )
            )
            cases.append((f"setup-{width}-{pre}.sh", "echo " + " \\\n".join(lines) + "\n", key))
    return cases


def _found(out: str) -> set[str]:
    return {f["secret_sha256"] for f in json.loads(out)["findings"]}


def test_base64_wrapped_with_escaped_breaks_is_found(repo: GitRepo) -> None:
    cases = _cases()
    for name, content, _ in cases:
        repo.write(name, content)
    wanted = {sha256_hex(key) for _, _, key in cases}

    files = run_cli("files", ".", "--format", "json", cwd=repo.path)
    assert files.code == 1, files.err
    assert wanted - _found(files.out) == set()

    repo.add()
    staged = run_cli("staged", "--format", "json", cwd=repo.path)
    assert staged.code == 1, staged.err
    assert wanted - _found(staged.out) == set()

    repo.commit("wrapped base64, escaped breaks")
    history = run_cli("history", "--format", "json", cwd=repo.path)
    assert history.code == 1, history.err
    assert wanted - _found(history.out) == set()
