"""Wrapped base64 of a key whose `sk-` a line break cuts (review of 2026-12-02).

`base64` wraps at 76 columns, PEM and `openssl base64` at 64: the three or four characters
that only `sk-` decides (the triggers base64 is searched from) fall across a line break at
about one line in twenty. The windows already read across the break; the triggers were
searched only as they are written, so those keys passed every command. Each placement of
the break inside a trigger is built here, for both widths, and read by `files`, `staged`
and `history` (whose readers ask Hyperscan first, detect/marks.py)."""

from __future__ import annotations

import base64
import json
import random

from kimi_secret_scan import decoders
from kimi_secret_scan.finding import sha256_hex
from tests import keygen
from tests.gitrepo import GitRepo, run_cli


def _wrapped(text: bytes, width: int, indent: str) -> str:
    encoded = base64.b64encode(text).decode()
    return "\n".join(indent + encoded[i : i + width] for i in range(0, len(encoded), width))


def _cut_cases() -> list[tuple[str, str, str]]:
    """(file name, content, key) for each prefix length and width whose wrapping cuts the
    trigger of the key's `sk-`, as a YAML block scalar and as a note naming Moonshot."""
    rng = random.Random(20261202)
    cases = []
    for width in (64, 76):
        for pre in range(0, 3 * width):
            key = keygen.moonshot_key(rng) if pre % 2 else keygen.kimi_code_key(rng)
            plain = b"token: " + b" " * pre + key.encode() + b"\n"
            flat = base64.b64encode(plain)
            lines = _wrapped(plain, width, "").encode()
            if not any(n in flat and n not in lines for n, _, _ in decoders.SK_TRIGGERS):
                continue  # the trigger is on one line: searched as before
            block = _wrapped(plain, width, "    ")
            cases.append((f"k8s-{width}-{pre}.yaml", f"kimi_token: |\n{block}\n", key))
            note = _wrapped(plain, width, "")
            cases.append((f"note-{width}-{pre}.txt", f"Moonshot key (base64):\n{note}\n", key))
    return cases


def _found(out: str) -> set[str]:
    return {f["secret_sha256"] for f in json.loads(out)["findings"]}


def test_every_cut_trigger_is_found_by_files_staged_and_history(repo: GitRepo) -> None:
    cases = _cut_cases()
    assert len(cases) >= 12  # both widths, each cut of each alignment's trigger
    for name, content, _ in cases:
        repo.write(name, content)
    wanted = {sha256_hex(key) for _, _, key in cases}

    files = run_cli("files", ".", "--format", "json", cwd=repo.path)
    assert files.code == 1, files.err
    assert _found(files.out) >= wanted

    repo.add()
    staged = run_cli("staged", "--format", "json", cwd=repo.path)
    assert staged.code == 1, staged.err
    assert _found(staged.out) >= wanted

    repo.commit("wrapped base64")
    history = run_cli("history", "--format", "json", cwd=repo.path)
    assert history.code == 1, history.err
    assert _found(history.out) >= wanted
