"""Project configuration: where it is found, what each key does (and does not) allow, and
that every mistake in it is an error naming the file and the key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kimi_secret_scan.config import Config, load
from kimi_secret_scan.content import Content
from kimi_secret_scan.detectors import detect
from kimi_secret_scan.errors import ScanError
from kimi_secret_scan.filters.config_rules import config_filter
from kimi_secret_scan.finding import sha256_hex
from kimi_secret_scan.globs import compile_glob, excluded
from tests.gitrepo import GitRepo, run_cli
from tests.keygen import kimi_code_key, moonshot_key, other_sk_token


@pytest.mark.parametrize(
    ("patterns", "path", "expected"),
    [
        (["*.lock"], "deps/poetry.lock", True),
        (["*.lock"], "deps/poetry.locked", False),
        (["fixtures/"], "tests/fixtures/keys.py", True),
        (["fixtures/"], "tests/fixtures", False),  # a file named fixtures is not a directory
        (["/fixtures"], "tests/fixtures/keys.py", False),  # anchored to the root
        (["/fixtures"], "fixtures/keys.py", True),
        (["tests/*.py"], "tests/a.py", True),
        (["tests/*.py"], "tests/deep/a.py", False),
        (["tests/**/*.py"], "tests/deep/er/a.py", True),
        (["**/docs"], "a/b/docs/x.md", True),
        (["docs/**"], "docs/x/y.md", True),
        (["key?.txt"], "key1.txt", True),
        (["key[0-9].txt"], "keyA.txt", False),
        (["key[!0-9].txt"], "keyA.txt", True),
        (["tests/", "!tests/live/"], "tests/live/k.py", False),
        (["tests/", "!tests/live/"], "tests/unit/k.py", True),
    ],
)
def test_gitignore_style_globs(patterns: list[str], path: str, expected: bool) -> None:
    assert excluded(path, [compile_glob(p) for p in patterns]) is expected


def kept(config: Config, text: str, path: str = "app.py") -> list[str]:
    content = Content(path=path, data=text.encode())
    keep = config_filter(config)
    findings = detect(content, config.settings)
    return [f.secret for f in (keep(content, findings) if keep else findings)]


def write_config(tmp_path: Path, text: str, name: str = ".kimi-secret-scan.toml") -> Config:
    (tmp_path / name).write_text(text, encoding="utf-8")
    return load(tmp_path)


def test_exclude_hides_that_path_only(tmp_path: Path) -> None:
    config = write_config(tmp_path, 'exclude = ["tests/fixtures/"]\n')
    key = kimi_code_key()
    assert kept(config, f'K = "{key}"\n', "tests/fixtures/k.py") == []
    assert kept(config, f'K = "{key}"\n', "tests/k.py") == [key]


def test_allow_values_hide_that_value_only(tmp_path: Path) -> None:
    key, other = kimi_code_key(), kimi_code_key()
    config = write_config(tmp_path, f'allow-values = ["{key}"]\n')
    assert kept(config, f'K = ["{key}", "{other}"]\n') == [other]


def test_allow_regexes_match_the_key(tmp_path: Path) -> None:
    key, other = kimi_code_key(), kimi_code_key()
    config = write_config(tmp_path, f"allow-regexes = ['^{key[:20]}']\n")
    assert kept(config, f'K = ["{key}", "{other}"]\n') == [other]


def test_disable_rules_hides_that_rule_only(tmp_path: Path) -> None:
    code, platform = kimi_code_key(), moonshot_key()
    config = write_config(tmp_path, 'disable-rules = ["moonshot-api-key"]\n')
    assert kept(config, f'KIMI = ["{code}", "{platform}"]\n') == [code]


def test_variable_names_and_context_words_extend_detection(tmp_path: Path) -> None:
    token = other_sk_token()
    text = f'ACME_LLM_TOKEN = "{token}"\n'
    assert kept(Config(root=tmp_path), text) == []
    config = write_config(tmp_path, 'variable-names = ["ACME_LLM_TOKEN"]\n')
    assert kept(config, text) == [token]
    key = moonshot_key()
    content = Content(path="a.py", data=f'llm = "{key}"  # acmeproxy\n'.encode())
    assert [str(f.confidence) for f in detect(content)] == ["medium"]
    config = write_config(tmp_path, 'context-words = ["acmeproxy"]\n')
    assert [str(f.confidence) for f in detect(content, config.settings)] == ["high"]


def test_dedicated_file_wins_over_pyproject_and_config_flag_wins_over_both(
    tmp_path: Path,
) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n[tool.kimi-secret-scan]\nformat = "json"\n', encoding="utf-8"
    )
    assert load(tmp_path).format == "json"
    (tmp_path / ".kimi-secret-scan.toml").write_text('min-confidence = "high"\n')
    config = load(tmp_path)
    assert config.format is None and str(config.min_confidence) == "high"
    (tmp_path / "other.toml").write_text('format = "text"\n')
    assert load(tmp_path, str(tmp_path / "other.toml")).format == "text"
    assert load(tmp_path, use_config=False) == Config(root=tmp_path)


def test_pyproject_without_the_table_is_not_a_config(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.ruff]\nline-length = 100\n")
    assert load(tmp_path) == Config(root=tmp_path)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("exclud = ['x']\n", ["exclud", "unknown key"]),
        ("exclude = 'tests/'\n", ["exclude", "list of strings"]),
        ("exclude = ['[abc']\n", ["exclude", "invalid pattern"]),
        ("allow-regexes = ['(unclosed']\n", ["allow-regexes", "invalid regex"]),
        ("disable-rules = ['openai']\n", ["disable-rules", "openai", "moonshot-api-key"]),
        ("min-confidence = 'certain'\n", ["min-confidence", "certain"]),
        ("format = 'xml'\n", ["format", "xml"]),
        ("inline-allow = 'no'\n", ["inline-allow", "true or false"]),
        ("baseline = 3\n", ["baseline", "string"]),
        ("context-words = ['']\n", ["context-words", "empty"]),
        ("exclude = [\n", ["invalid TOML"]),
    ],
)
def test_invalid_config_names_file_and_key(tmp_path: Path, text: str, words: list[str]) -> None:
    (tmp_path / ".kimi-secret-scan.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ScanError) as info:
        load(tmp_path)
    message = str(info.value)
    assert ".kimi-secret-scan.toml" in message
    assert all(w in message for w in words), message


def test_invalid_pyproject_table_names_the_table(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.kimi-secret-scan]\nfail = true\n")
    with pytest.raises(ScanError, match=r"pyproject\.toml: \[tool\.kimi-secret-scan\] fail"):
        load(tmp_path)


def test_cli_config_errors_exit_2_for_every_command(repo: GitRepo) -> None:
    repo.write(".kimi-secret-scan.toml", "colour = 'red'\n")
    repo.write("a.py", "x = 1\n")
    repo.add()
    for args in (["files", "."], ["staged"], ["baseline", "create"]):
        run = run_cli(*args, cwd=repo.path)
        assert run.code == 2, (args, run.all)
        assert ".kimi-secret-scan.toml" in run.err and "colour" in run.err
        assert len(run.err.strip().splitlines()) == 1
    assert run_cli("files", ".", "--no-config", cwd=repo.path).code == 0
    run = run_cli("files", ".", "--config", "nope.toml", cwd=repo.path)
    assert run.code == 2 and "nope.toml" in run.err


def test_cli_config_applies_from_a_subdirectory(repo: GitRepo) -> None:
    key, other = kimi_code_key(), kimi_code_key()
    repo.write("pyproject.toml", '[tool.kimi-secret-scan]\nexclude = ["fixtures/"]\n')
    repo.write("pkg/fixtures/k.py", f'K = "{key}"\n')
    repo.write("pkg/real.py", f'K = "{other}"\n')
    run = run_cli("files", ".", cwd=repo.path / "pkg")
    assert run.code == 1 and "real.py" in run.out and "fixtures" not in run.out


def test_min_confidence_reports_but_does_not_fail(repo: GitRepo) -> None:
    medium = moonshot_key()  # no Kimi context nearby: medium confidence
    repo.write("llm.py", f'token = "{medium}"\n')
    assert run_cli("files", ".", cwd=repo.path).code == 1
    repo.write(".kimi-secret-scan.toml", 'min-confidence = "high"\n')
    run = run_cli("files", ".", cwd=repo.path)
    assert run.code == 0 and "llm.py:1:" in run.out and "below the minimum confidence" in run.err
    # The command line wins over the configuration.
    assert run_cli("files", ".", "--min-confidence", "medium", cwd=repo.path).code == 1
    # A high-confidence key still fails the run.
    repo.write("kimi.py", f'K = "{kimi_code_key()}"\n')
    assert run_cli("files", ".", cwd=repo.path).code == 1


def test_default_format_and_baseline_path_from_config(repo: GitRepo) -> None:
    key = kimi_code_key()
    repo.write("a.py", f'K = "{key}"\n')
    repo.write(
        "pyproject.toml",
        '[tool.kimi-secret-scan]\nformat = "json"\nbaseline = "security/known-keys.toml"\n',
    )
    (repo.path / "security").mkdir()
    run = run_cli("files", ".", cwd=repo.path)
    assert run.code == 1 and json.loads(run.out)["findings"][0]["secret_sha256"] == sha256_hex(key)
    assert run_cli("files", ".", "--format", "text", cwd=repo.path).out.startswith("a.py:1:")
    assert run_cli("baseline", "create", cwd=repo.path).code == 0
    assert (repo.path / "security" / "known-keys.toml").is_file()
    assert run_cli("files", ".", cwd=repo.path).code == 0
