"""No whole key in anything the scanner prints or writes, unless --show-secrets asks for it.

The matrix (tests/scenario.py) runs every command in every format in reports.FORMATS (so a
new format is covered without a change here), to stdout, with --output, with the GitHub
job summary file, and with --show-secrets, plus the baseline commands; stdout, stderr and
every file written are searched for each key whole. Then the error paths: a key typed as a
revision, a path, an --output directory, a configuration value; a file and a branch named
after a key; and an unexpected exception raised with a key in its message.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from kimi_secret_scan import redaction
from kimi_secret_scan.cli import handle_errors
from kimi_secret_scan.redaction import Hidden
from tests import gitrepo, scenario
from tests.gitrepo import GitRepo, run_cli
from tests.keygen import kimi_code_key
from tests.scenario import Run, Scenario


@pytest.fixture(scope="module")
def matrix(tmp_path_factory: pytest.TempPathFactory) -> tuple[Scenario, list[Run]]:
    return scenario.matrix(tmp_path_factory)


def leaked(s: Scenario, text: str) -> list[str]:
    return [key for key in s.keys if key in text]


def test_no_key_without_show_secrets(matrix: tuple[Scenario, list[Run]]) -> None:
    s, runs = matrix
    checked = 0
    for run in runs:
        if run.show_secrets or "--write-replacements" in run.args:
            continue
        assert run.code in (0, 1), (run.name, run.err)
        assert leaked(s, run.everything) == [], run.name
        checked += 1
    assert checked > 40


def test_show_secrets_shows_keys_except_in_sarif(matrix: tuple[Scenario, list[Run]]) -> None:
    s, runs = matrix
    shown = [r for r in runs if r.show_secrets]
    assert shown
    for run in shown:
        if "sarif" in run.args:
            assert leaked(s, run.everything) == [], run.name
        else:
            assert leaked(s, run.out), run.name


def test_baseline_files_hold_hashes_not_keys(matrix: tuple[Scenario, list[Run]]) -> None:
    s, runs = matrix
    files = [r.output for r in runs if r.args[0] == "baseline"]
    assert files and all("sha256 =" in text for text in files)
    for text in files:
        assert leaked(s, text) == []


def test_write_replacements_is_the_one_whole_key_file(matrix: tuple[Scenario, list[Run]]) -> None:
    s, runs = matrix
    (run,) = [r for r in runs if "--write-replacements" in r.args]
    assert leaked(s, run.output)
    assert leaked(s, run.out + run.err) == []


@pytest.fixture
def keyed_repo(repo: GitRepo) -> tuple[GitRepo, str]:
    key = kimi_code_key()
    repo.commit_file("a.txt", "x = 1\n", "start")
    return repo, key


@pytest.mark.parametrize(
    "args",
    [
        ["range", "{key}..HEAD"],
        ["range", "HEAD..{key}"],
        ["history", "{key}"],
        ["history", "--since", "{key}"],
        ["ci", "--base", "{key}"],
        ["commit-msg", "missing/{key}"],
        ["files", "{key}"],
        ["history", "--repo", "{key}"],
        ["staged", "--output", "missing/{key}/report.json"],
        ["files", "a.txt", "--baseline", "{key}.toml"],
    ],
)
def test_errors_do_not_echo_a_typed_key(keyed_repo: tuple[GitRepo, str], args: list[str]) -> None:
    repo, key = keyed_repo
    run = run_cli(*(a.replace("{key}", key) for a in args), cwd=repo.path)
    assert run.code == 2, run.all
    assert key not in run.all
    assert "sk-kimi-" in run.err  # said, redacted


@pytest.mark.parametrize(
    "config",
    [
        'format = "{key}"',
        'min-confidence = "{key}"',
        'disable-rules = ["{key}"]',
        '"{key}" = 1',
        'exclude = ["[{key}"]',
        'allow-regexes = ["({key}"]',
    ],
)
def test_config_errors_do_not_echo_a_key(keyed_repo: tuple[GitRepo, str], config: str) -> None:
    repo, key = keyed_repo
    repo.write(".kimi-secret-scan.toml", config.replace("{key}", key) + "\n")
    for args in (["files", "a.txt"], ["baseline", "create", "--file", "../b.toml"]):
        run = run_cli(*args, cwd=repo.path)
        assert run.code == 2, run.all
        assert key not in run.all


def test_file_and_branch_named_after_a_key(keyed_repo: tuple[GitRepo, str]) -> None:
    repo, key = keyed_repo
    repo.commit_file(f"conf/{key}.env", f"KIMI_API_KEY={key}\n", "add")
    repo.git("branch", key)
    summary = repo.path.parent / "step-summary.md"
    for fmt in ("text", "json", "sarif", "github"):
        for args in (["files", "conf"], ["history"], ["range", f"{key}~1..{key}"]):
            env = {"GITHUB_STEP_SUMMARY": str(summary)}
            run = run_cli(*args, "--format", fmt, cwd=repo.path, env=env)
            assert run.code == 1, run.all
            assert key not in run.all, (args, fmt)
            # The job summary is written beside the report, and shown on the run's page.
            assert key not in (summary.read_text() if summary.exists() else ""), (args, fmt)


@pytest.mark.parametrize("encoding", ["base64", "base64url", "percent"])
def test_file_and_branch_named_after_an_encoded_key(
    keyed_repo: tuple[GitRepo, str], encoding: str
) -> None:
    """The detectors find a key encoded in a name; the name, printed as a finding's place
    or in a key's list of refs, must not carry it whole in that encoding either."""
    import base64

    repo, key = keyed_repo
    other = kimi_code_key()
    if encoding == "base64":
        while "/" in (encoded := base64.b64encode(key.encode()).decode()):
            key = kimi_code_key()  # a "/" would split the file name into directories
    elif encoding == "base64url":
        encoded = base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")
    else:
        encoded = "".join(f"%{b:02X}" for b in key.encode())
    repo.commit_file(f"conf-{encoded}.env", f"KIMI_API_KEY={other}\n", "add")
    repo.git("branch", f"x/{encoded}")
    for fmt in ("text", "json", "sarif", "github"):
        for args in (["history"], ["range", "HEAD~1..HEAD"]):
            run = run_cli(*args, "--format", fmt, cwd=repo.path)
            assert run.code == 1, run.all
            assert encoded not in run.all, (args, fmt)
            assert encoded[8:40] not in run.all, (args, fmt)


