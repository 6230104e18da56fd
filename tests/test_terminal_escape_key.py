"""A key with terminal control sequences inside it (hostile review 11 #1): a saved
`grep --color=always` output colours the match only (`KEY=ESC[01;31mESC[Ksk-kimi-ESC[mESC[K<body>`),
and logs hold SGR codes mid-key, raw or escaped. Read as the terminal shows it: found by every
gate, never printed whole."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.gitrepo import GitRepo, run_cli
from tests.keygen import kimi_code_key, moonshot_key

_SPELLINGS = {"raw": "\x1b", "x1b": "\\x1b", "033": "\\033", "e": "\\e", "u001b": "\\u001b"}
_CSI = re.compile(r"(?:\x1b|\\(?:e|0?33|x1[bB]|u001[bB]))\[[0-?]*[ -/]*[@-~]")


def _grep_line(key: str, pattern: str) -> bytes:
    """A line as `grep --color=always -n PATTERN .env` writes it (GNU grep's default colours)."""
    line = f"KIMI_API_KEY={key}"
    at = line.index(pattern)
    coloured = (
        line[:at] + "\x1b[01;31m\x1b[K" + pattern + "\x1b[m\x1b[K" + line[at + len(pattern) :]
    )
    return f"\x1b[32m\x1b[K1\x1b[m\x1b[K\x1b[36m\x1b[K:\x1b[m\x1b[K{coloured}\n".encode()


def _shown_whole(key: str, text: str) -> bool:
    plain = _CSI.sub("", text)
    return key in text or key in plain or key[-30:] in plain


def test_saved_grep_colour_output_is_found_staged_and_in_history(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.commit_file("README", "hi\n", "base")
    key = kimi_code_key()
    repo.write("grep.log", _grep_line(key, "sk-kimi-"))
    repo.write("grep2.log", _grep_line(key, "API_KEY=sk"))
    repo.add()
    run = run_cli("staged", "--format", "json", cwd=repo.path)
    assert run.code == 1, run.all
    paths = sorted(f["path"] for f in json.loads(run.out)["findings"])
    assert paths == ["grep.log", "grep2.log"], run.all
    assert not _shown_whole(key, run.all)
    run = run_cli("staged", cwd=repo.path)
    assert run.code == 1 and not _shown_whole(key, run.all), run.all
    repo.commit("logs")
    for args in (["history"], ["range", "HEAD~1..HEAD"], ["files", "."]):
        run = run_cli(*args, "--format", "json", cwd=repo.path)
        assert run.code == 1, (args, run.all)
        assert len(json.loads(run.out)["findings"]) >= 2, (args, run.all)
        assert not _shown_whole(key, run.all), (args, run.all)


@pytest.mark.parametrize("spelling", sorted(_SPELLINGS))
def test_sgr_inside_a_key_in_every_spelling(tmp_path: Path, spelling: str) -> None:
    esc = _SPELLINGS[spelling]
    on, off = esc + "[1;31m", esc + "[0m"
    keys: list[str] = []
    for n, where in enumerate(("prefix", "mid", "every8", "platform")):
        key = moonshot_key() if where == "platform" else kimi_code_key()
        keys.append(key)
        if where == "prefix":
            written = "sk-kimi-" + on + key[8:] + off
        elif where == "mid":
            written = key[:30] + on + key[30:50] + off + key[50:]
        elif where == "every8":
            written = "".join(
                key[i : i + 8] + (on if (i // 8) % 2 == 0 else off) for i in range(0, len(key), 8)
            )
        else:
            written = "sk" + on + "-" + off + key[3:20] + on + key[20:]
        (tmp_path / f"{n}.log").write_text(f"2026-12-02 INFO using key {written}\n")
    run = run_cli("files", "--format", "json", str(tmp_path), cwd=tmp_path)
    assert run.code == 1, run.all
    found = {f["path"].rsplit("/", 1)[-1] for f in json.loads(run.out)["findings"]}
    assert found == {"0.log", "1.log", "2.log", "3.log"}, run.all
    run = run_cli("files", str(tmp_path), cwd=tmp_path)
    for key in keys:
        assert not _shown_whole(key, run.all), run.all


@pytest.mark.parametrize("cut", [20, 28, 32, 40, 48])
def test_a_first_piece_long_enough_to_be_a_key_hides_no_rest(tmp_path: Path, cut: int) -> None:
    """`KIMI_API_KEY=sk-kimi-<cut>ESC[01;31m<rest>` (review h12): the piece before the code is a
    token of its own; the excerpt showed it (redacted) for the whole key and printed the
    rest of the key as written, in text and JSON."""
    key = kimi_code_key()
    at = len("sk-kimi-") + cut
    (tmp_path / "k.log").write_text(f"INFO KIMI_API_KEY={key[:at]}\x1b[01;31m{key[at:]}\n")
    for fmt in ("text", "json", "sarif", "github"):
        run = run_cli("files", "--format", fmt, "k.log", cwd=tmp_path)
        assert run.code == 1, (fmt, run.all)
        plain = _CSI.sub("", run.all)
        assert key[at:] not in plain and not _shown_whole(key, run.all), (fmt, run.all)


def test_colour_without_a_key_stays_clean(tmp_path: Path) -> None:
    # Coloured words beside `sk`-words, mid-word colour, a short token cut by colour.
    text = (
        "\x1b[32mPASSED\x1b[0m task\x1b[1m-runner\x1b[0m disk\x1b[31m-full\x1b[0m\n"
        "sk-\x1b[1mabc\x1b[0mdef risk\\e[1m-free\\e[0m\n"
    ) * 50
    # A coloured CI log of a few MiB: colour between letters beside `sk`-words on every line
    # (each such place opened a window, and the content ran out of them: exit 2).
    words = ["task", "disk", "risk", "PASSED", "sk-learn", "desk-top"]
    text += "".join(
        f"\x1b[32m{w}\x1b[0m \x1b[1m{words[i % 5]}\x1b[0m-{w[:2]}\x1b[31m{w}\x1b[0m ok {i}\n"
        for i, w in ((i, words[i * 7 % 6]) for i in range(60000))
    )
    (tmp_path / "ci.log").write_text(text)
    run = run_cli("files", str(tmp_path / "ci.log"), cwd=tmp_path)
    assert run.code == 0, run.all
