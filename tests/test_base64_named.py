"""Base64 in program source that names neither Moonshot nor a Kimi endpoint (hostile review
12 #5: py_concat_64.py, py_concat_76.py).

A .py holding a .env's base64 as string pieces (`ENV = (` ⏎ `"<64 characters>\\n"` ⏎ … `)`)
passed `files` and `history` with exit 0: base64 was searched only in configuration, data
and script files and in content naming Moonshot or a Kimi endpoint. Now content holding
the base64 of a long Kimi name (`sk-kimi-`, `KIMI_API_KEY`, `MOONSHOT_API_KEY`,
`api.moonshot.`, `api.kimi.com`: decoders.named_triggers) at any alignment has its base64
searched as a configuration file's is; source holding other base64 is still not searched.
"""

from __future__ import annotations

import base64
import json
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kimi_secret_scan import decoders
from kimi_secret_scan.content import Content
from kimi_secret_scan.detectors import detect
from kimi_secret_scan.finding import sha256_hex
from tests import keygen
from tests.gitrepo import GitRepo, run_cli


def _pieces(encoded: str, width: int) -> str:
    # The reviewer's form: one string piece a line, each ending in a `\n` escape.
    lines = [encoded[i : i + width] for i in range(0, len(encoded), width)]
    return "ENV = (\n" + "".join(f'    "{line}\\n"\n' for line in lines) + ")\n"


# Code before the pieces: a file past marks._MIN_LENGTH, which `history` asks Hyperscan's
# marks about (the review's files are shorter: the survey's own way).
_MODULE = '"""Settings of the app."""\n\nimport base64\nimport os\n\n' + "".join(
    f"OPTION_{n} = os.environ.get('OPTION_{n}', '{n}')\n" for n in range(12)
)


def _reviewer_cases(rng: random.Random) -> list[tuple[str, str, str]]:
    """(file name, content, key): the review's two files, the .env's key not at the start,
    as they are and after a module's code."""
    out = []
    for width in (64, 76):
        for name, head in ((f"py_concat_{width}.py", ""), (f"app_{width}.py", _MODULE)):
            key = keygen.kimi_code_key(rng)
            env = f"# app\nDEBUG=0\nKIMI_API_KEY={key}\n".encode()
            out.append((name, head + _pieces(base64.b64encode(env).decode(), width), key))
    return out


def _named_cases(rng: random.Random) -> list[tuple[str, str, str]]:
    """Each named plaintext alone (no other needle beside it) at each alignment, in one
    string of standard or URL-safe base64."""
    out = []
    for pad in range(3):
        lead = "#" * pad
        kimi = keygen.kimi_code_key(rng)
        moon = [keygen.moonshot_key(rng) for _ in range(3)]
        texts = {
            "sk-kimi": (f'{lead}{{"token": "{kimi}"}}', kimi),
            "kimi-setting": (f"{lead}\nKIMI_API_KEY={moon[0]}\n", moon[0]),
            "moonshot-setting": (f"{lead}\nMOONSHOT_API_KEY={moon[1]}\n", moon[1]),
            "endpoint": (f'{lead}\nurl = "https://api.moonshot.ai/v1"\nt = "{moon[2]}"\n', moon[2]),
        }
        for name, (text, key) in texts.items():
            for alphabet, encode in (("std", base64.b64encode), ("url", base64.urlsafe_b64encode)):
                encoded = encode(text.encode()).decode()
                content = f'import os\n\nBLOB = "{encoded}"\n'
                out.append((f"{name}_{pad}_{alphabet}.py", content, key))
    return out


def _found(out: str) -> set[tuple[str, str]]:
    return {(f["path"], f["secret_sha256"]) for f in json.loads(out)["findings"]}


def _assert_nothing_clear(output: str, keys: set[str]) -> None:
    for key in keys:
        body = key.rsplit("-", 1)[-1]
        for at in range(0, len(body) - 12, 6):
            assert body[at : at + 12] not in output, "part of a key printed in clear"


def test_the_reviewers_files_through_files_and_history(repo: GitRepo) -> None:
    cases = _reviewer_cases(random.Random(12))
    for name, content, _ in cases:
        assert "oonshot" not in content.lower() and "kimi" not in content.lower()
        repo.write(name, content)
    keys = {key for _, _, key in cases}
    wanted = {(name, sha256_hex(key)) for name, _, key in cases}
    files = run_cli("files", ".", "--format", "json", cwd=repo.path)
    assert files.code == 1, files.err
    assert wanted <= _found(files.out)
    _assert_nothing_clear(files.all, keys)
    text = run_cli("files", ".", cwd=repo.path)
    assert text.code == 1, text.err
    _assert_nothing_clear(text.all, keys)
    repo.add()
    repo.commit("settings")
    history = run_cli("history", "--format", "json", cwd=repo.path)
    assert history.code == 1, history.err
    assert wanted <= _found(history.out)
    for fmt in ("text", "sarif", "github"):
        run = run_cli("history", "--format", fmt, cwd=repo.path)
        assert run.code == 1, run.err
        _assert_nothing_clear(run.all, keys)
    _assert_nothing_clear(history.all, keys)