def test_an_unexpected_error_with_a_key_in_scope(tmp_path: Path) -> None:
    key = kimi_code_key()

    @click.command()
    @handle_errors
    def crash() -> int:
        raise ValueError(f"cannot parse {key!r}")

    result = CliRunner().invoke(crash, [])
    assert result.exit_code == 2
    assert "internal error (ValueError)" in result.output
    assert key not in result.output


def _spellings(key: str) -> dict[str, str]:
    """A key as the detectors find it in a name, in spellings the shapes alone do not read
    (round-4 review #8)."""
    rest = key[len("sk-") :]  # `kimi-<body>` or `<body>`
    head, body = rest[:20], rest[20:]
    return {
        "unicode escape": f"sk\\u002d{rest}",
        "hex escape": f"sk\\x2d{rest}",
        "octal escape": f"sk\\055{rest}",
        "escaped hyphen": f"sk\\-{rest}",
        "decimal entity": f"sk&#45;{rest}",
        "hex entity": f"sk&#x2d;{rest}",
        "percent": f"sk%2d{rest}",
        "percent twice": f"sk%252d{rest}",
        "string pieces": f"'sk-{head}'+'{body}'",
    }


def _windows(key: str) -> set[str]:
    """Every 20 characters of the key's body: none may be printed."""
    body = key.rsplit("-", 1)[-1]
    return {body[i : i + 20] for i in range(len(body) - 19)}


