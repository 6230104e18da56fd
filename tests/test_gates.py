"""A gate that cannot be talked out of failing (issue 11): everything a push publishes is
scanned, suppressions the change adds are said (and can fail), limits never pass a gate,
and an incomplete scan says so even when it finds keys. Real repositories, the real CLI,
real pushes through the documented pre-receive hook."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.gitrepo import GitRepo, Run, run_cli
from tests.keygen import body, kimi_code_key, moonshot_key
from tests.remotes import ZERO, install_hook, readme_block, scanner_path_env
from tests.test_sarif import validate

GATES = ("range", "ci", "pre-push", "pre-receive")
ATTACKS = (
    "commit message",
    "tag message",
    "tag of a tag",
    "tag outside refs/tags",
    "deep tag chain",
    "ref name",
    "empty directory name",
    "path name",
    "author",
    "note",
)


def push(work: GitRepo, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **scanner_path_env()}
    return subprocess.run(
        ["git", "push", *args], cwd=work.path, env=env, capture_output=True, text=True, check=False
    )


def setup(tmp_path: Path, hook: bool) -> tuple[GitRepo, GitRepo, str]:
    """A bare server (with the documented pre-receive hook, or none) and a work clone whose
    main is pushed there; returns (server, work, base)."""
    server = GitRepo(tmp_path / "server.git", bare=True)
    work = GitRepo(tmp_path / "work")
    work.git("remote", "add", "origin", str(server.path))
    base = work.commit_file("README.md", "hello\n", "base")
    proc = push(work, "origin", "main")
    assert proc.returncode == 0, proc.stderr
    work.git("fetch", "-q", "origin")
    if hook:
        install_hook(server.path, "pre-receive", readme_block("hooks/pre-receive:", "sh"))
    return server, work, base


def attack(work: GitRepo, kind: str, key: str) -> tuple[list[str], str]:
    """Publish `key` the way `kind` says; the refs to push, and the location expected."""
    if kind == "commit message":
        work.commit(f"configure MOONSHOT_API_KEY={key}", allow_empty=True)
        return ["refs/heads/main"], "commit message of "
    if kind == "tag message":
        work.commit("release", allow_empty=True)
        work.git("tag", "-a", "v1", "-m", f"release key {key}")
        return ["refs/heads/main", "refs/tags/v1"], "tag message of v1"
    if kind == "tag of a tag":
        work.commit("release", allow_empty=True)
        work.git("tag", "-a", "inner", "-m", f"release key {key}")
        work.git("tag", "-a", "outer", "-m", "signed off", "inner")
        work.git("tag", "-d", "inner")
        return ["refs/heads/main", "refs/tags/outer"], "tag message of outer^{}"
    if kind == "tag outside refs/tags":
        # `git push R <tag id>:refs/custom/x`: the tag's message is published under a
        # name outside refs/tags/ (it once passed every gate unread).
        work.commit("release", allow_empty=True)
        work.git("tag", "-a", "t9", "-m", f"release key {key}")
        work.git("update-ref", "refs/custom/x", work.git("rev-parse", "t9").strip())
        work.git("tag", "-d", "t9")
        return ["refs/heads/main", "refs/custom/x"], "tag message of refs/custom/x"
    if kind == "deep tag chain":
        # A tag of a tag of ... twelve levels: the innermost message holds the key (the
        # gates once followed eight levels and passed the rest unsaid).
        work.commit("release", allow_empty=True)
        work.git("-c", "advice.nestedTag=false", "tag", "-a", "l0", "-m", f"inner {key}")
        for level in range(1, 13):
            work.git(
                "-c", "advice.nestedTag=false", "tag", "-a", f"l{level}", "-m", "signed off",
                f"l{level - 1}",
            )  # fmt: skip
            work.git("tag", "-d", f"l{level - 1}")
        return ["refs/heads/main", "refs/tags/l12"], "tag message of l12^{}"
    if kind == "empty directory name":
        # A directory holding only an empty directory (`git mktree`, `commit-tree`): no file
        # is under it, so `diff-tree -r` once gave no row for its published name.
        empty = work.git("mktree", input=b"").strip()
        inner = work.git("mktree", input=f"040000 tree {empty}\tsub\n".encode()).strip()
        readme = work.git("rev-parse", "HEAD:README.md").strip()
        listing = f"100644 blob {readme}\tREADME.md\n040000 tree {inner}\tcfg-{key}\n"
        tree = work.git("mktree", input=listing.encode()).strip()
        commit = work.git("commit-tree", tree, "-p", "HEAD", "-m", "add a folder").strip()
        work.git("update-ref", "refs/heads/main", commit)
        return ["refs/heads/main"], "path name in "
    if kind == "ref name":
        work.commit("work", allow_empty=True)
        work.git("branch", f"wip/{key}")
        return [f"refs/heads/wip/{key}"], "ref name"
    if kind == "path name":
        work.commit_file(f"keys/{key}.txt", "nothing inside\n", "add a file")
        return ["refs/heads/main"], "path name in "
    if kind == "author":
        work.write("a.txt", "a\n")
        work.add("a.txt")
        work.git("commit", "-q", "--no-verify", "-m", "a", "--author", f"Ada <{key}@example.com>")
        return ["refs/heads/main"], "author of "
    assert kind == "note"
    work.commit("work", allow_empty=True)
    work.git("notes", "add", "-m", f"deployed with {key}", "HEAD")
    return ["refs/heads/main", "refs/notes/commits"], "note on "


def pre_push_stdin(work: GitRepo, refs: list[str]) -> bytes:
    lines = []
    for ref in refs:
        sha = work.git("rev-parse", ref).strip()
        remote = work.git(
            "for-each-ref", "--format=%(objectname)", f"refs/remotes/origin/{ref[11:]}"
        )
        old = remote.strip() if ref.startswith("refs/heads/") and remote.strip() else ZERO
        lines.append(f"{ref} {sha} {ref} {old}\n")
    return "".join(lines).encode()


def report(run: Run) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(run.out)
    return data


@pytest.mark.parametrize("kind", ATTACKS)
@pytest.mark.parametrize("gate", GATES)
def test_gates_scan_everything_a_push_publishes(tmp_path: Path, gate: str, kind: str) -> None:
    key = kimi_code_key()
    _server, work, base = setup(tmp_path, hook=gate == "pre-receive")
    refs, where = attack(work, kind, key)
    if gate == "pre-receive":
        proc = push(work, "origin", *refs)
        shown = proc.stdout + proc.stderr
        assert proc.returncode != 0, shown
        assert "pre-receive hook declined" in shown
        if kind != "note":  # a pushed notes ref is its commits' files (named by the commit)
            assert where in shown, shown
        # git itself echoes a ref name it rejected; what the scanner printed is redacted.
        remote = "\n".join(ln for ln in shown.splitlines() if ln.startswith("remote:"))
        assert key not in remote
        return
    fmt = ("--format", "json")
    if gate == "range":
        run = run_cli("range", f"{base}..HEAD", *fmt, cwd=work.path)
    elif gate == "ci":
        run = run_cli("ci", "--base", base, *fmt, cwd=work.path)
    else:
        stdin = pre_push_stdin(work, refs)
        run = run_cli("pre-push", "origin", "url", *fmt, cwd=work.path, input=stdin)
    assert run.code == 1, run.all
    paths = [f["path"] for f in report(run)["findings"]]
    if gate == "pre-push" and kind == "note":
        assert paths, run.out  # the notes commit's file
    else:
        assert any(p.startswith(where) for p in paths), paths
    assert key not in run.all


# Objects only a hand-made push publishes, through the documented plain pre-push hook: the
# push is stopped and nothing reaches the remote.
PLAIN_HOOK_ATTACKS = ("tag outside refs/tags", "deep tag chain", "empty directory name")


@pytest.mark.parametrize("kind", PLAIN_HOOK_ATTACKS)
def test_the_plain_pre_push_hook_stops_odd_objects(tmp_path: Path, kind: str) -> None:
    key = kimi_code_key()
    server, work, _base = setup(tmp_path, hook=False)
    install_hook(work.path / ".git", "pre-push", readme_block(".git/hooks/pre-push:", "sh"))
    refs, where = attack(work, kind, key)
    proc = push(work, "origin", *refs)
    shown = proc.stdout + proc.stderr
    assert proc.returncode != 0, shown
    assert where in shown and key not in shown
    for ref in refs[1:]:
        assert not server.git("for-each-ref", ref).strip()
    if kind == "tag outside refs/tags":
        # `git tag` cannot make refs/custom/x again (it would make refs/tags/refs/custom/x).
        assert "refs/custom/x is not under refs/tags/" in shown and "git tag -f" not in shown


def test_a_commit_message_alone_is_no_longer_nothing_to_scan(repo: GitRepo) -> None:
    """The issue's own reproduction, in text."""
    repo.commit_file("README.md", "hello\n")
    key = moonshot_key()
    sha = repo.commit(f"MOONSHOT_API_KEY={key}", allow_empty=True)
    run = run_cli("range", "HEAD~1..HEAD", cwd=repo.path)
    assert run.code == 1, run.all
    assert f"commit message of {sha[:12]}:1:" in run.out
    assert "nothing to scan" not in run.all and key not in run.all