def test_each_name_at_each_alignment(repo: GitRepo) -> None:
    cases = _named_cases(random.Random(5))
    for name, content, _ in cases:
        repo.write(name, content)
    wanted = {(name, sha256_hex(key)) for name, _, key in cases}
    files = run_cli("files", ".", "--format", "json", cwd=repo.path)
    assert files.code == 1, files.err
    assert sorted(wanted - _found(files.out)) == []
    _assert_nothing_clear(files.all, {key for _, _, key in cases})
    repo.add()
    repo.commit("blobs")
    history = run_cli("history", "--format", "json", cwd=repo.path)
    assert history.code == 1, history.err
    assert sorted(wanted - _found(history.out)) == []


def _random_base64(rng: random.Random, size: int) -> str:
    encode = rng.choice([base64.b64encode, base64.urlsafe_b64encode])
    return encode(rng.randbytes(size)).decode()


def test_a_source_tree_with_other_base64_is_not_searched(repo: GitRepo) -> None:
    # Fonts, images, test vectors and base64 of ordinary text in program source: no named
    # trigger, so their base64 is not searched (as before), and nothing is found.
    rng = random.Random(7)
    prose = b"The quick brown fox jumps over the lazy dog; api_key = os.environ['TOKEN'].\n"
    for n in range(12):
        blobs = [_random_base64(rng, rng.randint(48, 4096)) for _ in range(4)]
        blobs.append(base64.b64encode(prose * rng.randint(1, 30)).decode())
        content = "import base64\n\n" + "".join(
            f"BLOB_{i} = base64.b64decode(\n" + _pieces(blob, rng.choice([64, 76]))[6:] + ")\n"
            for i, blob in enumerate(blobs)
        )
        assert not decoders.holds_named_base64(content.encode())
        repo.write(f"pkg/mod_{n}.py", content)
    files = run_cli("files", ".", "--format", "json", cwd=repo.path)
    assert files.code == 0, files.err
    assert json.loads(files.out)["findings"] == []
    repo.add()
    repo.commit("vendored assets")
    history = run_cli("history", "--format", "json", cwd=repo.path)
    assert history.code == 0, history.err


def test_random_base64_holds_no_named_trigger() -> None:
    rng = random.Random(3)
    data = _random_base64(rng, 3 << 20).encode()
    assert not decoders.holds_named_base64(data)
    content = Content(path="assets.py", data=b'DATA = "' + data + b'"\n')
    assert detect(content) == []


def test_the_named_triggers() -> None:
    needles = decoders.named_triggers()
    assert len(needles) == len(set(needles)) == 15  # none of them spells `+` or `/`
    assert all(len(needle) >= 8 for needle in needles)
    for plain in (b"sk-kimi-", b"KIMI_API_KEY", b"MOONSHOT_API_KEY", b"api.moonshot.cn"):
        for pad in range(3):
            encoded = base64.b64encode(b"x" * pad + plain + b"yz")
            assert sum(needle in encoded for needle in needles) >= 1


# The rarest characters each needle is found from, dense, beside whole and cut needles.
_PARTS = [
    *decoders.named_triggers(),
    *(needle[: len(needle) // 2] for needle in decoders.named_triggers()),
    *(needle[len(needle) // 2 :] for needle in decoders.named_triggers()),
    b"J",
    b"Q",
    b"Z",
    b"X",
    b"W",
    b"2",
    b"5",
    b"9",
    b"a",
    b"\n",
]


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    parts=st.lists(st.tuples(st.sampled_from(_PARTS), st.integers(1, 400)), max_size=12),
)
def test_the_search_is_find(parts: list[tuple[bytes, int]]) -> None:
    # From each needle's rarest character, and past a budget of them (one a KiB) by `find`:
    # the same answer as a `find` of each needle.
    data = b"".join(part * (count if len(part) == 1 else 1) for part, count in parts)
    assert decoders.holds_named_base64(data) == any(
        needle in data for needle in decoders.named_triggers()
    )


@pytest.mark.parametrize("anchor", [b"J", b"2", b"W"])
def test_dense_rare_characters(anchor: bytes) -> None:
    needles = [n for n in decoders.named_triggers() if anchor in n]
    for needle in needles:
        for at in (0, 5000, 40_000):
            data = anchor * at + needle + anchor * 100
            assert decoders.holds_named_base64(data)
        assert not decoders.holds_named_base64(anchor * 50_000 + needle[:-1])