def test_files_named_after_an_escaped_key(tmp_path: Path) -> None:
    """A file named after a key in an escaped spelling: the detectors find the key in the
    name, so no report, plan, annotation, job summary, --output or baseline file prints the
    name whole; and no printed command names such a file (it could not be pasted)."""
    from kimi_secret_scan.reports import FORMATS

    repo = GitRepo(tmp_path / "repo")
    repo.commit_file("README.md", "# app\n", "start")
    keys: list[str] = []
    for n, label in enumerate(_spellings("sk-kimi-")):
        key = kimi_code_key()
        spelled = _spellings(key)[label]
        keys.append(key)
        # Each file also holds a key in its content, so the name is printed as its place.
        repo.write(f"{spelled}.py" if n % 2 else f"{spelled}.env", f"K={kimi_code_key()}\n")
    repo.add()
    windows = set().union(*map(_windows, keys))
    summary = tmp_path / "step-summary.md"
    outside = tmp_path / "out"
    outside.mkdir()

    def check(run: gitrepo.Run, *files: Path) -> None:
        text = run.all + "".join(f.read_text() for f in files if f.exists())
        shown = [w for w in windows if w in text]
        assert shown == [], (run.all, shown[:1])
        # A printed command with a redacted name in it would fail when pasted.
        assert not re.search(r"^\s*\$ .*…", text, flags=re.M), text

    env = {"GITHUB_STEP_SUMMARY": str(summary)}
    for fmt in sorted(FORMATS):
        run = run_cli("staged", "--format", fmt, cwd=repo.path, env=env)
        assert run.code == 1, run.all
        check(run, summary)
    repo.commit("names")
    # Refs named so too (a ref name cannot hold a backslash): listed as a key's refs.
    for label in ("decimal entity", "percent twice"):
        key = kimi_code_key()
        keys.append(key)
        repo.git("branch", "x/" + _spellings(key)[label])
    windows = set().union(*map(_windows, keys))
    for fmt in sorted(FORMATS):
        output = outside / f"report.{fmt}"
        for args in (["range", "HEAD~1..HEAD"], ["history"], ["files", "."]):
            summary.unlink(missing_ok=True)
            run = run_cli(*args, "--format", fmt, cwd=repo.path, env=env)
            assert run.code == 1, (args, run.all)
            check(run, summary)
        run = run_cli("history", "--format", fmt, "--output", str(output), cwd=repo.path)
        check(run, output)
    baseline = outside / "baseline.toml"
    run = run_cli("baseline", "create", "--file", str(baseline), cwd=repo.path)
    assert run.code == 0, run.all
    check(run, baseline)
    # The organisation audit: each target's JSON report, and the merged report printed.
    reports = outside / "audit"
    run = run_cli("audit", str(repo.path), "--output-dir", str(reports), "-j", "1", cwd=tmp_path)
    assert run.code == 1, run.all
    check(run, *reports.glob("*.json"))
    assert list(reports.glob("*.json"))


def test_redact_text_reads_every_spelling_the_detectors_find() -> None:
    import base64

    from kimi_secret_scan.redaction import redact_text

    key = kimi_code_key()
    spelled = [
        *_spellings(key).values(),
        base64.b64encode(key.encode()).decode(),
        f"KIMI_API_KEY={key.rsplit('-', 1)[-1]}",
        f"a\n{key[:30]}\n{key[30:]}",  # a name with line breaks, the key across them
    ]
    for text in spelled:
        shown = redact_text(f"dir/{text}.txt")
        assert [w for w in _windows(key) if w in shown] == [], (text, shown)
    # What holds no key is left as it is (no detector pass for a plain summary line).
    line = "kimi-secret-scan: no Kimi keys found; scanned 3 files (src/kimi_client_config.py)"
    assert redact_text(line) == line