# --- suppressions the change adds ------------------------------------------------------------

SUPPRESSIONS = (
    "exclude",
    "allow-regexes",
    "allow-values",
    "disable-rules",
    "baseline",
    "inline",
)


def suppress(work: GitRepo, how: str, key: str) -> str:
    """Commit `key` hidden the way `how` says; the SARIF suppression kind expected."""
    line = f'MOONSHOT_API_KEY = "{key}"'
    if how == "inline":
        work.commit_file("app.py", f"{line}  # kimi-secret-scan: allow\n", "add app")
        return "inSource"
    config = {
        "exclude": 'exclude = ["*"]\n',
        "allow-regexes": 'allow-regexes = ["."]\n',
        "allow-values": f'allow-values = ["{key}"]\n',
        "disable-rules": 'disable-rules = ["moonshot-api-key"]\n',
        "baseline": "",
    }[how]
    if how == "baseline":
        import hashlib

        sha = hashlib.sha256(key.encode()).hexdigest()
        work.write(
            ".kimi-secret-scan-baseline.toml",
            f'version = 1\n\n[[known]]\nsha256 = "{sha}"\nrule = "moonshot-api-key"\n',
        )
    else:
        work.write(".kimi-secret-scan.toml", config)
    work.write("app.py", line + "\n")
    work.add()
    work.commit("add app, and quiet the scanner")
    return "external"


def gate_run(gate: str, work: GitRepo, base: str, *extra: str) -> Run:
    if gate == "range":
        return run_cli("range", f"{base}..HEAD", *extra, cwd=work.path)
    if gate == "ci":
        return run_cli("ci", "--base", base, *extra, cwd=work.path)
    stdin = pre_push_stdin(work, ["refs/heads/main"])
    return run_cli("pre-push", "origin", "url", *extra, cwd=work.path, input=stdin)


