"""Terminal sequences other than a short CSI inside a key (hostile review h12 #2): each passed
`files` with exit 0. `tput sgr0`'s ESC(B, OSC hyperlinks and titles, 8-bit CSI, `cat -v`'s
caret spelling, terminfo's `\\E`, `\\u{1b}`, two-byte escapes, a truecolour SGR past 32
parameter bytes, and the ESC-less spelling a browser's copy of a CI log leaves, at each place
in a key (after `sk-kimi-`, mid-body, between `s` and `k`, between `sk` and `-`). Found by
every gate, never printed whole or with its tail in clear, in every format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kimi_secret_scan.finding import redact
from tests.gitrepo import GitRepo, run_cli
from tests.keygen import kimi_code_key, moonshot_key

E = "\x1b"
FORMS = {
    "tput_sgr0": E + "(B" + E + "[m",
    "charset_only": E + "(B",
    "osc8_bel": E + "]8;;http://example.invalid/x\x07",
    "osc8_st": E + "]8;;http://example.invalid/x" + E + "\\",
    "osc_title": E + "]0;build 7\x07",
    "c1_csi": "\u009b31m",
    "c1_osc": "\u009d0;title\u009c",
    "caret": "^[[01;31m^[[K",
    "terminfo": "\\E[31m",
    "u_brace": "\\u{1b}[31m",
    "keypad": E + "=",
    "keypad_off": E + ">",
    "truecolour": E + "[38;2;255;100;100;48;2;10;10;10;1;3;4;5;7;9;21;53m",
    "many_params": E + "[" + ";".join(["1"] * 40) + "m",
    "no_esc_grep": "[01;31m[K",
    "no_esc_reset": "[m[K",
    "no_esc_0m": "[0m",
    "no_esc_green": "[32m",
    "sgr_between": E + "[01;31m",
    # Review h13b #2: an ESC before a sequence's ESC, C0 inside a CSI (CAN ends it), 16
    # intermediates, 8-bit DCS/SOS/PM/APC, Lua's `\27`, and spellings that were read only
    # from the token's `-` on.
    "esc_esc": E + E + "[31m",
    "csi_bel_inside": E + "[31\x07m",
    "csi_can": E + "[31\x18",
    "csi_5_intermediates": E + '[1 !"#$q',
    "c1_dcs": "\u0090q\u009c",
    "c1_apc": "\u009fx\u009c",
    "c1_pm_sos": "\u009ex\u009c\u0098y\u009c",
    "lua": "\\27[31m",
    "html_dec": "&#27;[31m",
    "html_hex": "&#x1b;[31m",
    "percent": "%1B%5B31m",
    "py_U": "\\U0000001b[31m",
    "c1_csi_spelled": "\\x9b31m",
    "c1_csi_u": "\\u009b31m",
}
PLACES = {"after_prefix": 8, "mid": 40, "between_s_k": 1, "between_sk_dash": 2}


def _cut(key: str, at: int, seq: str) -> str:
    return key[:at] + seq + key[at:]


def _leaks(key: str, text: str) -> list[str]:
    """Runs of 12 of the key's body beyond what redaction shows (its first and last 4)."""
    body = key[len("sk-kimi-") :] if key.startswith("sk-kimi-") else key[3:]
    return [body[i : i + 12] for i in range(4, len(body) - 15) if body[i : i + 12] in text]


@pytest.mark.parametrize("form", sorted(FORMS))
def test_a_key_cut_by_a_sequence_is_found_and_never_shown(tmp_path: Path, form: str) -> None:
    keys = {}
    for place, at in PLACES.items():
        key = kimi_code_key()
        keys[place] = key
        line = f"2026-12-02 INFO KIMI_API_KEY={_cut(key, at, FORMS[form])} ok\n"
        (tmp_path / f"{place}.log").write_bytes(line.encode())
    for fmt in ("json", "text", "sarif", "github"):
        run = run_cli("files", "--format", fmt, ".", cwd=tmp_path)
        assert run.code == 1, (fmt, run.all)
        if fmt == "json":
            found = {(f["path"], f["secret"]) for f in json.loads(run.out)["findings"]}
            # The whole key at each place (its redaction shows its last characters).
            assert found == {(f"{p}.log", redact(k)) for p, k in keys.items()}, run.all
        for place, key in keys.items():
            assert key not in run.all and _leaks(key, run.all) == [], (fmt, place, run.all)


