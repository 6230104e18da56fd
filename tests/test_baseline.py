"""The baseline: keyed on the key's SHA-256, never on lines; hides what it lists and only that."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from kimi_secret_scan import baseline as bl
from kimi_secret_scan.finding import sha256_hex
from tests.gitrepo import GitRepo, run_cli
from tests.keygen import kimi_code_key, moonshot_key

BASELINE = ".kimi-secret-scan-baseline.toml"


def entry(key: str, path: str | None = "a.py", **kw: str) -> bl.Entry:
    return bl.Entry(
        sha256=sha256_hex(key), rule="kimi-code-api-key", secret="sk-kimi-…", path=path, **kw
    )


def test_file_is_sorted_deterministic_and_holds_no_key() -> None:
    keys = [kimi_code_key() for _ in range(5)]
    entries = [entry(k, p) for k in keys for p in ("b.py", "a.py", None)]
    text = bl.dumps(bl.Baseline(entries=tuple(entries), source="files"))
    again = bl.dumps(bl.Baseline(entries=tuple(reversed(entries)), source="files"))
    assert text == again
    assert all(k not in text for k in keys)
    assert "20" not in text.split("version")[0]  # no date in the header
    data = tomllib.loads(text)
    shas = [(e["sha256"], e.get("path", "")) for e in data["known"]]
    assert shas == sorted(shas) and len(shas) == 15


def test_reason_round_trips_through_toml(tmp_path: Path) -> None:
    reason = 'leaked in "PR #12"\\ rotated\n\tby Zoë 🔑 \x01\x7f'
    path = tmp_path / "b.toml"
    bl.write(bl.Baseline(entries=(entry(kimi_code_key(), reason=reason, status="revoked"),)), path)
    loaded = bl.load(path)
    assert loaded.entries[0].status == "revoked"
    assert loaded.entries[0].reason == reason


def test_branches_adding_entries_merge_without_conflict(repo: GitRepo) -> None:
    keys = sorted((kimi_code_key() for _ in range(5)), key=sha256_hex)
    base = bl.Baseline(entries=tuple(entry(k) for k in keys[0::2]), source="files")
    repo.commit_file(BASELINE, bl.dumps(base), "baseline")
    repo.git("checkout", "-q", "-b", "one")
    repo.commit_file(
        BASELINE, bl.dumps(bl.Baseline(entries=(*base.entries, entry(keys[1])), source="files"))
    )
    repo.git("checkout", "-q", "main")
    repo.commit_file(
        BASELINE, bl.dumps(bl.Baseline(entries=(*base.entries, entry(keys[3])), source="files"))
    )
    repo.git("merge", "-q", "--no-edit", "one")  # raises on a conflict
    merged = (repo.path / BASELINE).read_text(encoding="utf-8")
    assert merged == bl.dumps(bl.Baseline(entries=tuple(entry(k) for k in keys), source="files"))


@pytest.fixture
def project(repo: GitRepo) -> tuple[GitRepo, str]:
    key = moonshot_key()
    repo.commit_file("app.py", f'import os\nMOONSHOT_API_KEY = "{key}"\n', "add key")
    return repo, key


def test_create_then_scans_are_clean_and_new_keys_still_found(project: tuple[GitRepo, str]) -> None:
    repo, key = project
    run = run_cli("baseline", "create", cwd=repo.path)
    assert run.code == 0, run.all
    text = (repo.path / BASELINE).read_text(encoding="utf-8")
    assert key not in text and sha256_hex(key) in text and 'path = "app.py"' in text
    clean = run_cli("files", ".", cwd=repo.path)
    # Clean, and says what it allowed: a suppressed key never looks like a plain pass.
    assert clean.code == 0 and "1 allowed by baseline, comment or config" in clean.out
    # A different key on the very same line is found.
    other = moonshot_key()
    repo.write("app.py", f'import os\nMOONSHOT_API_KEY = "{key}"; KIMI = "{other}"\n')
    run = run_cli("files", ".", "--format", "json", cwd=repo.path)
    assert run.code == 1 and sha256_hex(other) in run.out and sha256_hex(key) not in run.out
    assert json.loads(run.out)["stats"]["suppressed"] == 1
    # --no-baseline shows both.
    run = run_cli("files", ".", "--no-baseline", "--format", "json", cwd=repo.path)
    assert run.code == 1 and sha256_hex(key) in run.out


def test_moved_line_stays_suppressed_and_update_does_not_churn(
    project: tuple[GitRepo, str],
) -> None:
    repo, key = project
    assert run_cli("baseline", "create", cwd=repo.path).code == 0
    before = (repo.path / BASELINE).read_bytes()
    repo.write("app.py", "import os\n\n\n# moved down\n\n" + f'MOONSHOT_API_KEY = "{key}"\n')
    assert run_cli("files", ".", cwd=repo.path).code == 0
    assert run_cli("baseline", "update", cwd=repo.path).code == 0
    assert (repo.path / BASELINE).read_bytes() == before


def test_path_scoped_entry_does_not_hide_the_key_elsewhere(project: tuple[GitRepo, str]) -> None:
    repo, key = project
    assert run_cli("baseline", "create", cwd=repo.path).code == 0
    repo.write("copy/settings.py", f'MOONSHOT_API_KEY = "{key}"\n')
    run = run_cli("files", ".", cwd=repo.path)
    assert run.code == 1 and "copy/settings.py:1:" in run.out and "app.py:2" not in run.out
    # From a subdirectory, files names paths from there; the entry still applies.
    run = run_cli("files", "..", cwd=repo.path / "copy")
    assert run.code == 1 and "app.py:2" not in run.out
    # An any-path entry acknowledges the key everywhere.
    run = run_cli("baseline", "create", "--force", "--any-path", cwd=repo.path)
    assert run.code == 0 and "path =" not in (repo.path / BASELINE).read_text(encoding="utf-8")
    assert run_cli("files", ".", cwd=repo.path).code == 0


def test_staged_scan_uses_the_baseline(project: tuple[GitRepo, str]) -> None:
    repo, key = project
    assert run_cli("baseline", "create", cwd=repo.path).code == 0
    repo.write("app.py", f'import os\nMOONSHOT_API_KEY = "{key}"\nBACKUP = "{key}"\n')
    repo.add()
    assert run_cli("staged", cwd=repo.path).code == 0
    (repo.path / "sub").mkdir()
    assert run_cli("staged", cwd=repo.path / "sub").code == 0
    new = moonshot_key()
    repo.write("app.py", f'import os\nMOONSHOT_API_KEY = "{key}"\nNEW = "{new}"\n')
    repo.add()
    run = run_cli("staged", cwd=repo.path)
    assert run.code == 1 and "app.py:3:" in run.out


def test_update_adds_new_keeps_status_and_drops_gone(project: tuple[GitRepo, str]) -> None:
    repo, key = project
    run = run_cli(
        "baseline", "create", "--status", "revoked", "--reason", "rotated 2026-01", cwd=repo.path
    )
    assert run.code == 0
    new = kimi_code_key()
    repo.write("app.py", f'KIMI_CODE = "{new}"\n')  # the old key is gone
    run = run_cli("baseline", "audit", cwd=repo.path)
    assert run.code == 1 and "1 stale entry of 1" in run.out and "1 finding not in" in run.out
    assert key not in run.all
    run = run_cli("baseline", "update", cwd=repo.path)
    assert run.code == 0 and "1 added, 0 kept, 1 dropped" in run.out
    loaded = bl.load(repo.path / BASELINE)
    assert [(e.sha256, e.status) for e in loaded.entries] == [(sha256_hex(new), "unreviewed")]
    assert run_cli("baseline", "audit", cwd=repo.path).code == 0
    # A kept entry keeps its status and reason.
    repo.write("app.py", f'KIMI_CODE = "{new}"\nK2 = "{key}"  # moonshot\n')
    (repo.path / BASELINE).write_text(
        (repo.path / BASELINE)
        .read_text(encoding="utf-8")
        .replace('status = "unreviewed"', 'status = "test-key"\nreason = "fixture"'),
        encoding="utf-8",
    )
    assert run_cli("baseline", "update", cwd=repo.path).code == 0
    by_sha = {e.sha256: e for e in bl.load(repo.path / BASELINE).entries}
    assert by_sha[sha256_hex(new)].status == "test-key"
    assert by_sha[sha256_hex(new)].reason == "fixture"
    assert by_sha[sha256_hex(key)].status == "unreviewed"


def test_create_from_another_command_with_its_arguments(repo: GitRepo) -> None:
    key, other = kimi_code_key(), kimi_code_key()
    repo.commit_file("tests/fixture.py", f'K = "{key}"\n')
    repo.commit_file("src/app.py", f'K = "{other}"\n')
    run = run_cli("baseline", "create", "--from", "files", "--", "tests", cwd=repo.path)
    assert run.code == 0 and "1 entry" in run.out
    run = run_cli("files", ".", cwd=repo.path)
    assert run.code == 1 and "src/app.py" in run.out and "tests/fixture.py" not in run.out
    # --from staged: what the next commit adds.
    staged = kimi_code_key()
    repo.write("src/new.py", f'K = "{staged}"\n')
    repo.add()
    run = run_cli(
        "baseline", "create", "--force", "--from", "staged", "--file", "b.toml", cwd=repo.path
    )
    assert run.code == 0
    assert bl.load(repo.path / "b.toml").source == "staged"
    assert [e.path for e in bl.load(repo.path / "b.toml").entries] == ["src/new.py"]
    assert run_cli("staged", "--baseline", "b.toml", cwd=repo.path).code == 0


def test_errors_exit_2_with_one_line(project: tuple[GitRepo, str]) -> None:
    repo, _ = project
    run = run_cli("baseline", "create", "--from", "nosuch", cwd=repo.path)
    assert run.code == 2 and "nosuch" in run.err and "files" in run.err
    run = run_cli("files", ".", "--baseline", "missing.toml", cwd=repo.path)
    assert run.code == 2 and "missing.toml" in run.err
    assert run_cli("baseline", "create", cwd=repo.path).code == 0
    run = run_cli("baseline", "create", cwd=repo.path)
    assert run.code == 2 and "exists" in run.err
    run = run_cli(
        "baseline", "create", "--force", "--from", "files", "--", "nowhere", cwd=repo.path
    )
    assert run.code == 2 and "nowhere" in run.err
    path = repo.path / BASELINE
    text = path.read_text(encoding="utf-8")
    for bad, words in (
        (text.replace('status = "unreviewed"', 'status = "gone"'), ["status", "gone"]),
        (text.replace('sha256 = "', 'sha256 = "zz'), ["sha256"]),
        (text + "colour = 'red'\n", ["colour", "unknown key"]),
        (text + "[[known]\n", ["invalid TOML"]),
    ):
        path.write_text(bad, encoding="utf-8")
        run = run_cli("files", ".", cwd=repo.path)
        assert run.code == 2 and BASELINE in run.err, run.all
        assert all(w in run.err for w in words), run.err
        assert len(run.err.strip().splitlines()) == 1 and "Traceback" not in run.err


def test_baseline_file_itself_scans_clean(project: tuple[GitRepo, str]) -> None:
    repo, _ = project
    repo.commit_file("k.py", f'MOONSHOT = "{moonshot_key()}"\nK = "{kimi_code_key()}"\n')
    assert run_cli("baseline", "create", cwd=repo.path).code == 0
    run = run_cli("files", BASELINE, "--no-baseline", cwd=repo.path)
    assert run.code == 0, run.out


def test_from_names_any_scanning_command_registered_later(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--from history` (and range, ci, …) work as soon as those commands are registered:
    here a command added at run time, built like every scanning command."""
    import click
    from click.testing import CliRunner

    from kimi_secret_scan.cli import ScanOptions, handle_errors, main, scan_options
    from kimi_secret_scan.content import Content

    key = kimi_code_key()

    @click.command("later")
    @click.argument("name")
    @scan_options
    @handle_errors
    def later(name: str, opts: ScanOptions) -> int:
        items = [Content(path=f"{name}.py", data=f'K = "{key}"\n'.encode())]
        return opts.report(opts.scan("later", "a later command", items))

    monkeypatch.setitem(main.commands, "later", later)
    monkeypatch.chdir(repo.path)
    runner = CliRunner()
    result = runner.invoke(main, ["baseline", "create", "--from", "later", "--", "cfg"])
    assert result.exit_code == 0, result.output
    loaded = bl.load(repo.path / BASELINE)
    assert loaded.source == "later"
    assert [(e.sha256, e.path) for e in loaded.entries] == [(sha256_hex(key), "cfg.py")]
    assert runner.invoke(main, ["later", "cfg"]).exit_code == 0
    assert runner.invoke(main, ["later", "other"]).exit_code == 1