def _body_spellings(key: str) -> dict[str, str]:
    """A key with escapes INSIDE its body, as a browser, html.unescape, a URL or a shell reads
    it back whole (round-8 review C #5): a 12-character first piece escapes the catch-all,
    and the detectors read none of these spellings."""
    import unicodedata

    prefix = "sk-kimi-" if key.startswith("sk-kimi-") else "sk-"
    body = key[len(prefix) :]
    head, c, tail = body[:12], body[12], body[13:]
    # Without `;`, a reference ends at the first character no digit: one before a letter.
    i = next(i for i in range(12, len(body)) if body[i + 1].isalpha())
    every = "".join(f"&#{ord(ch)};" if n % 9 == 4 else ch for n, ch in enumerate(body))
    return {
        "entity": f"{prefix}{head}&#{ord(c)};{tail}",
        "hex entity": f"{prefix}{head}&#x{ord(c):x};{tail}",
        "entity without ;": f"{prefix}{body[:i]}&#{ord(body[i])}{body[i + 1 :]}",
        "entity twice": f"{prefix}{head}&#{ord(c)};{tail[:20]}&#{ord(tail[20])};{tail[21:]}",
        "entity every 9": f"{prefix}{every}",
        "escaped entity": f"{prefix}{head}&amp;#{ord(c)};{tail}",
        "percent": f"{prefix}{head}%{ord(c):02X}{tail}",
        "percent twice": f"{prefix}{head}%25{ord(c):02X}{tail}",
        "json escape": f"{prefix}{head}\\u{ord(c):04x}{tail}",
        "shell backslash": f"{prefix}{head}\\{c}{tail}",
        "zero-width space": f"{prefix}{head}\u200b{body[12:]}",
        "fullwidth": prefix
        + head
        + "".join(chr(ord(ch) + 0xFEE0) for ch in body[12:20])
        + tail[7:],
        "padded hex entity": f"{prefix}{head}&#x0000000{ord(c):x};{tail}",
        # Python's named escape, CSS's hex escape and its blank, bash's ANSI-C quoting.
        "named escape": f"{prefix}{head}\\N{{{unicodedata.name(c)}}}{tail}",
        "css escape": f"{prefix}{head}\\{ord(c):x} {tail}",
        "ansi-c quoting": f"{prefix}{head}$'\\x{ord(c):02x}'{tail}",
        # Terminal colour inside the key, as `grep --color` or a log writes it (review h11).
        "sgr after prefix": f"{prefix}\x1b[01;31m\x1b[K{body}",
        "escaped sgr": f"{prefix}{head}\\e[1;31m{body[12:]}",
        "escaped sgr every 8": prefix
        + "".join(body[i : i + 8] + "\\033[0m" for i in range(0, len(body), 8)),
    }


def _read_back(text: str) -> list[str]:
    """`text` and what a reader decodes it to: HTML references, percent, backslash escapes
    (each up to three times), invisible characters dropped."""
    import html
    import unicodedata
    from urllib.parse import unquote

    def backslashes(s: str) -> str:
        s = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), s)
        return re.sub(r"\\(.)", r"\1", s)

    views = [text, unicodedata.normalize("NFKC", text)]
    for decode in (html.unescape, unquote, backslashes):
        view = text
        for _ in range(3):
            view = decode(view)
            views.append(view)
    views += [re.sub("[\u200b\u00ad]", "", v) for v in views]
    # As a terminal shows it: control sequences (raw, or their ESC escaped) drawn as nothing.
    csi = r"(?:\x1b|\\(?:e|0?33|x1[bB]|u001[bB]))\[[0-?]*[ -/]*[@-~]"
    return views + [re.sub(csi, "", v) for v in views]