@pytest.mark.parametrize("how", SUPPRESSIONS)
def test_a_suppression_the_change_adds_is_said_in_every_format(tmp_path: Path, how: str) -> None:
    key = moonshot_key()
    _server, work, base = setup(tmp_path, hook=False)
    kind = suppress(work, how, key)

    run = gate_run("range", work, base, "--format", "json")
    assert run.code == 0, run.all  # reported, not failing, by default
    # (allow-values holds the key itself, in the configuration file: hidden there too)
    [hidden] = [h for h in report(run)["suppressed"] if h["path"] == "app.py"]
    assert hidden["path"] == "app.py" and hidden["kind"] == kind and hidden["justification"]
    assert hidden["secret"] != key and key not in run.all

    text = gate_run("range", work, base)
    assert "suppressed by this change: " in text.out and "app.py:1:" in text.out
    assert "of them by suppressions this change added" in text.out

    sarif = json.loads(gate_run("range", work, base, "--format", "sarif").out)
    validate(sarif)
    [result] = [
        r
        for r in sarif["runs"][0]["results"]
        if r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "app.py"
    ]
    assert result["suppressions"][0]["kind"] == kind
    assert result["suppressions"][0]["justification"]

    summary = tmp_path / "summary.md"
    github = run_cli(
        "range",
        f"{base}..HEAD",
        "--format",
        "github",
        cwd=work.path,
        env={"GITHUB_STEP_SUMMARY": str(summary)},
    )
    assert "::warning file=app.py,line=1," in github.out
    assert "Suppressed by this change" in summary.read_text()
    assert key not in github.all + summary.read_text()


@pytest.mark.parametrize("gate", ("range", "ci", "pre-push"))
def test_new_suppressions_fail_on_request(tmp_path: Path, gate: str) -> None:
    key = moonshot_key()
    _server, work, base = setup(tmp_path, hook=False)
    suppress(work, "exclude", key)
    assert gate_run(gate, work, base).code == 0
    run = gate_run(gate, work, base, "--no-new-suppressions")
    assert run.code == 1, run.all
    assert "hidden by suppressions this change added: failing" in run.err


def test_the_base_sides_configuration_decides_to_fail(tmp_path: Path) -> None:
    key = moonshot_key()
    _server, work, _ = setup(tmp_path, hook=False)
    base = work.commit_file(".kimi-secret-scan.toml", 'new-suppressions = "fail"\n', "policy")
    work.commit_file("app.py", f'KEY = "{key}"  # kimi-secret-scan: allow\n', "add app")
    run = gate_run("range", work, base)
    assert run.code == 1, run.all
    # The change cannot turn the policy off: its own config says "report".
    work.commit_file(".kimi-secret-scan.toml", 'new-suppressions = "report"\n', "relax")
    assert gate_run("range", work, base).code == 1


def test_suppressions_already_on_the_base_side_stay_silent(tmp_path: Path) -> None:
    key = moonshot_key()
    _server, work, _ = setup(tmp_path, hook=False)
    base = work.commit_file(".kimi-secret-scan.toml", 'exclude = ["fixtures/**"]\n', "policy")
    work.commit_file("fixtures/app.py", f'KEY = "{key}"\n', "fixture")
    run = gate_run("range", work, base, "--no-new-suppressions", "--format", "json")
    assert run.code == 0, run.all
    assert report(run)["suppressed"] == [] and report(run)["stats"]["suppressed"] == 1


def test_a_size_limit_the_change_sets_does_not_apply(tmp_path: Path) -> None:
    key = moonshot_key()
    _server, work, base = setup(tmp_path, hook=False)
    work.write(".kimi-secret-scan.toml", "max-file-size = 1\n")
    work.write("app.py", f'KEY = "{key}"\n')
    work.add()
    work.commit("add app")
    for gate in ("range", "ci", "pre-push"):
        assert gate_run(gate, work, base).code == 1, gate
    # A limit the user sets on the command line is accepted, and said.
    run = gate_run("range", work, base, "--max-file-size", "1", "--format", "github")
    assert run.code == 0, run.all
    assert "::warning title=skipped::" in run.out and "size limit" in run.out


CHANGE_LIMITS = {
    "max-file-size": "max-file-size = 1\n",
    "min-confidence": 'min-confidence = "high"\n',
    "max-unpacked-members": "max-unpacked-members = 0\n",
}


def _stage_limit_and_key(work: GitRepo, what: str) -> None:
    work.write(".kimi-secret-scan.toml", CHANGE_LIMITS[what])
    if what == "min-confidence":
        work.write("x.env", f"MOONSHOT_API_KEY={'abcd' + body(40)}\n")  # a medium finding
    elif what == "max-unpacked-members":
        import io
        import zipfile

        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as archive:
            archive.writestr("inner.env", f"MOONSHOT_API_KEY={moonshot_key()}\n")
        work.write("x.zip", buf.getvalue())
    else:
        work.write("x.env", f"MOONSHOT_API_KEY={moonshot_key()}\n")
    work.add()


