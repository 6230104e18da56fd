"""`kimi-secret-scan history` edge cases: empty and bare repositories, size limits, progress,
errors, and this project's own history."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from kimi_secret_scan.finding import sha256_hex
from tests import keygen
from tests.gitrepo import GitRepo, git, run_cli

PROJECT = Path(__file__).resolve().parent.parent


def test_repository_without_commits_is_clean(repo: GitRepo) -> None:
    run = run_cli("history", cwd=repo.path)
    assert run.code == 0, run.all
    assert "nothing to scan: no commits yet" in run.out


def test_not_a_repository_is_an_error(tmp_path: Path) -> None:
    run = run_cli("history", "--repo", str(tmp_path), cwd=tmp_path)
    assert run.code == 2
    assert run.err.startswith("kimi-secret-scan: error:")
    assert "Traceback" not in run.err


def test_unknown_rev_is_an_error(repo: GitRepo) -> None:
    repo.commit_file("a.txt", "a\n")
    run = run_cli("history", "no-such-branch", cwd=repo.path)
    assert run.code == 2
    assert "rev-list failed" in run.err


def test_bare_clone_is_audited(repo: GitRepo, tmp_path: Path) -> None:
    key = keygen.kimi_code_key()
    repo.commit_file("cfg.yaml", f"api_key: {key}\n")
    bare = tmp_path / "bare.git"
    git(tmp_path, "clone", "-q", "--mirror", str(repo.path), str(bare))
    run = run_cli("history", "--repo", str(bare), "--format", "json", cwd=tmp_path)
    assert run.code == 1, run.all
    data = json.loads(run.out)
    (group,) = data["groups"]
    assert group["refs"] == ["refs/heads/main"]
    assert group["in_head"] is True
    assert group["head_paths"] == ["cfg.yaml"]


def test_blob_over_the_size_limit_is_skipped_and_said(repo: GitRepo) -> None:
    repo.commit_file("big.bin", "x" * 5000 + f"\nkimi {keygen.moonshot_key()}\n")
    run = run_cli("history", "--max-file-size", "1000", cwd=repo.path)
    assert run.code == 0
    assert "skipped big.bin" in run.out
    assert "larger than the size limit" in run.out


def test_progress_goes_to_stderr_only_when_asked_or_on_a_terminal(repo: GitRepo) -> None:
    repo.commit_file("a.txt", "a\n")
    quiet = run_cli("history", cwd=repo.path)
    assert "objects" not in quiet.err  # stderr is a pipe here: no progress
    shown = run_cli("history", "--progress", cwd=repo.path)
    assert shown.code == 0
    assert "objects" not in shown.out
    assert "objects, " in shown.err and "MB/s" in shown.err


def test_this_project_history_is_clean() -> None:
    run = run_cli("history", "--repo", str(PROJECT), cwd=PROJECT)
    assert run.code == 0, run.all


def test_shallow_clone_is_said(repo: GitRepo, tmp_path: Path) -> None:
    repo.commit_file("a.txt", "a\n")
    repo.commit_file("b.txt", "b\n")
    shallow = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{repo.path}", str(shallow))
    run = run_cli("history", cwd=shallow)
    # The history before the boundary was not read: never a green run (issue 12).
    assert run.code == 2, run.all
    assert "skipped (shallow clone)" in run.out
    assert "`git fetch --unshallow`" in run.out and "--allow-shallow" in run.out
    accepted = run_cli("history", "--allow-shallow", cwd=shallow)
    assert accepted.code == 0, accepted.all
    assert "skipped (shallow clone)" in accepted.out
    # Accepted, so not told to pass the option it passed.
    assert "pass --allow-shallow" not in accepted.out
    assert "only what is here was audited (--allow-shallow)" in accepted.out


def test_file_name_and_author_not_in_utf8(repo: GitRepo) -> None:
    name = os.fsdecode(b"caf\xe9.env")  # Latin-1, as old repositories hold them
    repo.write(name, f"MOONSHOT_API_KEY={keygen.moonshot_key()}\n")
    repo.add()
    repo.git(
        "-c",
        "i18n.commitEncoding=latin1",
        "commit",
        "-q",
        "-m",
        "x",
        "--author",
        os.fsdecode(b"Jos\xe9 <jose@example.com>"),
    )
    run = run_cli("history", "--format", "json", cwd=repo.path)
    assert run.code == 1, run.all
    (occ,) = json.loads(run.out)["findings"]
    assert occ["path"] == "caf\ufffd.env"
    assert occ["author"] == "Jos\u00e9 <jose@example.com>"  # git log re-encodes to UTF-8


def test_revision_that_looks_like_an_option_is_refused(repo: GitRepo) -> None:
    repo.commit_file("a.txt", "a\n")
    run = run_cli("history", "--", "--output=written.txt", cwd=repo.path)
    assert run.code == 2
    assert "cannot start with '-'" in run.err
    assert not (repo.path / "written.txt").exists()


def test_min_confidence_reports_without_failing(repo: GitRepo) -> None:
    repo.commit_file("notes.txt", f"token {keygen.moonshot_key()}\n")  # no Kimi context
    run = run_cli("history", "--min-confidence", "high", cwd=repo.path)
    assert run.code == 0, run.all
    assert "History audit: 1 distinct key leaked" in run.out
    assert "below the minimum confidence (high)" in run.err
    assert run_cli("history", cwd=repo.path).code == 1


def test_history_reads_names_and_identities_as_the_gates_do(tmp_path: Path) -> None:
    """A key in an author's email, a branch name, a file name or a tagger is found by the
    audit of the whole history, as the gates find it in a push (issue 11)."""
    email, branch, name, tagger = (keygen.kimi_code_key() for _ in range(4))
    repo = GitRepo(tmp_path / "r")
    repo.git("commit", "-q", "--allow-empty", "-m", "a", f"--author=Eve <{email}@example.com>")
    repo.git("branch", f"feature/{branch}")
    repo.commit_file(f"notes/{name}.txt", "hello\n", "b")
    subprocess.run(  # the tagger is the committer identity, which the tests set by env
        ["git", "tag", "-a", "v1", "-m", "release"],
        cwd=repo.path,
        env={**os.environ, "GIT_COMMITTER_EMAIL": f"{tagger}@example.com"},
        check=True,
    )
    run = run_cli("history", "--format", "json", cwd=repo.path)
    assert run.code == 1, run.all
    places = {f["secret_sha256"]: f["path"] for f in json.loads(run.out)["findings"]}
    assert places[sha256_hex(branch)] == "ref names"
    assert places[sha256_hex(name)] == "path names"
    assert places[sha256_hex(email)].startswith("author of ")
    assert places[sha256_hex(tagger)] == "tagger of v1"
    text = run_cli("history", cwd=repo.path)
    assert "in the name of a ref" in text.out and "in the name of a file" in text.out
    for key in (email, branch, name, tagger):
        assert key not in run.all + text.all


def test_unreachable_objects_are_said_when_the_history_is_stored_elsewhere(
    tmp_path: Path,
) -> None:
    """A bare repository that borrows its history from another (objects/info/alternates)
    and holds one object of its own that no ref reaches: `count-objects` counts only its
    own objects (1, fewer than the history's), so every object is listed to find it."""
    origin = GitRepo(tmp_path / "origin.git", bare=True)
    work = GitRepo(tmp_path / "work")
    work.git("remote", "add", "origin", str(origin.path))
    work.commit_file("README.md", "hi\n", "start")
    work.commit_file("b.txt", "two\n", "more")
    work.git("push", "-q", "origin", "HEAD:refs/heads/main")
    server = GitRepo(tmp_path / "server.git", bare=True)
    (server.path / "objects" / "info" / "alternates").write_text(
        str(origin.path / "objects") + "\n", encoding="utf-8"
    )
    server.git("update-ref", "refs/heads/main", work.head())
    server.git("hash-object", "-w", "--stdin", input=b"left behind by a force-push\n")
    assert server.git("count-objects", "-v").splitlines()[0] == "count: 1"
    run = run_cli("history", "--repo", str(server.path), cwd=tmp_path)
    assert run.code == 0, run.all
    assert "skipped unreachable objects: 1 objects are stored here" in run.out, run.out


def test_a_server_after_a_force_push_says_what_it_still_stores(tmp_path: Path) -> None:
    """A force-push removes a key from every ref, but the bare repository keeps the old
    objects and serves them by id: its audit says so, with the prune, and the prune as
    printed makes the old blob unreadable."""
    server = GitRepo(tmp_path / "server.git", bare=True)
    work = GitRepo(tmp_path / "work")
    work.git("remote", "add", "origin", str(server.path))
    work.commit_file("README.md", "hi\n", "start")
    work.commit_file(".env", f"KIMI_API_KEY={keygen.kimi_code_key()}\n", "oops")
    blob = work.git("rev-parse", "HEAD:.env").strip()
    work.git("push", "-q", "origin", "HEAD:refs/heads/main")
    work.git("reset", "-q", "--hard", "HEAD~1")
    work.git("push", "-q", "--force", "origin", "HEAD:refs/heads/main")

    before = run_cli("history", "--repo", str(server.path), cwd=tmp_path)
    assert before.code == 0, before.all  # no ref reaches the key: history is clean...
    assert "skipped unreachable objects:" in before.out  # ...but the server still has it
    command = before.out.split("Prune them: ", 1)[1].splitlines()[0]
    done = subprocess.run(["bash", "-c", command], cwd=tmp_path, capture_output=True, check=False)
    assert done.returncode == 0, done.stderr

    after = run_cli("history", "--repo", str(server.path), cwd=tmp_path)
    assert after.code == 0 and "unreachable" not in after.out, after.all
    gone = subprocess.run(
        ["git", "cat-file", "-p", blob], cwd=server.path, capture_output=True, check=False
    )
    assert gone.returncode != 0


OWN_SETTINGS = [
    'exclude = ["*", "**", ".*"]',
    'allow-regexes = ["."]',
    'disable-rules = ["moonshot-api-key", "kimi-code-api-key"]',
    "max-file-size = 1",
]


@pytest.mark.parametrize("setting", OWN_SETTINGS)
def test_the_audited_repositorys_own_configuration_cannot_hide_its_keys(
    tmp_path: Path, setting: str
) -> None:
    """A downloaded repository's `.kimi-secret-scan.toml` is its author's: not applied unless
    named, and said in every format (as a skip, which does not make the scan incomplete)."""
    repo = GitRepo(tmp_path / "r")
    key = keygen.kimi_code_key()
    repo.commit_file(".kimi-secret-scan.toml", setting + "\n")
    repo.commit_file("cfg.env", f"KEY={key}\n")
    run = run_cli("history", "--format", "json", cwd=repo.path)
    assert run.code == 1, run.all
    data = json.loads(run.out)
    assert [f["secret_sha256"] for f in data["findings"]] == [sha256_hex(key)]
    assert data["stats"]["complete"] is True
    [note] = data["stats"]["skipped"]
    assert note["path"] == ".kimi-secret-scan.toml"
    assert "name it with --config .kimi-secret-scan.toml" in note["reason"]
    text = run_cli("history", cwd=repo.path)
    own = "skipped .kimi-secret-scan.toml: the audited repository's own configuration, not applied"
    assert own in text.out
    for fmt in ("sarif", "github"):
        assert "own configuration, not applied" in run_cli("history", "--format", fmt,
                                                           cwd=repo.path).out  # fmt: skip
    # Named on the command line, it is the user's choice, and applies.
    named = run_cli("history", "--config", ".kimi-secret-scan.toml", cwd=repo.path)
    assert named.code == 0, named.all
    assert "not applied" not in named.all


@pytest.mark.parametrize(
    ("name", "text"),
    [
        (".kimi-secret-scan.toml", "no-such-key = 1\n"),
        (".kimi-secret-scan.toml", "exclude = [\n"),
        ("pyproject.toml", "[tool.kimi-secret-scan]\nmin-confidence = 7\n"),
    ],
)
def test_the_audited_repositorys_own_invalid_configuration_does_not_stop_the_audit(
    tmp_path: Path, name: str, text: str
) -> None:
    """A file the audit does not apply is not parsed for it either: its own invalid
    configuration is left out, said as not applied, and the audit runs. The same file
    outside the audited repository (the user's own) still stops it, as does --config."""
    repo = GitRepo(tmp_path / "r")
    key = keygen.kimi_code_key()
    repo.commit_file(name, text)
    repo.commit_file("cfg.env", f"KEY={key}\n")
    run = run_cli("history", "--format", "json", cwd=repo.path)
    assert run.code == 1, run.all
    data = json.loads(run.out)
    assert [f["secret_sha256"] for f in data["findings"]] == [sha256_hex(key)]
    [note] = data["stats"]["skipped"]
    assert note["path"] == name
    assert "own configuration, not applied" in note["reason"]
    assert "it is not valid" in note["reason"]
    # Yours (the checkout you run it from, auditing another repository): an error.
    other = GitRepo(tmp_path / "other")
    other.commit_file("a.txt", "a\n")
    mine = run_cli("history", "--repo", str(other.path), cwd=repo.path)
    assert mine.code == 2, mine.all
    assert name in mine.err
    named = run_cli("history", "--config", name, cwd=repo.path)
    assert named.code == 2, named.all


def test_the_audited_repositorys_own_baseline_applies_only_when_named(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "r")
    repo.commit_file("cfg.env", f"KEY={keygen.kimi_code_key()}\n")
    made = run_cli("baseline", "create", "--from", "history", cwd=repo.path)
    assert made.code == 0, made.all
    run = run_cli("history", cwd=repo.path)
    assert run.code == 1, run.all
    own = "skipped .kimi-secret-scan-baseline.toml: the audited repository's own baseline"
    assert own in run.out
    named = run_cli("history", "--baseline", ".kimi-secret-scan-baseline.toml", cwd=repo.path)
    assert named.code == 0, named.all


def test_a_configuration_outside_the_audited_repository_is_the_users(tmp_path: Path) -> None:
    """`history --repo downloaded` from your own checkout: your configuration applies."""
    downloaded = GitRepo(tmp_path / "downloaded")
    downloaded.commit_file("cfg.env", f"KEY={keygen.kimi_code_key()}\n")
    mine = GitRepo(tmp_path / "mine")
    mine.commit_file(".kimi-secret-scan.toml", 'allow-regexes = ["."]\n')
    run = run_cli("history", "--repo", str(downloaded.path), cwd=mine.path)
    assert run.code == 0, run.all
    assert "not applied" not in run.all


@pytest.mark.parametrize("pragma", ["kimi-secret-scan: allow (test double)", "gitleaks:allow"])
def test_the_audited_repositorys_inline_allow_comments_apply_only_when_asked(
    tmp_path: Path, pragma: str
) -> None:
    """An allow comment is the audited repository's content: the key is reported, with a
    note in every format saying the comment was not applied and the command that applies
    it; `--inline-allows` applies it; `baseline create --from history` (the user's own
    run) applies it too."""
    repo = GitRepo(tmp_path / "r")
    key = keygen.kimi_code_key()
    repo.commit_file("fixture.env", f"KEY={key}  # {pragma}\n")
    again = "kimi-secret-scan history --inline-allows --format json"
    run = run_cli("history", "--format", "json", cwd=repo.path)
    assert run.code == 1, run.all
    data = json.loads(run.out)
    [finding] = data["findings"]
    assert finding["secret_sha256"] == sha256_hex(key)
    assert (
        "inline allow comment in the audited repository covers this key: not applied"
        in (finding["note"])
    )
    assert again in finding["note"]
    assert data["stats"]["complete"] is True
    [said] = data["stats"]["skipped"]
    assert said["path"] == "inline allow comments" and again in said["reason"]
    text = run_cli("history", cwd=repo.path)
    assert text.code == 1, text.all
    assert (
        "apply the repository's allow comments: run: kimi-secret-scan history --inline-allows\n"
        in text.out
    )
    for fmt in ("sarif", "github"):
        out = run_cli("history", "--format", fmt, cwd=repo.path)
        assert out.code == 1, out.all
        assert f"kimi-secret-scan history --inline-allows --format {fmt}" in out.out
    asked = run_cli("history", "--inline-allows", cwd=repo.path)
    assert asked.code == 0, asked.all
    assert "1 allowed" in asked.out
    made = run_cli("baseline", "create", "--from", "history", cwd=repo.path)
    assert made.code == 0, made.all
    assert sha256_hex(key) not in (repo.path / ".kimi-secret-scan-baseline.toml").read_text()


def test_a_configuration_the_repository_links_to_outside_is_still_its_own(
    tmp_path: Path,
) -> None:
    """A committed `.kimi-secret-scan.toml -> ../outside/kimi.toml` is found inside the
    repository: its own, not applied, though the file it names is outside."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "kimi.toml").write_text('exclude = ["*", "**", ".*"]\n')
    repo = GitRepo(tmp_path / "r")
    key = keygen.kimi_code_key()
    (repo.path / ".kimi-secret-scan.toml").symlink_to("../outside/kimi.toml")
    repo.commit_file("cfg.env", f"KEY={key}\n")
    run = run_cli("history", cwd=repo.path)
    assert run.code == 1, run.all
    assert "skipped .kimi-secret-scan.toml: the audited repository's own configuration" in run.out