@pytest.mark.parametrize("how", ["absolute", "dotdot", "symlinked directory"])
def test_repository_config_cannot_aim_baseline_writes_outside_it(
    project: tuple[GitRepo, str], tmp_path: Path, how: str
) -> None:
    # A hostile repository's `baseline` setting once made `baseline create` create any file
    # (~/.bash_profile), holding path names the repository chose (`$(…)` runs when sourced).
    repo, _key = project
    outside = tmp_path / "outside"
    outside.mkdir()
    named = {
        "absolute": str(outside / "victim.toml"),
        "dotdot": "../outside/victim.toml",
        "symlinked directory": "lnk/victim.toml",
    }[how]
    (repo.path / "lnk").symlink_to(outside)
    (repo.path / ".kimi-secret-scan.toml").write_text(f"baseline = {json.dumps(named)}\n")
    for args in (
        ["baseline", "create"],
        ["baseline", "update"],
        ["baseline", "add", "--hash", "0" * 64, "--reason", "x"],
    ):
        run = run_cli(*args, cwd=repo.path)
        assert run.code == 2, run.all
        assert "outside the repository" in run.err
        assert not (outside / "victim.toml").exists()
    # Named by the user, it is written.
    run = run_cli("baseline", "create", "--file", str(outside / "mine.toml"), cwd=repo.path)
    assert run.code == 0, run.all
    assert (outside / "mine.toml").is_file()
    # Inside the repository, as before.
    (repo.path / ".kimi-secret-scan.toml").write_text('baseline = "sub/b.toml"\n')
    (repo.path / "sub").mkdir()
    assert run_cli("baseline", "create", cwd=repo.path).code == 0
    assert (repo.path / "sub" / "b.toml").is_file()


def test_a_path_named_after_a_key_is_written_redacted_and_still_matches(tmp_path: Path) -> None:
    """The baseline file never holds a key, not even in a path (hostile review 2); the
    redacted path still matches the file it names, and only that file."""
    repo = GitRepo(tmp_path / "repo")
    name_key, content_key = kimi_code_key(), kimi_code_key()
    repo.commit_file(f"conf/{name_key}.env", f"KIMI_API_KEY={content_key}\n")
    run = run_cli("baseline", "create", cwd=repo.path)
    assert run.code == 0, run.all
    text = (repo.path / ".kimi-secret-scan-baseline.toml").read_text(encoding="utf-8")
    assert name_key not in text and content_key not in text
    assert run_cli("files", ".", cwd=repo.path).code == 0  # the known key is allowed there
    repo.write("other.env", f"KIMI_API_KEY={content_key}\n")
    assert run_cli("files", ".", cwd=repo.path).code == 1  # and not in another file