@pytest.mark.parametrize("what", CHANGE_LIMITS)
def test_a_limit_the_change_sets_applies_in_no_gate(tmp_path: Path, what: str) -> None:
    """`staged` (and `commit-msg`) took the limits of a `.kimi-secret-scan.toml` the staged
    change itself edits (`max-file-size = 1`: every file skipped, exit 0); HEAD's apply, as
    the base side's do in the commit gates."""
    _server, work, base = setup(tmp_path, hook=False)
    _stage_limit_and_key(work, what)
    run = run_cli("staged", "--format", "json", cwd=work.path)
    assert run.code == 1, run.all
    assert report(run)["stats"]["complete"] is True
    if what == "min-confidence":
        # commit-msg, in the same commit: the message's medium finding fails it too.
        message = tmp_path / "MSG"
        message.write_text(f"MOONSHOT_API_KEY={'abcd' + body(40)}\n")
        assert run_cli("commit-msg", str(message), cwd=work.path).code == 1
    work.commit("a key, and a limit")
    for gate in ("range", "ci", "pre-push"):
        assert gate_run(gate, work, base).code == 1, gate
    # HEAD's own limit applies: the size limit committed before is accepted, and said.
    if what == "max-file-size":
        work.write("again.env", f"MOONSHOT_API_KEY={moonshot_key()}\n")
        work.add("again.env")
        run = run_cli("staged", "--format", "json", cwd=work.path)
        assert run.code == 0, run.all
        assert [s["path"] for s in report(run)["stats"]["skipped"]] == ["again.env"]


def test_pre_receive_takes_its_configuration_from_the_server(tmp_path: Path) -> None:
    key = moonshot_key()
    server, work, _ = setup(tmp_path, hook=True)
    # Pushed configuration does not apply on the server.
    work.write(".kimi-secret-scan.toml", 'exclude = ["*"]\nmax-file-size = 1\n')
    work.write("app.py", f'KEY = "{key}"\n')
    work.add()
    work.commit("add app")
    proc = push(work, "origin", "main")
    assert proc.returncode != 0 and "app.py:1:" in proc.stderr, proc.stderr
    # An inline allow comment is a suppression the push adds: failing, by the server's policy.
    work.git("reset", "-q", "--hard", "HEAD~1")
    work.commit_file("app.py", f'KEY = "{key}"  # kimi-secret-scan: allow\n', "add app")
    proc = push(work, "origin", "main")
    assert proc.returncode == 0, proc.stderr
    assert "suppressed by this change: " in proc.stderr
    (server.path / ".kimi-secret-scan.toml").write_text('new-suppressions = "fail"\n')
    work.commit_file("b.py", f'KEY = "{moonshot_key()}"  # kimi-secret-scan: allow\n', "more")
    proc = push(work, "origin", "main")
    assert proc.returncode != 0 and "failing" in proc.stderr, proc.stderr


# --- limits never pass a gate ----------------------------------------------------------------

# The real CLI, with the pattern time limit set by the test (no option sets it: it is a guard
# against a regex-engine surprise, and where it bites depends on the machine's speed).
_TIMED = (
    "import sys; from kimi_secret_scan.detect import limits; limits.REGEX_TIMEOUT = 1e-9; "
    "from kimi_secret_scan.cli import main; sys.argv[0] = 'kimi-secret-scan'; main()"
)


def run_timed(*args: str, cwd: Path, input: bytes | None = None) -> Run:
    proc = subprocess.run(
        [sys.executable, "-c", _TIMED, *args],
        cwd=cwd,
        input=input,
        capture_output=True,
        check=False,
    )
    return Run(proc.returncode, proc.stdout.decode(), proc.stderr.decode())


def dense(key: str) -> bytes:
    """The issue's attack: many key-shaped tokens, and one key. The key's line is there
    base64-encoded too: text decoded from base64 is read by a pattern that `regex` runs
    with the time-out (the token and setting patterns are `re`'s, which have none)."""
    tokens = "\n".join(moonshot_key() for _ in range(2000))
    line = f"KIMI_API_KEY = {key}\n"
    encoded = base64.b64encode(line.encode()).decode()
    return (tokens + "\n" + line + f"ENV_B64={encoded}\n").encode()


@pytest.mark.parametrize("gate", ("staged", *GATES))
def test_content_skipped_for_time_fails_the_gate(tmp_path: Path, gate: str) -> None:
    key = kimi_code_key()
    server, work, base = setup(tmp_path, hook=False)
    work.write("tokens.txt", dense(key))
    work.add("tokens.txt")
    if gate == "staged":
        run = run_timed("staged", cwd=work.path)
    else:
        work.commit("tokens")
        if gate == "range":
            run = run_timed("range", f"{base}..HEAD", cwd=work.path)
        elif gate == "ci":
            run = run_timed("ci", "--base", base, cwd=work.path)
        elif gate == "pre-push":
            stdin = pre_push_stdin(work, ["refs/heads/main"])
            run = run_timed("pre-push", "origin", "url", cwd=work.path, input=stdin)
        else:
            # The pushed objects are in the server, on no ref: as in a push's quarantine.
            tip = work.head()
            work.git("push", "-q", "origin", f"{tip}:refs/tmp/incoming")
            server.git("update-ref", "-d", "refs/tmp/incoming")
            stdin = f"{base} {tip} refs/heads/main\n".encode()
            run = run_timed("pre-receive", cwd=server.path, input=stdin)
    assert run.code == 2, run.all
    assert "tokens.txt" in run.err and "longer than" in run.err
    assert key not in run.all


# --- incomplete, even with findings ----------------------------------------------------------