def test_names_spelling_a_key_with_escapes_in_its_body(tmp_path: Path) -> None:
    """A file and a branch named `sk-kimi-<12>&#NN;<51>` (and other escapes inside the body):
    no report of any format, no job summary, --output, history's ref list, or baseline file
    holds the key in a spelling a reader decodes back to it."""
    from kimi_secret_scan.reports import FORMATS
    from tests.keygen import moonshot_key

    repo = GitRepo(tmp_path / "repo")
    repo.commit_file("README.md", "# app\n", "start")
    keys: list[str] = []
    labels = list(_body_spellings("sk-kimi-" + "a" * 64))
    for n, label in enumerate(labels):
        key = kimi_code_key() if n % 3 else moonshot_key()
        keys.append(key)
        # Each file also holds a key in its content, so the name is printed as its place.
        repo.write(f"d/{_body_spellings(key)[label]}.env", f"KIMI_API_KEY={kimi_code_key()}\n")
    repo.add()
    summary = tmp_path / "step-summary.md"
    outside = tmp_path / "out"
    outside.mkdir()

    def check(run: gitrepo.Run, *files: Path) -> None:
        text = run.all + "".join(f.read_text() for f in files if f.exists())
        for view in _read_back(text):
            for key in keys:
                assert key not in view, (key, run.all)
                assert key[-30:] not in view, (key, run.all)

    env = {"GITHUB_STEP_SUMMARY": str(summary)}
    for fmt in sorted(FORMATS):
        run = run_cli("staged", "--format", fmt, cwd=repo.path, env=env)
        assert run.code == 1, run.all
        check(run, summary)
    repo.commit("names")
    # Branches so named (no backslash nor space in a ref): listed as a key's refs.
    for label in ("entity", "entity twice", "entity every 9", "percent twice", "escaped entity"):
        key = kimi_code_key()
        keys.append(key)
        repo.git("branch", _body_spellings(key)[label])
    for fmt in sorted(FORMATS):
        output = outside / f"report.{fmt}"
        for args in (["range", "HEAD~1..HEAD"], ["history"], ["files", "d"]):
            summary.unlink(missing_ok=True)
            run = run_cli(*args, "--format", fmt, cwd=repo.path, env=env)
            assert run.code == 1, (args, run.all)
            check(run, summary)
        run = run_cli("history", "--format", fmt, "--output", str(output), cwd=repo.path)
        check(run, output)
    # Skipped (too large), the name is printed in the skipped list of every format.
    for fmt in sorted(FORMATS):
        run = run_cli("files", "d", "--max-file-size", "10", "--format", fmt, cwd=repo.path)
        assert "skipped" in run.all, run.all
        check(run)
    baseline = outside / "baseline.toml"
    run = run_cli("baseline", "create", "--file", str(baseline), cwd=repo.path)
    assert run.code == 0, run.all
    check(run, baseline)
    run = run_cli("files", "d", "--baseline", str(baseline), cwd=repo.path)
    assert run.code == 0, run.all
    # The organisation audit: each target's JSON report, and the merged report printed.
    reports = outside / "audit"
    run = run_cli("audit", str(repo.path), "--output-dir", str(reports), "-j", "1", cwd=tmp_path)
    assert run.code == 1, run.all
    assert list(reports.glob("*.json"))
    check(run, *reports.glob("*.json"))


def test_redact_text_reads_escapes_inside_a_body() -> None:
    from kimi_secret_scan.redaction import redact_text

    for _ in range(20):
        key = kimi_code_key()
        for label, spelled in _body_spellings(key).items():
            for text in (f"d/{spelled}.bin", f"refs/heads/{spelled}", json_escaped(spelled)):
                shown = redact_text(text)
                assert all(key not in view for view in _read_back(shown)), (label, shown)
                assert key[-30:] not in shown, (label, shown)
    # Escapes in ordinary names are left as they are.
    for line in (
        "scanned src/a&amp;b/kimi_client_config%20v2.py",
        "skipped docs/R&#233;sum&#233;-kimi-notes-for-the-moonshot-integration.md",
        "commit 0123456789abcdef0123456789abcdef01234567 (kimi\\u00e9)",
    ):
        assert redact_text(line) == line


def json_escaped(text: str) -> str:
    import json

    return json.dumps(text)[1:-1]


def _apply_per_spelling(hidden: Hidden, text: str) -> str:
    """Hidden.apply as it was: the whole text searched and replaced once per spelling."""
    for spelling in sorted(hidden.spellings, key=len, reverse=True):
        if spelling in text:
            text = text.replace(spelling, hidden.spellings[spelling])
    if hidden.fragments:
        text = redaction._ALNUM_RUN.sub(hidden._hide, text)
    return text