def test_the_platform_key_and_staged_through_the_hook(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.commit_file("README", "hi\n", "base")
    keys = []
    for form, seq in sorted(FORMS.items()):
        # "before": a whole Open Platform key right after the sequence (`ESC[K`, `ESC(B` and
        # `[32m` end in a letter, which the token's left guard took for a word).
        for place in ("after_prefix", "between_s_k", "before"):
            key = kimi_code_key() if place == "after_prefix" else moonshot_key()
            at = 0 if place == "before" else PLACES[place]
            keys.append(key)
            repo.write(f"{form}.{place}.log", f"MOONSHOT_API_KEY={_cut(key, at, seq)}\n".encode())
    repo.add()
    names = sorted(p.name for p in repo.path.glob("*.log"))
    # As the hook runs it: the staged files named (the pre-commit framework).
    for args in ((), tuple(names)):
        run = run_cli("staged", *args, "--format", "json", cwd=repo.path)
        assert run.code == 1, run.all
        paths = sorted({f["path"] for f in json.loads(run.out)["findings"]})
        assert paths == names, run.all
        for key in keys:
            assert key not in run.all and _leaks(key, run.all) == [], run.all


def test_sequences_beside_no_key_stay_clean(tmp_path: Path) -> None:
    # ESC-less codes in code (`seq[mid]`, `Dict[K]`, `a[1m]`), tokens cut by sequences but
    # short without them, an OSC that never ends, a hyperlink around an ordinary word.
    text = (
        "x = seq[mid] + Dict[K] + a[0] + s[1] ; task[01;31m-runner[0m sk-[0mabc[m[Kdef\n"
        "risk\x1b]8;;http://example.invalid\x1b\\-free\x1b]8;;\x1b\\ disk\x1b(B-full\n"
        "sk-learn\u009b1m-x \x1b]0;" + "t" * 5000 + "\n"
        "s\x1b[1mk-short\x1b[0m tasks^[[32m-ok^[[0m [32mPASSED[0m [m[K\n"
    ) * 200
    (tmp_path / "ci.log").write_text(text)
    run = run_cli("files", "ci.log", cwd=tmp_path)
    assert run.code == 0, run.all


def test_a_file_named_with_a_cut_key_is_never_shown(tmp_path: Path) -> None:
    # The report's net reads names with the same sequences (redaction's _CSI_TEXT).
    names = {}
    forms = ("charset_only", "osc_title", "c1_csi", "caret", "no_esc_0m", "csi_5_intermediates")
    for n, form in enumerate(forms):
        named = moonshot_key()
        name = f"{_cut(named, 1, FORMS[form])}.{n}.txt"
        names[name] = named
        (tmp_path / name).write_text(f"MOONSHOT_API_KEY={moonshot_key()}\n")
    for fmt in ("text", "json", "sarif", "github"):
        run = run_cli("files", "--format", fmt, ".", cwd=tmp_path)
        assert run.code == 1, (fmt, run.all)
        for name, key in names.items():
            assert key not in run.all and _leaks(key, run.all) == [], (fmt, name, run.all)


def _found_all(tmp_path: Path, keys: dict[str, str]) -> None:
    for fmt in ("json", "text"):
        run = run_cli("files", "--format", fmt, ".", cwd=tmp_path)
        assert run.code == 1, (fmt, run.all)
        if fmt == "json":
            found = {(f["path"], f["secret"]) for f in json.loads(run.out)["findings"]}
            assert found == {(p, redact(k)) for p, k in keys.items()}, run.all
        for place, key in keys.items():
            assert key not in run.all and _leaks(key, run.all) == [], (fmt, place, run.all)


def test_sequences_past_a_window_inside_one_key(tmp_path: Path) -> None:
    # Review h13b #1: each sequence within its bound, together past the 4 KiB window that
    # was centred on the `s` (the key's body stood past its end): exit 0.
    csi = E + "[" + "1;" * 100 + "1m"  # 201 parameter bytes
    osc = E + "]8;;http://example.invalid/" + "a" * 1000 + E + "\\"
    cuts = {
        "osc2030.log": [E + "]0;" + "t" * 2030 + "\x07"],
        "two_links.log": [osc, osc],
        "ten_sgr.log": [csi] * 10,
        "spread.log": [csi] * 30,  # one every 2 body characters: 6 KiB in all
    }
    keys = {}
    for name, seqs in cuts.items():
        key = kimi_code_key()
        keys[name] = key
        if name == "spread.log":
            body = key[8:]
            cut = key[:8] + "".join(s + body[2 * i : 2 * i + 2] for i, s in enumerate(seqs))
            cut += body[2 * len(seqs) :]
        else:
            cut = key[:8] + "".join(seqs) + key[8:]
        (tmp_path / name).write_text(f"2026-12-02 INFO KIMI_API_KEY={cut} ok\n")
    _found_all(tmp_path, keys)


def test_a_token_past_the_sequence_limit_is_said_unread(tmp_path: Path) -> None:
    # Sequences past 64 KiB in one token: not read, and said so (exit 2), never passed.
    key = kimi_code_key()
    cut = key[:8] + (E + "[" + "1;" * 100 + "1m") * 400 + key[8:]
    (tmp_path / "long.log").write_text(f"KIMI_API_KEY={cut}\n")
    run = run_cli("files", "--format", "json", ".", cwd=tmp_path)
    assert run.code == 2, run.all
    assert json.loads(run.out)["stats"]["complete"] is False, run.all
    assert key not in run.all and _leaks(key, run.all) == [], run.all


@pytest.mark.parametrize(
    "st",
    ["\\e]8;;http://x\\e\\\\", "\\\\e]8;;http://x\\\\e\\\\\\\\", "\\033]0;t\\033\\\\"],
    ids=["e", "json_e", "033"],
)
def test_an_osc_ended_by_a_spelled_st(tmp_path: Path, st: str) -> None:
    # Review h13b #3: `\e\\` (ST as a shell or C string writes it) left a backslash glued
    # to the key. An escaped CSI elsewhere in the file makes it read.
    keys = {}
    for place, at in (("after_prefix", 8), ("between_s_k", 1), ("mid", 30)):
        key = kimi_code_key()
        keys[f"{place}.sh"] = key
        text = 'echo -e "\\e[1mbuild\\e[0m"\nprintf "KIMI_API_KEY=' + _cut(key, at, st) + '"\n'
        (tmp_path / f"{place}.sh").write_text(text)
    _found_all(tmp_path, keys)