@pytest.fixture
def partial_clone(tmp_path: Path) -> tuple[Path, str, str]:
    src = GitRepo(tmp_path / "src")
    src.git("config", "uploadpack.allowFilter", "true")
    base = src.commit_file("README.md", "clean\n", "base")
    src.commit_file("conf.py", f'KIMI_API_KEY = "{kimi_code_key()}"\n', "key")
    src.commit(f"MOONSHOT_API_KEY={moonshot_key()}", allow_empty=True)
    clone = tmp_path / "clone"
    subprocess.run(
        [
            "git",
            "clone",
            "-q",
            "--no-checkout",
            "--filter=blob:none",
            f"file://{src.path}",
            str(clone),
        ],
        check=True,
    )
    return clone, base, src.head()


def test_keys_found_and_objects_missing_say_incomplete(
    partial_clone: tuple[Path, str, str],
) -> None:
    clone, base, _ = partial_clone
    spec = f"{base}..HEAD"
    run = run_cli("range", spec, "--format", "json", cwd=clone)
    assert run.code == 1, run.all  # the commit message's key
    data = report(run)
    assert data["stats"]["complete"] is False
    [missing] = data["stats"]["incomplete"]
    assert "promisor object of this partial clone, never downloaded" in missing["reason"]
    assert "git fsck" not in run.all
    text = run_cli("range", spec, cwd=clone)
    assert "INCOMPLETE: 1 item could not be read or scanned" in text.out
    sarif = json.loads(run_cli("range", spec, "--format", "sarif", cwd=clone).out)
    validate(sarif)
    invocation = sarif["runs"][0]["invocations"][0]
    assert invocation["executionSuccessful"] is False
    assert any(n["level"] == "warning" for n in invocation["toolExecutionNotifications"])
    # The printed command, verbatim, fetches what was missing; the scan is then complete.
    command = missing["reason"].split("`")[1]
    assert command == "git fetch --refetch --no-filter origin"
    subprocess.run(command.split(), cwd=clone, check=True, capture_output=True)
    after = run_cli("range", spec, "--format", "json", cwd=clone)
    assert after.code == 1 and report(after)["stats"]["complete"] is True
    assert {f["path"] for f in report(after)["findings"]} >= {"conf.py"}


def test_the_documented_command_fails_on_a_new_suppression(tmp_path: Path) -> None:
    key = moonshot_key()
    _server, work, _ = setup(tmp_path, hook=False)
    suppress(work, "allow-regexes", key)
    snippet = readme_block("--no-new-suppressions", "sh")
    env = {**os.environ, **scanner_path_env()}
    proc = subprocess.run(
        ["sh", "-c", snippet], cwd=work.path, env=env, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "suppressed by this change: " in proc.stdout and key not in proc.stdout + proc.stderr


def test_a_file_over_the_default_size_limit_fails_the_gate(tmp_path: Path) -> None:
    """The default limit bounds a hook's memory; crossing it is not a pass (exit 2). A limit
    the user sets is an accepted skip: exit 0, and a warning."""
    _server, work, base = setup(tmp_path, hook=False)
    big = work.path / "dump.bin"
    with big.open("wb") as handle:
        handle.truncate(100 * 1024 * 1024 + 1)  # one byte over the default, zeros
    work.add("dump.bin")
    run = run_cli("staged", cwd=work.path)
    assert run.code == 2, run.all
    assert "dump.bin" in run.err and "size limit" in run.err and "incomplete" in run.err
    accepted = run_cli("staged", "--max-file-size", "1000", cwd=work.path)
    assert accepted.code == 0 and "skipped dump.bin: larger than the size limit" in accepted.out
    work.commit("dump")
    run = run_cli("range", f"{base}..HEAD", "--format", "json", cwd=work.path)
    assert run.code == 2, run.all
    assert report(run)["stats"]["complete"] is False
    assert run_cli("range", f"{base}..HEAD", "--max-file-size", "1000", cwd=work.path).code == 0


@pytest.mark.parametrize("how", ["config names it", "symbolic link", "default name linked"])
def test_a_baseline_outside_the_repository_chosen_by_the_change_is_not_trusted(
    tmp_path: Path, how: str
) -> None:
    # A file outside the repository that holds the key's hash (a shared runner's /tmp, a
    # sibling checkout) was trusted as "not the change's to edit" even when the change's own
    # configuration, or a symbolic link it commits, chose it: the key was hidden silently,
    # even under --no-new-suppressions.
    import hashlib

    key = moonshot_key()
    _server, work, base = setup(tmp_path, hook=False)
    outside = tmp_path / "shared" / "known.toml"
    outside.parent.mkdir()
    sha = hashlib.sha256(key.encode()).hexdigest()
    outside.write_text(f'version = 1\n\n[[known]]\nsha256 = "{sha}"\nrule = "moonshot-api-key"\n')
    if how == "config names it":
        work.write(".kimi-secret-scan.toml", f"baseline = {json.dumps(str(outside))}\n")
    elif how == "symbolic link":
        work.write(".kimi-secret-scan.toml", 'baseline = "known.toml"\n')
        (work.path / "known.toml").symlink_to(outside)
    else:
        (work.path / ".kimi-secret-scan-baseline.toml").symlink_to(outside)
    work.write("app.py", f'MOONSHOT_API_KEY = "{key}"\n')
    work.add()
    work.commit("add app")
    run = gate_run("range", work, base, "--no-new-suppressions")
    assert run.code == 1, run.all
    assert "hidden by suppressions this change added: failing" in run.err
    assert key not in run.all


def test_a_baseline_outside_named_by_the_base_side_stays_trusted(tmp_path: Path) -> None:
    import hashlib

    key = moonshot_key()
    _server, work, _ = setup(tmp_path, hook=False)
    outside = tmp_path / "shared" / "known.toml"
    outside.parent.mkdir()
    sha = hashlib.sha256(key.encode()).hexdigest()
    outside.write_text(f'version = 1\n\n[[known]]\nsha256 = "{sha}"\nrule = "moonshot-api-key"\n')
    base = work.commit_file(
        ".kimi-secret-scan.toml", f"baseline = {json.dumps(str(outside))}\n", "policy"
    )
    work.commit_file("app.py", f'MOONSHOT_API_KEY = "{key}"\n', "add app")
    run = gate_run("range", work, base, "--no-new-suppressions", "--format", "json")
    assert run.code == 0, run.all
    assert report(run)["suppressed"] == []


def _zip(name: str, data: bytes) -> bytes:
    import io
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, data)
    return out.getvalue()


