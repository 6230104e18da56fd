"""Output is inert, and files are never written through a hostile checkout's links.

Terminal and CI-log injection sequences are put in file content, a file name, a branch name,
an author name and a commit message; every text-ish report must show them escaped. Then
--output, baseline files and --write-replacements are pointed at symbolic links and git
directories, and must refuse.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.gitrepo import GitRepo, run_cli
from tests.keygen import moonshot_key

# Each sequence a hostile repository would like to reach a terminal or a runner's log.
SEQUENCES = {
    "OSC 52 (clipboard)": "\x1b]52;c;ZXZpbA==\x07",
    "OSC 8 (link)": "\x1b]8;;http://evil.example/\x1b\\here\x1b]8;;\x1b\\",
    "OSC 0 (title)": "\x1b]0;owned\x07",
    "CSI 2J (clear)": "\x1b[2J",
    "C1 CSI": "\x9b31m",
    "bidi override": "\u202e",
    "workflow command": "::error::pwned",
    "log group": "##[group]hidden",
}
HOSTILE = " ".join(SEQUENCES.values())
# What must never reach stdout raw: controls but TAB and LF, DEL, C1, bidi controls.
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
ANNOTATION = re.compile(r"::(error|warning|notice) ")


def assert_inert(out: str, *, annotations: bool = False) -> None:
    found = RAW.search(out)
    assert found is None, f"raw {found.group()!r} in output:\n{out}"
    assert "##[" not in out
    for line in out.splitlines():
        if annotations and ANNOTATION.match(line):
            continue
        assert not line.lstrip().startswith("::"), line


@pytest.fixture
def hostile(tmp_path: Path) -> GitRepo:
    repo = GitRepo(tmp_path / "repo")
    key = moonshot_key()
    # File content: a key, then every sequence on the same line (the excerpt).
    repo.write("config.py", f'KIMI_API_KEY = "{key}"  # {HOSTILE}\n')
    # A file name holding them (no '/' nor NUL can be in a name).
    name = "n" + HOSTILE.replace("/", "_") + ".py"
    repo.write(name, f'KIMI_API_KEY = "{moonshot_key()}"\n')
    repo.write("ci.txt", f"::error file=x::pwned {moonshot_key()}\n")
    repo.add()
    # The commit message and the author name hold them too.
    env_name = "Eve \x1b]52;c;ZXZpbA==\x07\u202e"
    repo.git(
        "-c",
        f"user.name={env_name}",
        "commit",
        "-q",
        "--no-verify",
        "-m",
        f"add\n\nKIMI_API_KEY={moonshot_key()} {HOSTILE}",
    )
    # A branch name: refs allow no ASCII control, ':' nor '[', but C1 and bidi pass.
    repo.git("branch", "evil\u202e\u009b##x")
    return repo


def test_text_reports_show_every_sequence_escaped(hostile: GitRepo, tmp_path: Path) -> None:
    files = run_cli("files", ".", cwd=hostile.path)
    assert files.code == 1
    assert_inert(files.out)
    assert "\\x1b]52;c;ZXZpbA==\\x07" in files.out
    assert "\\u202e" in files.out and "\\x9b31m" in files.out
    assert "#\\x23[group]" in files.out
    assert "    \\x3a:error file=x::pwned" in files.out  # a line that would start a command

    history = run_cli("history", cwd=hostile.path)
    assert history.code == 1
    assert_inert(history.out)
    assert "\\u202e" in history.out  # the branch and the author, escaped

    msg = tmp_path / "msg.txt"
    msg.write_text(f"subject\n\nKIMI_API_KEY={moonshot_key()} {HOSTILE}\n")
    commit_msg = run_cli("commit-msg", str(msg), cwd=hostile.path)
    assert commit_msg.code == 1
    assert_inert(commit_msg.out)

    rng = run_cli("range", "HEAD~0", cwd=hostile.path)  # an error message: inert too
    assert_inert(rng.err)


def test_text_written_to_a_file_is_inert_too(hostile: GitRepo, tmp_path: Path) -> None:
    report = tmp_path / "report.txt"
    run = run_cli("files", ".", "--output", str(report), cwd=hostile.path)
    assert run.code == 1
    assert_inert(report.read_text(encoding="utf-8"))
    assert_inert(run.err)


def test_github_format_escapes_annotations_and_the_job_summary(
    hostile: GitRepo, tmp_path: Path
) -> None:
    summary = tmp_path / "summary.md"
    for args in (["files", "."], ["history"]):
        run = run_cli(
            *args, "--format", "github", cwd=hostile.path, env={"GITHUB_STEP_SUMMARY": str(summary)}
        )
        assert run.code == 1
        assert_inert(run.out, annotations=True)
        for line in run.out.splitlines():
            if ANNOTATION.match(line):
                props, _, data = line.partition("::")[2].partition("::")
                # Properties: no raw ':' or ',' but the separators git needs.
                for prop in props.split(" ", 1)[1].split(","):
                    assert ":" not in prop.split("=", 1)[1]
                assert "\n" not in data and "\r" not in data
    markdown = summary.read_text(encoding="utf-8")
    assert_inert(markdown)
    for line in markdown.splitlines():
        if line.startswith("| <code>"):
            cells = line.split(" | ")
            assert "`" not in line  # no code span an odd backtick can break
            assert len(cells) == 5, line  # no '|' from a name splits a cell
        assert "<script" not in line


def test_json_and_sarif_stay_exact(hostile: GitRepo) -> None:
    run = run_cli("files", ".", "--format", "json", cwd=hostile.path)
    paths = {f["path"] for f in json.loads(run.out)["findings"]}
    assert any("\x1b]52;c;ZXZpbA==\x07" in p and "\u202e" in p for p in paths)
    sarif = run_cli("files", ".", "--format", "sarif", cwd=hostile.path)
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        for r in json.loads(sarif.out)["runs"][0]["results"]
    }
    assert any("%1B%5D52%3Bc%3BZXZpbA%3D%3D%07" in u and "%E2%80%AE" in u for u in uris)


def test_json_writes_no_raw_bidi_nor_c1(hostile: GitRepo, tmp_path: Path) -> None:
    """JSON escaped C0 controls only: a path's U+202E was written raw, and a terminal or
    viewer showed `src/<RLO>gnp.env` as `src/vne.png` (round-8 review C #11). Now every
    character RAW names is a `\\u` escape in JSON and SARIF: the values are exact."""
    key = moonshot_key()
    hostile.commit_file("src/\u202egnp\u2066\x85.env", f"KIMI_API_KEY={key}\n")
    reports = tmp_path / "audit"
    runs = [
        (fmt, run_cli(*args, "--format", fmt, cwd=hostile.path))
        for fmt in ("json", "sarif")
        for args in (["files", "."], ["history"], ["range", "HEAD~1..HEAD"])
    ]
    for fmt, run in runs:
        assert run.code == 1, run.all
        assert RAW.search(run.out) is None, RAW.search(run.out)
        assert fmt == "sarif" or "\\u202e" in run.out
    report = json.loads(runs[0][1].out)
    assert "src/\u202egnp\u2066\x85.env" in {f["path"] for f in report["findings"]}
    run = run_cli("audit", str(hostile.path), "--output-dir", str(reports), "-j", "1", cwd=tmp_path)
    assert run.code == 1, run.all
    written = [p.read_text(encoding="utf-8") for p in reports.glob("*.json")]
    assert written and all(RAW.search(text) is None for text in written)
    assert RAW.search(run.out) is None


# --- files the tool writes ----------------------------------------------------------------


@pytest.fixture
def leaky(tmp_path: Path) -> GitRepo:
    repo = GitRepo(tmp_path / "repo")
    repo.commit_file("config.py", f'KIMI_API_KEY = "{moonshot_key()}"\n')
    return repo


def test_output_through_a_committed_link_to_a_hook_is_refused(leaky: GitRepo) -> None:
    hook = leaky.path / ".git" / "hooks" / "pre-commit"
    (leaky.path / "report.txt").symlink_to(".git/hooks/pre-commit")
    run = run_cli("files", ".", "--output", "report.txt", cwd=leaky.path)
    assert run.code == 2
    assert "symbolic link" in run.err
    assert not hook.exists()


def test_output_through_a_link_elsewhere_is_refused(leaky: GitRepo, tmp_path: Path) -> None:
    elsewhere = tmp_path / "precious.txt"
    elsewhere.write_text("keep me\n")
    (leaky.path / "report.txt").symlink_to(elsewhere)
    run = run_cli("files", ".", "--output", "report.txt", cwd=leaky.path)
    assert run.code == 2 and "symbolic link" in run.err
    assert elsewhere.read_text() == "keep me\n"
    # A dangling link (its target would be created) is refused alike.
    (leaky.path / "dangling.txt").symlink_to(tmp_path / "new.txt")
    run = run_cli("files", ".", "--output", "dangling.txt", cwd=leaky.path)
    assert run.code == 2 and not (tmp_path / "new.txt").exists()


@pytest.mark.parametrize("target", [".git/hooks/pre-commit", ".git/config.d", "sub/../.git/info/x"])
def test_output_inside_the_git_directory_is_refused(leaky: GitRepo, target: str) -> None:
    (leaky.path / "sub").mkdir()
    run = run_cli("files", "config.py", "--output", target, cwd=leaky.path)
    assert run.code == 2
    assert "inside a git directory" in run.err
    assert not (leaky.path / target).exists()


def test_output_inside_a_bare_repository_is_refused(tmp_path: Path) -> None:
    bare = GitRepo(tmp_path / "server.git", bare=True)
    run = run_cli("pre-receive", "--output", "hooks/post-receive", cwd=bare.path, input=b"")
    assert run.code == 2 and "inside a git directory" in run.err


def test_a_report_that_can_hold_whole_keys_is_created_0600(leaky: GitRepo, tmp_path: Path) -> None:
    whole = tmp_path / "whole.txt"
    run = run_cli("files", ".", "--show-secrets", "--output", str(whole), cwd=leaky.path)
    assert run.code == 1
    assert stat.S_IMODE(whole.stat().st_mode) == 0o600
    # Replaced, an existing world-readable file does not keep its mode.
    whole.chmod(0o644)
    run_cli("files", ".", "--show-secrets", "--output", str(whole), cwd=leaky.path)
    assert stat.S_IMODE(whole.stat().st_mode) == 0o600
    redacted = tmp_path / "redacted.txt"
    run_cli("files", ".", "--output", str(redacted), cwd=leaky.path)
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(redacted.stat().st_mode) == 0o666 & ~mask


def test_output_never_writes_through_a_second_hard_link(leaky: GitRepo, tmp_path: Path) -> None:
    other = tmp_path / "other.txt"
    other.write_text("unchanged\n")
    os.link(other, tmp_path / "report.txt")
    run_cli("files", ".", "--output", str(tmp_path / "report.txt"), cwd=leaky.path)
    assert other.read_text() == "unchanged\n"


def test_output_to_a_device_still_works(leaky: GitRepo) -> None:
    run = run_cli("files", ".", "--output", "/dev/null", cwd=leaky.path)
    assert run.code == 1 and "1 finding" in run.err


def test_baseline_and_replacements_files_are_not_written_through_links(
    leaky: GitRepo, tmp_path: Path
) -> None:
    (leaky.path / "base.toml").symlink_to(".git/hooks/post-checkout")
    run = run_cli("baseline", "create", "--file", "base.toml", cwd=leaky.path)
    assert run.code == 2 and "symbolic link" in run.err
    run = run_cli("baseline", "create", "--file", ".git/hooks/post-checkout", cwd=leaky.path)
    assert run.code == 2 and "inside a git directory" in run.err
    assert not (leaky.path / ".git" / "hooks" / "post-checkout").exists()

    outside = tmp_path / "replacements.txt"
    outside.symlink_to(tmp_path / "target.txt")
    run = run_cli("history", "--write-replacements", str(outside), cwd=leaky.path)
    assert run.code == 2 and "symbolic link" in run.err
    assert not (tmp_path / "target.txt").exists()
    plain = tmp_path / "plain-replacements.txt"
    run = run_cli("history", "--write-replacements", str(plain), cwd=leaky.path)
    assert run.code == 0  # the file was written: nothing failed
    assert stat.S_IMODE(plain.stat().st_mode) == 0o600


def test_output_over_a_worktrees_git_file_is_refused(leaky: GitRepo, tmp_path: Path) -> None:
    """A linked worktree's (or a submodule's) `.git` is a file naming its git directory:
    a report written over it would break the repository."""
    leaky.git("worktree", "add", "-q", str(tmp_path / "wt"))
    dot_git = tmp_path / "wt" / ".git"
    before = dot_git.read_bytes()
    run = run_cli("files", ".", "--output", ".git", cwd=tmp_path / "wt")
    assert run.code == 2 and "refusing to write .git" in run.err, run.all
    assert dot_git.read_bytes() == before


def _reader(fifo: Path) -> subprocess.Popen[bytes]:
    """A process reading the FIFO (the attacker's), so an open for writing would succeed."""
    return subprocess.Popen(["cat", str(fifo)], stdout=subprocess.PIPE)


@pytest.mark.parametrize("option", ["--output", "--report"])
def test_a_committed_link_to_a_pipe_or_device_is_refused(
    leaky: GitRepo, tmp_path: Path, option: str
) -> None:
    """A link in the checkout to a FIFO elsewhere handed the report to whoever read it."""
    fifo = tmp_path / "elsewhere.fifo"
    os.mkfifo(fifo)
    (leaky.path / "report.sarif").symlink_to(fifo)
    (leaky.path / "null.txt").symlink_to("/dev/null")
    reader = _reader(fifo)
    try:
        for name in ("report.sarif", "null.txt"):
            target = name if option == "--output" else f"sarif:{name}"
            run = run_cli("files", "config.py", option, target, cwd=leaky.path)
            assert run.code == 2 and "symbolic link" in run.err, run.all
    finally:
        # The reader's end of file (when a write already gave it one, it is gone: ENXIO).
        with contextlib.suppress(OSError):
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        captured, _ = reader.communicate(timeout=60)
    assert captured == b""
    # A pipe in the checkout itself is refused too; /dev/null named outside still works.
    os.mkfifo(leaky.path / "pipe")
    run = run_cli("files", "config.py", "--output", "pipe", cwd=leaky.path)
    assert run.code == 2 and "not a regular file" in run.err, run.all
    assert run_cli("files", "config.py", "--output", "/dev/null", cwd=leaky.path).code == 1


def test_a_pipe_nobody_reads_fails_at_once(leaky: GitRepo, tmp_path: Path) -> None:
    fifo = tmp_path / "nobody.fifo"
    os.mkfifo(fifo)
    # Not run_cli: a scanner that waited for a reader (as it once did) would never return.
    proc = subprocess.run(
        [sys.executable, "-m", "kimi_secret_scan", "files", "config.py", "--output", str(fifo)],
        cwd=leaky.path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2 and "a pipe nobody reads" in proc.stderr, proc.stderr


@pytest.mark.parametrize("option", ["--output", "--report", "baseline"])
def test_a_committed_link_to_a_directory_outside_is_refused(
    leaky: GitRepo, tmp_path: Path, option: str
) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (leaky.path / "reports").symlink_to(outside)
    if option == "baseline":
        args = ["baseline", "create", "--file", "reports/base.toml"]
    elif option == "--report":
        args = ["files", "config.py", "--report", "json:reports/ks.json"]
    else:
        args = ["files", "config.py", "--output", "reports/ks.json"]
    for env in ({}, {"GIT_DIR": ".git"}):  # a hook runs with GIT_DIR set
        run = run_cli(*args, cwd=leaky.path, env=env)
        assert run.code == 2 and "reports is a symbolic link inside the repository" in run.err
    assert list(outside.iterdir()) == []
    # Named through a link above the repository (the user's own), the file is written.
    above = tmp_path / "above"
    above.symlink_to(leaky.path)
    run = run_cli("files", "config.py", "--output", str(above / "ks.txt"), cwd=leaky.path)
    assert run.code == 1 and (leaky.path / "ks.txt").is_file(), run.all