def test_hidden_apply_in_one_pass_hides_as_one_replace_per_spelling() -> None:
    """A report's net hides what it hid when it searched the report once per spelling, in
    every format's escaping of every escaped name (review h9b #7 made it one pass)."""
    import html
    import json

    from tests.keygen import moonshot_key

    names: list[str] = []
    for n in range(3):
        key = kimi_code_key() if n % 2 else moonshot_key()
        names += [f"d/{spelled}.env" for spelled in _body_spellings(key).values()]
        names.append(f"d/sk\\u002d{key[3:]}.txt")
        names.append(f"d/sk&#45;{key[3:]}-{n}.txt")
    hidden = Hidden()
    for name in names:
        hidden.add_text(name)
    assert len(hidden.spellings) > 50
    report = "\n".join(
        f"{name}\t{json.dumps(name)}\t{html.escape(name)}\t{name.replace('%', '%25')}"
        for name in names * 2
    )
    assert hidden.apply(report) == _apply_per_spelling(hidden, report)


class _CountedStr(str):
    """A report that counts the whole-text searches made in it."""

    searches = 0

    def __contains__(self, part: object) -> bool:
        _CountedStr.searches += 1
        return super().__contains__(part)  # type: ignore[operator]

    def replace(self, *args: Any, **kwargs: Any) -> str:
        _CountedStr.searches += 1
        return super().replace(*args, **kwargs)

    def find(self, *args: Any, **kwargs: Any) -> int:
        _CountedStr.searches += 1
        return super().find(*args, **kwargs)


def test_a_report_with_many_hidden_spellings_is_read_once() -> None:
    """Thousands of names each spelling a key (a hostile pull request): the report is read
    once, not once per spelling (that took 98 s for 12,000 names), and each is hidden."""
    hidden = Hidden()
    keys = [kimi_code_key() for _ in range(2000)]
    names = [f"d/sk&#45;{key[3:12]}&#97;{key[13:]}.env" for key in keys]
    for name in names:
        hidden.add_text(name)
    assert len(hidden.spellings) >= 2000
    _CountedStr.searches = 0
    shown = hidden.apply(_CountedStr("\n".join(names)))
    assert _CountedStr.searches <= 1
    for key in keys:
        assert key[13:] not in shown


def test_a_hidden_name_with_backslashes_leaves_the_json_report_valid(tmp_path: Path) -> None:
    """A name's hidden run holding a backslash (`sk&#97;%41\\x41kimi…`): its redacted form is
    escaped as the spelling it replaces, so the JSON and SARIF reports still parse (the
    redacted `%41\\…` broke the JSON string: review h9b's report_perf.sh output)."""
    import json

    from tests.keygen import moonshot_key

    folder = tmp_path / "d"
    folder.mkdir()
    name = ("sk&#97;%41\\x41kimi" * 12)[:200] + "00001.env"
    (folder / name).write_text(f"KIMI_API_KEY={moonshot_key()}\n")
    for fmt in ("json", "sarif"):
        run = run_cli("files", "--format", fmt, str(folder), cwd=tmp_path)
        assert run.code == 1, run.all
        json.loads(run.out)


@pytest.mark.parametrize("digit", "0123456789")
def test_a_shell_backslash_before_a_digit_of_a_key_hides_the_key(digit: str) -> None:
    """`sk-<12>\\7<35>`: a shell reads `7`, C reads BEL. Taken for a break between two short
    runs, it left the key's last 35 characters printed whole (a CI failure of the test above
    whenever the random key held a digit at that place)."""
    from tests.keygen import kimi_code_key, moonshot_key

    for key in (moonshot_key(), kimi_code_key()):
        prefix = "sk-kimi-" if key.startswith("sk-kimi-") else "sk-"
        body = key[len(prefix) :]
        real = f"{prefix}{body[:12]}{digit}{body[13:]}"
        shown = redaction.redact_text(f"d/{prefix}{body[:12]}\\{digit}{body[13:]}.env")
        for view in _read_back(shown):
            assert real not in view, shown
            assert real[-30:] not in view, shown