UNOPENABLE = ["encrypted flag", "deflate64", "truncated gzip", "too deep"]


def _unopenable(how: str, key: str) -> bytes:
    """A container holding `key` deflated (so not in its own bytes) that is not unpacked."""
    import gzip

    payload = f"KIMI_API_KEY={key}\n".encode()
    if how == "encrypted flag":
        data = bytearray(_zip(".env", payload))
        data[6] |= 1  # "encrypted": the member is plain deflate all the same
        data[data.find(b"PK\x01\x02") + 8] |= 1
        return bytes(data)
    if how == "deflate64":
        # Method 9 (7-Zip's -mm=Deflate64, Windows' Explorer): zipfile cannot read it.
        data = bytearray(_zip(".env", payload + b"x" * 300))
        data[8:10] = (9).to_bytes(2, "little")
        central = data.find(b"PK\x01\x02")
        data[central + 10 : central + 12] = (9).to_bytes(2, "little")
        return bytes(data)
    if how == "truncated gzip":
        return gzip.compress(payload + b"x" * 100)[:-8]
    data = payload
    for _ in range(7):  # deeper than max-unpack-depth
        data = _zip("inner.zip", data)
    return data


@pytest.mark.parametrize("how", UNOPENABLE)
def test_a_container_the_gate_cannot_open_fails_it(tmp_path: Path, how: str) -> None:
    key = kimi_code_key()
    _server, work, base = setup(tmp_path, hook=True)
    work.commit_file("backup.bin", _unopenable(how, key), "backup")
    for gate in ("range", "ci", "pre-push"):
        run = gate_run(gate, work, base)
        assert run.code == 2, (gate, run.all)
        assert "incomplete" in run.all and key not in run.all
    proc = push(work, "origin", "main")
    assert proc.returncode != 0, proc.stderr
    # The base side can accept it by excluding the file.
    work.commit_file(".kimi-secret-scan.toml", 'exclude = ["backup.bin"]\n', "accept")
    accepted = work.head()
    work.commit_file("backup2.bin", b"plain\n", "more")
    work.commit_file("backup.bin", _unopenable(how, kimi_code_key()), "backup again")
    assert gate_run("range", work, accepted).code == 0


@pytest.mark.parametrize("how", UNOPENABLE)
def test_staged_fails_on_a_container_it_cannot_open_in_every_format(
    tmp_path: Path, how: str
) -> None:
    # `staged` said a member it could not unpack with a note and exit 0, where range
    # failed on the same commit: a key inside went in through the pre-commit hook.
    key = kimi_code_key()
    work = GitRepo(tmp_path / "work")
    work.commit_file("README.md", "hello\n", "base")
    work.write("backup.bin", _unopenable(how, key))
    work.add("backup.bin")
    # As the hook runs it: no paths, and the staged files named (the pre-commit framework).
    for args in ((), ("backup.bin",)):
        for fmt in ("text", "json", "sarif", "github"):
            run = run_cli("staged", *args, "--format", fmt, cwd=work.path)
            assert run.code == 2, (args, fmt, run.all)
            assert key not in run.all and "backup.bin" in run.all
            if fmt == "json":
                stats = report(run)["stats"]
                assert stats["complete"] is False, stats
                assert any(s["path"].startswith("backup.bin") for s in stats["incomplete"])
            elif fmt == "sarif":
                invocation = json.loads(run.out)["runs"][0]["invocations"][0]
                assert invocation["executionSuccessful"] is False
            elif fmt == "github":
                assert "::warning" in run.out or "::error" in run.out, run.out
            else:
                assert "INCOMPLETE" in run.out or "incomplete" in run.err, run.all
    # Named but already committed (pre-commit run --all-files): scanned whole, still a gate.
    work.commit("backup")
    run = run_cli("staged", "backup.bin", cwd=work.path)
    assert run.code == 2, run.all
    # The project's own configuration accepts it by excluding the file.
    work.write(".kimi-secret-scan.toml", 'exclude = ["backup.bin"]\n')
    work.write("backup.bin", _unopenable(how, kimi_code_key()))
    work.add("backup.bin")
    assert run_cli("staged", cwd=work.path).code == 0
    assert run_cli("staged", "backup.bin", cwd=work.path).code == 0


def test_commit_msg_fails_on_a_message_file_it_cannot_unpack(tmp_path: Path) -> None:
    key = kimi_code_key()
    work = GitRepo(tmp_path / "work")
    work.commit_file("README.md", "hello\n", "base")
    message = tmp_path / "MSG"
    message.write_bytes(_unopenable("truncated gzip", key))
    run = run_cli("commit-msg", str(message), "--format", "json", cwd=work.path)
    assert run.code == 2, run.all
    assert report(run)["stats"]["complete"] is False


@pytest.mark.parametrize("limit", ["max-unpacked-members = 0", "max-unpacked-bytes = 1"])
def test_container_limits_the_change_sets_do_not_apply(tmp_path: Path, limit: str) -> None:
    key = kimi_code_key()
    _server, work, base = setup(tmp_path, hook=False)
    work.write(".kimi-secret-scan.toml", limit + "\n")
    work.write("backup.zip", _zip(".env", f"KIMI_API_KEY={key}\n".encode()))
    work.add()
    work.commit("backup, and a limit")
    run = gate_run("range", work, base, "--format", "json")
    assert run.code == 1, run.all
    assert [f["path"] for f in report(run)["findings"]] == ["backup.zip!.env"]


def test_a_minimum_confidence_the_change_sets_does_not_apply(tmp_path: Path) -> None:
    # `min-confidence = "high"` in the change's own configuration once let its medium
    # findings (a secret assigned to MOONSHOT_API_KEY) pass every gate with exit 0.
    secret = "abcd" + body(40)
    _server, work, base = setup(tmp_path, hook=False)
    work.write(".kimi-secret-scan.toml", 'min-confidence = "high"\n')
    work.write("x.env", f"MOONSHOT_API_KEY={secret}\n")
    work.add()
    work.commit("a setting, and a threshold")
    for gate in ("range", "ci", "pre-push"):
        run = gate_run(gate, work, base)
        assert run.code == 1, (gate, run.all)
    # The base side's threshold, or the command line's, still decides.
    assert gate_run("range", work, base, "--min-confidence", "high").code == 0
    policy = work.commit_file(
        ".kimi-secret-scan.toml", '# the policy\nmin-confidence = "high"\n', "policy"
    )
    work.commit_file("y.env", f"MOONSHOT_API_KEY={secret[::-1]}\n", "another")
    assert gate_run("range", work, policy).code == 0


# --- a configuration the change links outside ------------------------------------------------

LINKED = {
    # what the file outside says; the base side says `new-suppressions = "fail"`
    "exclude": 'exclude = ["*.env"]\n',
    "min-confidence": 'min-confidence = "high"\n',
    "max-file-size": "max-file-size = 1\n",
    "nothing (/dev/null)": None,
}


@pytest.mark.parametrize("what", LINKED)
def test_a_configuration_the_change_links_outside_is_still_the_changes(
    tmp_path: Path, what: str
) -> None:
    """A change that commits `.kimi-secret-scan.toml` as a link to a file outside the
    checkout had its configuration trusted wholesale, as if the user had named it: the key
    was hidden, or the base side's `new-suppressions = "fail"` was gone, with exit 0."""
    key = moonshot_key()
    server, work, _ = setup(tmp_path, hook=True)
    (server.path / ".kimi-secret-scan.toml").write_text('new-suppressions = "fail"\n')
    base = work.commit_file(".kimi-secret-scan.toml", 'new-suppressions = "fail"\n', "policy")
    assert push(work, "origin", "main").returncode == 0
    work.git("fetch", "-q", "origin")
    text = LINKED[what]
    outside = Path("/dev/null")
    if text is not None:
        outside = tmp_path / "left-by-an-earlier-step.toml"
        outside.write_text(text)
    (work.path / ".kimi-secret-scan.toml").unlink()
    (work.path / ".kimi-secret-scan.toml").symlink_to(outside)
    if what == "min-confidence":
        work.write("x.env", f"MOONSHOT_API_KEY={'abcd' + body(40)}\n")  # a medium finding
    else:
        allow = "  # kimi-secret-scan: allow" if text is None else ""
        work.write("x.env", f"MOONSHOT_API_KEY={key}{allow}\n")
    work.add()
    work.commit("a key, and the configuration as a link")
    for gate in ("range", "ci", "pre-push"):
        run = gate_run(gate, work, base, "--format", "json")
        assert run.code == 1, (gate, run.all)
        hidden = [f["path"] for f in report(run)["findings"] + report(run)["suppressed"]]
        assert hidden == ["x.env"], (gate, run.all)
        assert key not in run.all
    proc = push(work, "origin", "main")
    assert proc.returncode != 0 and "x.env:1:" in proc.stderr, proc.stderr


def test_a_baseline_the_user_names_that_the_change_links_outside_is_not_trusted(
    tmp_path: Path,
) -> None:
    import hashlib

    key = moonshot_key()
    _server, work, base = setup(tmp_path, hook=False)
    outside = tmp_path / "shared" / "known.toml"
    outside.parent.mkdir()
    sha = hashlib.sha256(key.encode()).hexdigest()
    outside.write_text(f'version = 1\n\n[[known]]\nsha256 = "{sha}"\nrule = "moonshot-api-key"\n')
    (work.path / "known.toml").symlink_to(outside)
    work.write("app.py", f'MOONSHOT_API_KEY = "{key}"\n')
    work.add()
    work.commit("add app")
    run = gate_run("range", work, base, "--baseline", "known.toml", "--no-new-suppressions")
    assert run.code == 1, run.all
    assert "hidden by suppressions this change added: failing" in run.err


def test_a_configuration_linked_inside_the_base_commit_is_read_through_its_link(
    tmp_path: Path,
) -> None:
    key = moonshot_key()
    _server, work, _ = setup(tmp_path, hook=False)
    work.write("config/scan.toml", 'exclude = ["fixtures/**"]\n')
    (work.path / ".kimi-secret-scan.toml").symlink_to("config/scan.toml")
    work.add()
    base = work.commit("policy, through a link")
    work.commit_file("fixtures/app.py", f'KEY = "{key}"\n', "fixture")
    run = gate_run("range", work, base, "--no-new-suppressions", "--format", "json")
    assert run.code == 0, run.all
    assert report(run)["suppressed"] == [] and report(run)["stats"]["suppressed"] == 1


# --- the hooks: what the staged change's own suppressions hide (round-6 review A #11) --------


def stage_suppression(work: GitRepo, how: str, key: str) -> str:
    """`suppress`, staged and not committed: the change the pre-commit hook sees."""
    head = work.head()
    kind = suppress(work, how, key)
    work.git("reset", "-q", "--soft", head)
    return kind


@pytest.mark.parametrize("how", SUPPRESSIONS)
def test_staged_says_a_suppression_the_change_adds_in_every_format(
    tmp_path: Path, how: str
) -> None:
    """A staged `exclude` (or any suppression the staged change adds) hid a staged key with
    only "1 allowed": JSON `suppressed: []`, no GitHub warning, where `range` said it."""
    key = moonshot_key()
    work = GitRepo(tmp_path / "work")
    work.commit_file("README.md", "hello\n", "base")
    kind = stage_suppression(work, how, key)

    run = run_cli("staged", "--format", "json", cwd=work.path)
    assert run.code == 0, run.all  # reported, not failing, by default
    [hidden] = [h for h in report(run)["suppressed"] if h["path"] == "app.py"]
    assert hidden["kind"] == kind and "this change" in hidden["justification"]
    assert key not in run.all

    text = run_cli("staged", cwd=work.path)
    assert "suppressed by this change: app.py:1:" in text.out, text.all
    assert "of them by suppressions this change added" in text.out
    assert "hidden by suppressions this change added: reported, not failing" in text.err

    sarif = json.loads(run_cli("staged", "--format", "sarif", cwd=work.path).out)
    validate(sarif)
    [result] = [
        r
        for r in sarif["runs"][0]["results"]
        if r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "app.py"
    ]
    assert result["suppressions"][0]["kind"] == kind

    github = run_cli("staged", "--format", "github", cwd=work.path)
    assert "::warning file=app.py,line=1," in github.out, github.all

    failing = run_cli("staged", "--no-new-suppressions", cwd=work.path)
    assert failing.code == 1, failing.all
    assert "hidden by suppressions this change added: failing" in failing.err
    # Committed, range says the same of the same change.
    work.commit("the change")
    assert run_cli("range", "HEAD~1..HEAD", "--no-new-suppressions", cwd=work.path).code == 1


def test_staged_heads_configuration_decides_to_fail_and_its_suppressions_stay_silent(
    tmp_path: Path,
) -> None:
    key = moonshot_key()
    work = GitRepo(tmp_path / "work")
    work.commit_file(
        ".kimi-secret-scan.toml",
        'new-suppressions = "fail"\nexclude = ["fixtures/**"]\n',
        "policy",
    )
    # HEAD's own exclude: trusted, silent, even with --no-new-suppressions.
    work.write("fixtures/app.py", f'KEY = "{key}"\n')
    work.add()
    run = run_cli("staged", "--no-new-suppressions", "--format", "json", cwd=work.path)
    assert run.code == 0, run.all
    assert report(run)["suppressed"] == [] and report(run)["stats"]["suppressed"] == 1
    work.commit("fixture")
    # A staged change that relaxes the policy and excludes its own key: HEAD's policy fails it.
    work.write(".kimi-secret-scan.toml", 'new-suppressions = "report"\nexclude = ["*.py"]\n')
    work.write("app.py", f'KEY = "{moonshot_key()}"\n')
    work.add()
    run = run_cli("staged", cwd=work.path)
    assert run.code == 1, run.all
    assert "suppressed by this change: app.py:1:" in run.out


def test_staged_a_container_the_staged_configuration_excludes_still_fails(
    tmp_path: Path,
) -> None:
    """What the hook may leave unopened is what HEAD's configuration excludes, not the
    staged change's (as the base side's in the commit gates)."""
    work = GitRepo(tmp_path / "work")
    work.commit_file("README.md", "hello\n", "base")
    work.write(".kimi-secret-scan.toml", 'exclude = ["backup.bin"]\n')
    work.write("backup.bin", _unopenable("truncated gzip", kimi_code_key()))
    work.add()
    run = run_cli("staged", cwd=work.path)
    assert run.code == 2, run.all
    work.commit("accept the backup")
    work.write("backup.bin", _unopenable("truncated gzip", kimi_code_key()))
    work.add()
    assert run_cli("staged", cwd=work.path).code == 0


def test_commit_msg_says_a_suppression_the_change_adds(tmp_path: Path) -> None:
    key = moonshot_key()
    work = GitRepo(tmp_path / "work")
    work.commit_file("README.md", "hello\n", "base")
    work.write(".kimi-secret-scan.toml", 'allow-regexes = ["."]\n')
    work.add()
    message = tmp_path / "MSG"
    message.write_text(f"configure MOONSHOT_API_KEY={key}\n")
    run = run_cli("commit-msg", str(message), "--format", "json", cwd=work.path)
    assert run.code == 0, run.all
    [hidden] = report(run)["suppressed"]
    assert "allow-regexes" in hidden["justification"] and key not in run.all
    failing = run_cli("commit-msg", str(message), "--no-new-suppressions", cwd=work.path)
    assert failing.code == 1, failing.all
    assert "suppressed by this change: " in failing.out
