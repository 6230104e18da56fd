"""`kimi-secret-scan audit` and `merge` against real repositories served by `git daemon` on
127.0.0.1 and by file://: cloning, fetching on a rerun, shards, unreachable hosts."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from kimi_secret_scan.finding import redact
from kimi_secret_scan.org.run import Display, Outcome
from tests.gitrepo import GitRepo, run_cli
from tests.keygen import kimi_code_key
from tests.orgsetup import Org, build_org, closed_port, git_daemon, merged_json
from tests.test_sarif import validate

NO_CI = {"CI": ""}


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Org:
    return build_org(tmp_path_factory.mktemp("org"))


def _targets(org: Org, base: str) -> list[str]:
    return [f"{base}/{name}.git" for name in org.names]


def test_three_shards_merged_equal_one_unsharded_run(org: Org, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    with git_daemon(org.served) as base:
        listing = tmp_path / "targets.txt"
        listing.write_text("# the organisation\n" + "\n".join(_targets(org, base)) + "\n")
        whole = run_cli(
            "audit",
            "--targets",
            str(listing),
            "--cache",
            str(cache),
            "--output-dir",
            str(tmp_path / "all"),
            "--format",
            "json",
            "-j",
            "2",
            cwd=tmp_path,
            env=NO_CI,
        )
        shards = []
        for k in (1, 2):
            shards.append(
                run_cli(
                    "audit",
                    "--targets",
                    str(listing),
                    "--shard",
                    f"{k}/3",
                    "--cache",
                    str(cache),
                    "--output-dir",
                    str(tmp_path / f"shard{k}"),
                    "-j",
                    "2",
                    cwd=tmp_path,
                    env=NO_CI,
                )
            )
        # The third as GitLab `parallel: 3` runs it: no flag, the shard from the environment.
        shards.append(
            run_cli(
                "audit",
                "--targets",
                str(listing),
                "--cache",
                str(cache),
                "--output-dir",
                str(tmp_path / "shard3"),
                "-j",
                "2",
                cwd=tmp_path,
                env={"CI": "true", "CI_NODE_INDEX": "3", "CI_NODE_TOTAL": "3"},
            )
        )
    assert whole.code == 1, whole.all
    for k, run in enumerate(shards, 1):
        assert run.code in (0, 1), run.all
        assert f"shard {k}/3:" in run.err
    # Every target in exactly one shard, and all of them together.
    per_shard = [
        sorted(p.name for p in (tmp_path / f"shard{k}").glob("*.json") if "-shard-" not in p.name)
        for k in (1, 2, 3)
    ]
    every = [name for names in per_shard for name in names]
    assert sorted(every) == sorted(p.name for p in (tmp_path / "all").glob("*.json"))
    assert len(every) == len(set(every)) == len(org.names) == 20
    assert all(per_shard), "a 20-target list leaves no shard of 3 empty (stable hash)"

    merged = run_cli(
        "merge",
        str(tmp_path / "shard1"),
        str(tmp_path / "shard2"),
        str(tmp_path / "shard3"),
        "--format",
        "json",
        cwd=tmp_path,
    )
    assert merged.code == 1, merged.all
    assert merged_json(merged) == merged_json(whole)

    data = merged_json(whole)
    assert data["summary"]["keys"] == 3
    assert data["summary"]["audited"] == 20
    assert data["summary"]["repositories_affected"] == 5
    shared = [k for k in data["keys"] if k["key"] == redact(org.shared_key)]
    assert len(shared) == 1
    repos = {r["repository"]: r for r in shared[0]["repositories"]}
    assert sorted(repos) == sorted(f"127.0.0.1:{base.rsplit(':', 1)[1]}/{n}" for n in org.shared_in)
    removed_from = repos[next(r for r in repos if r.endswith(org.names[7]))]
    assert removed_from["in_default_branch"] is False
    assert removed_from["removed"]["commit"]
    assert all(
        repos[r]["in_default_branch"]
        for r in repos
        if r != next(iter(r for r in repos if r.endswith(org.names[7])))
    )
    feature_only = next(k for k in data["keys"] if k["key"] == redact(org.keys[org.names[9]][0]))
    (repo9,) = feature_only["repositories"]
    assert repo9["on_default_branch"] is False
    assert repo9["refs"] == ["refs/heads/feature"]
    text = whole.out + whole.err + merged.out
    for keys in org.keys.values():
        for key in keys:
            assert key not in text
    for report in (tmp_path / "all").glob("*.json"):
        assert org.shared_key not in report.read_text()


def test_rerun_fetches_and_skips_what_did_not_change(tmp_path: Path) -> None:
    served = tmp_path / "served"
    a = GitRepo(served / "a.git", bare=True)
    b = GitRepo(served / "b.git", bare=True)
    work = GitRepo(tmp_path / "work")
    work.commit_file("README.md", "hello\n")
    work.git("push", "-q", str(a.path), "main")
    work.git("push", "-q", str(b.path), "main")
    cache, out = tmp_path / "cache", tmp_path / "out"
    with git_daemon(served) as base:
        args = (
            "audit",
            f"{base}/a.git",
            f"{base}/b.git",
            "--cache",
            str(cache),
            "--output-dir",
            str(out),
            "-j",
            "2",
        )
        first = run_cli(*args, cwd=tmp_path, env=NO_CI)
        assert first.code == 0, first.all
        assert "unchanged" not in first.err
        assert len(list(cache.glob("*.git"))) == 2
        again = run_cli(*args, cwd=tmp_path, env=NO_CI)
        assert again.code == 0, again.all
        assert again.err.count("unchanged since the last run") == 2
        key = kimi_code_key()
        work.commit_file("deploy.env", f"KIMI_API_KEY={key}\n")
        work.git("push", "-q", str(b.path), "main")
        third = run_cli(*args, "--format", "json", cwd=tmp_path, env=NO_CI)
    assert third.code == 1, third.all
    assert third.err.count("unchanged since the last run") == 1
    data = json.loads(third.out)
    assert [k["key"] for k in data["keys"]] == [redact(key)]
    assert next(r["repository"] for r in data["keys"][0]["repositories"]).endswith("/b")
    assert key not in third.all


def test_unreachable_host_and_missing_repository_exit_2_after_the_others(
    tmp_path: Path,
) -> None:
    served = tmp_path / "served"
    good = GitRepo(tmp_path / "good")
    key = kimi_code_key()
    good.commit_file("app.py", f'KIMI_API_KEY = "{key}"\n')
    GitRepo(served / "exists.git", bare=True)
    good.git("push", "-q", str(served / "exists.git"), "main")
    with closed_port() as port, git_daemon(served) as base:
        run = run_cli(
            "audit",
            f"{base}/exists.git",
            f"{base}/missing.git",
            f"git://127.0.0.1:{port}/nothing.git",
            f"file://{tmp_path}/nowhere.git",
            "--cache",
            str(tmp_path / "cache"),
            "--output-dir",
            str(tmp_path / "out"),
            cwd=tmp_path,
            env=NO_CI,
        )
    assert run.code == 2, run.all
    assert "access denied or repository not exported" in run.all  # git daemon's own reason
    assert "Connection refused" in run.all
    assert "nowhere.git' does not appear to be a git repository" in run.all
    assert "4 of" not in run.out
    assert "1 distinct key(s) in 1 of 1 audited repositories" in run.out
    assert run.out.count("could not be audited:") == 3
    assert key not in run.all
    # The merge of what was written says the same, and exits 2 too.
    merged = run_cli("merge", str(tmp_path / "out"), cwd=tmp_path)
    assert merged.code == 2
    assert merged.out == run.out


def test_file_urls_local_paths_and_stdin(tmp_path: Path) -> None:
    key = kimi_code_key()
    local = GitRepo(tmp_path / "local")
    local.commit_file("a.txt", f"KIMI_API_KEY={key}\n")
    bare = tmp_path / "bare.git"
    local.git("clone", "-q", "--bare", str(local.path), str(bare))
    listing = f"{local.path}\nfile://{bare}\n# a comment\n\n"
    run = run_cli(
        "audit",
        "-",
        "--cache",
        str(tmp_path / "cache"),
        "--output-dir",
        str(tmp_path / "o"),
        "--format",
        "json",
        cwd=tmp_path,
        env=NO_CI,
        input=listing.encode(),
    )
    assert run.code == 1, run.all
    data = json.loads(run.out)
    (only,) = data["keys"]
    assert sorted(r["repository"] for r in only["repositories"]) == sorted(
        # A file:// URL is a path, named as written: `r` and `r.git` may be two repositories.
        [str(local.path), str(bare)]
    )
    assert not (local.path / "kimi-secret-scan-audit").exists()
    # The mirrors hold the keys: the cache is this user's alone.
    assert (tmp_path / "cache").stat().st_mode & 0o777 == 0o700


def test_the_cache_and_reports_never_go_inside_an_audited_repository(tmp_path: Path) -> None:
    local = GitRepo(tmp_path / "local")
    local.commit_file("a.txt", "x\n")
    before = sorted(p.name for p in local.path.iterdir())
    run = run_cli("audit", ".", cwd=local.path, env=NO_CI)
    assert run.code == 2
    assert "is being audited" in run.err
    run = run_cli(
        "audit",
        ".",
        "--output-dir",
        str(tmp_path / "o"),
        "--cache",
        "cache",
        cwd=local.path,
        env=NO_CI,
    )
    assert run.code == 2
    assert "the cache" in run.err
    assert sorted(p.name for p in local.path.iterdir()) == before


@pytest.mark.parametrize(
    "target",
    [
        "ext::sh -c touch% pwned",
        "fd::17",
        "-uhttps://example.invalid/x",
        "--upload-pack=touch pwned",
        "foo://127.0.0.1/x",
    ],
)
def test_dangerous_targets_are_refused_before_git_runs(tmp_path: Path, target: str) -> None:
    run = run_cli(
        "audit",
        "--output-dir",
        str(tmp_path / "o"),
        "--cache",
        str(tmp_path / "c"),
        "--",
        target,
        cwd=tmp_path,
        env=NO_CI,
    )
    assert run.code == 2, run.all
    assert "not allowed" in run.err or "cannot start with '-'" in run.err
    assert not (tmp_path / "pwned").exists()
    assert not (tmp_path / "c").exists()


def test_merge_carries_verification_and_orders_live_keys_first(tmp_path: Path) -> None:
    def report(name: str, groups: list[dict[str, Any]]) -> Path:
        path = tmp_path / f"{name}.json"
        findings = [
            {
                "secret_sha256": g["secret_sha256"],
                "path": ".env",
                "line": 1,
                "commit": "c" * 40,
                "date": "2026-01-02T00:00:00+00:00",
            }
            for g in groups
        ]
        path.write_text(
            json.dumps(
                {
                    "tool": "kimi-secret-scan",
                    "mode": "history",
                    "findings": findings,
                    "groups": groups,
                    "target": {"name": name, "key": name},
                }
            )
        )
        return path

    def group(sha: str, verdict: str | None) -> dict[str, Any]:
        g: dict[str, Any] = {
            "key": f"sk-{sha[:4]}…{sha[-4:]}",
            "secret_sha256": sha * 64,
            "key_kind": "kimi-code",
            "rule": "kimi-code-api-key",
            "refs": ["refs/heads/main"],
            "in_head": True,
            "head_paths": [".env"],
            "first_appearance": {"date": f"2026-01-0{len(sha)}T00:00:00+00:00"},
        }
        if verdict:
            g["verification"] = {"status": verdict, "reason": "HTTP 401", "host": "api.kimi.com"}
        return g

    files = [
        report("one", [group("a", "revoked"), group("b", None)]),
        report("two", [group("a", "revoked"), group("c", "live")]),
    ]
    run = run_cli("merge", *map(str, files), "--format", "json", cwd=tmp_path)
    assert run.code == 1, run.all
    data = json.loads(run.out)
    assert [k["secret_sha256"][0] for k in data["keys"]] == ["c", "b", "a"]
    assert data["keys"][0]["verification"]["status"] == "live"
    assert [len(k["repositories"]) for k in data["keys"]] == [1, 1, 2]
    assert data["summary"]["live"] == 1 and data["summary"]["revoked"] == 1
    assert data["summary"]["unverified"] == 1
    # A revoked key needs no revoking: the plan names only the others.
    revoke = " ".join(data["plan"]["revoke"])
    assert "#1" in revoke and "#2" in revoke and "#3" not in revoke
    text = run_cli("merge", *map(str, files), cwd=tmp_path)
    assert "(Kimi Code key, live)" in text.out
    sarif = json.loads(run_cli("merge", *map(str, files), "--format", "sarif", cwd=tmp_path).out)
    assert len(sarif["runs"][0]["results"]) == 4
    validate(sarif)


def test_merge_refuses_what_is_not_a_report(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text("[]")
    run = run_cli("merge", str(tmp_path / "x.json"), cwd=tmp_path)
    assert run.code == 2
    assert "not a kimi-secret-scan report" in run.err
    # Valid JSON from our tool's name, with fields of other types (hostile review 2).
    for body in ('"groups": [1]', '"groups": [{"refs": "abc"}]', '"groups": [], "target": [1]'):
        (tmp_path / "y.json").write_text('{"tool": "kimi-secret-scan", ' + body + "}")
        run = run_cli("merge", str(tmp_path / "y.json"), cwd=tmp_path)
        assert run.code == 2 and "its fields have other types" in run.err, run.all
        assert "internal error" not in run.err


def test_progress_shows_per_repository_and_overall_only_when_asked(tmp_path: Path) -> None:
    local = GitRepo(tmp_path / "local")
    local.commit_file("a.txt", "x\n")
    quiet = run_cli("audit", str(local.path), "--output-dir", "o1", cwd=tmp_path, env={"CI": "1"})
    assert quiet.code == 0, quiet.all
    assert "\r" not in quiet.err
    shown = run_cli(
        "audit",
        str(local.path),
        "--output-dir",
        "o2",
        "--progress",
        cwd=tmp_path,
        env={"CI": "1"},
    )
    assert shown.code == 0, shown.all
    assert "\raudit 1/1" in shown.err  # redrawn after the target finished, then cleared
    assert shown.err.endswith("\r\x1b[K")


def test_the_progress_line_names_each_running_repository() -> None:
    stream = io.StringIO()
    display = Display(3, live=True, stream=stream)
    display.update("acme/api", "receiving objects", 50, 200)
    display.update("acme/web", "scanning", 1200, 0)
    assert stream.getvalue().endswith(
        "\raudit 0/3 | acme/api: receiving objects 25% | acme/web: scanning 1,200\x1b[K"
    )
    display.finished(Outcome("acme/api", "failed", error="remote error: \x1b[2J"))
    assert "[1/3] acme/api: could not be audited: remote error: \\x1b[2J\n" in stream.getvalue()
    assert stream.getvalue().endswith("\raudit 1/3, 1 failed | acme/web: scanning 1,200\x1b[K")


def test_a_repository_read_incompletely_is_never_reported_clean(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "r")
    repo.write("a.txt", "a\n")
    repo.write("b.txt", "b\n")
    repo.add()
    repo.commit()
    blob = repo.git("rev-parse", "HEAD:b.txt").strip()
    (repo.path / ".git" / "objects" / blob[:2] / blob[2:]).unlink()
    run = run_cli("audit", str(repo.path), "--output-dir", str(tmp_path / "o"), cwd=tmp_path)
    assert run.code == 2, run.all
    assert "INCOMPLETE: 1 object(s) could not be read" in run.err
    assert "1 read incompletely" in run.out
    assert f"incomplete: {repo.path}: 1 object(s) could not be read" in run.out


def test_merge_takes_plain_history_reports_too(tmp_path: Path) -> None:
    key = kimi_code_key()
    reports = []
    for name in ("api", "web"):
        repo = GitRepo(tmp_path / name)
        repo.commit_file("settings.py", f'KIMI_API_KEY = "{key}"\n')
        out = tmp_path / f"{name}.json"
        run = run_cli("history", "--format", "json", "--output", str(out), cwd=repo.path)
        assert run.code == 1, run.all
        reports.append(str(out))
    merged = run_cli("merge", *reports, "--format", "json", cwd=tmp_path)
    assert merged.code == 1, merged.all
    (only,) = json.loads(merged.out)["keys"]
    assert sorted(r["repository"] for r in only["repositories"]) == ["api", "web"]


def test_control_characters_from_a_repository_never_reach_the_terminal(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "r")
    name = "evil\x1b]0;pwned\x07\x1b[2J.env"
    repo.commit_file(name, f"KIMI_API_KEY={kimi_code_key()}\n")
    run = run_cli("audit", str(repo.path), "--output-dir", str(tmp_path / "o"), cwd=tmp_path)
    assert run.code == 1, run.all
    assert "\x1b" not in run.out and "\x07" not in run.out
    assert "evil\\x1b]0;pwned\\x07\\x1b[2J.env" in run.out
    page = tmp_path / "audit.html"
    merged = run_cli("merge", str(tmp_path / "o"), "--format", "html", "--output", str(page),
                     cwd=tmp_path)  # fmt: skip
    assert merged.code == 1, merged.all
    html = page.read_text(encoding="utf-8")
    assert "\x1b" not in html and "\x07" not in html  # shown escaped in the page too
    assert "evil\\x1b]0;pwned" in html


def test_a_target_cannot_allow_its_own_keys(tmp_path: Path) -> None:
    """Its configuration and baseline are the repository's own files: not read in an audit."""
    repo = GitRepo(tmp_path / "r")
    key = kimi_code_key()
    repo.commit_file(".kimi-secret-scan.toml", "allow-regexes = ['.*']\n")
    repo.commit_file("app.py", f'KIMI_API_KEY = "{key}"\n')
    # Nor in `history`, unless named (docs/suppressions.md).
    assert run_cli("history", cwd=repo.path).code == 1
    assert run_cli("history", "--config", ".kimi-secret-scan.toml", cwd=repo.path).code == 0
    run = run_cli("audit", str(repo.path), "--output-dir", str(tmp_path / "o"), cwd=tmp_path)
    assert run.code == 1, run.all
    assert redact(key) in run.out


def test_reports_are_never_written_through_a_link_the_checkout_commits(tmp_path: Path) -> None:
    """`audit .` in a checkout that commits `kimi-secret-scan-audit -> /elsewhere` (the
    default --output-dir): refused, nothing written there (outfile's checks, as --output)."""
    victim = tmp_path / "victim"
    victim.mkdir()
    repo = GitRepo(tmp_path / "r")
    repo.write("a.txt", "x\n")
    (repo.path / "kimi-secret-scan-audit").symlink_to(victim)
    repo.add("a.txt", "kimi-secret-scan-audit")
    repo.commit()
    run = run_cli("audit", ".", cwd=repo.path, env=NO_CI)
    assert run.code == 2, run.all
    assert "is a symbolic link inside a repository" in run.err
    assert list(victim.iterdir()) == []


def test_a_report_planted_as_a_link_is_neither_followed_nor_read(tmp_path: Path) -> None:
    """The output directory lies in another checkout, which commits `<slug>.json` as a link
    to a clean report it forged: the audit of a leaking repository must not read as clean."""
    from kimi_secret_scan.org import targets

    leaking = GitRepo(tmp_path / "leaking")
    leaking.commit_file("app.env", f"KIMI_API_KEY={kimi_code_key()}\n")
    other = GitRepo(tmp_path / "other")
    forged = tmp_path / "forged.json"
    forged.write_text('{"tool": "kimi-secret-scan", "mode": "history", "groups": []}\n')
    slug = targets.parse(str(leaking.path)).slug
    (other.path / "out").mkdir()
    (other.path / "out" / f"{slug}.json").symlink_to(forged)
    run = run_cli("audit", str(leaking.path), "--output-dir", "out", cwd=other.path, env=NO_CI)
    assert run.code == 2, run.all
    assert "symbolic link" in run.err
    assert forged.read_text() == '{"tool": "kimi-secret-scan", "mode": "history", "groups": []}\n'


@pytest.mark.parametrize("where", ["reflog", "worktree HEAD"])
def test_a_rerun_audits_again_what_only_a_reflog_or_a_worktree_gained(
    tmp_path: Path, where: str
) -> None:
    """The ref tips are unchanged, but the scan reads more than them: a key committed then
    reset away (in a reflog only), or committed on another worktree's detached HEAD."""
    repo = GitRepo(tmp_path / "r")
    repo.commit_file("a.txt", "x\n")
    args = ("audit", str(repo.path), "--output-dir", str(tmp_path / "o"), "--no-progress")
    first = run_cli(*args, cwd=tmp_path, env=NO_CI)
    assert first.code == 0, first.all
    key = kimi_code_key()
    if where == "reflog":
        repo.commit_file("cfg.env", f"KIMI_API_KEY={key}\n")
        repo.git("reset", "-q", "--hard", "HEAD~")
    else:
        other = tmp_path / "wt"
        repo.git("worktree", "add", "-q", "--detach", str(other))
        (other / "cfg.env").write_text(f"KIMI_API_KEY={key}\n")
        repo.git("-C", str(other), "add", "cfg.env")
        repo.git("-C", str(other), "-c", "core.logAllRefUpdates=false", "commit", "-qm", "k")
    again = run_cli(*args, cwd=tmp_path, env=NO_CI)
    assert again.code == 1, again.all
    assert "unchanged since the last run" not in again.err
    assert redact(key) in again.out


@pytest.mark.parametrize("where", ["FETCH_HEAD", "MERGE_HEAD"])
def test_a_rerun_audits_again_what_only_a_name_outside_refs_gained(
    tmp_path: Path, where: str
) -> None:
    """No ref changed, yet history walks more (sources/hidden_refs.py): `git fetch URL
    branch` brings a key commit only FETCH_HEAD names; a stopped merge names one in
    MERGE_HEAD (here with no reflog naming it either)."""
    repo = GitRepo(tmp_path / "r")
    repo.commit_file("a.txt", "x\n")
    args = ("audit", str(repo.path), "--output-dir", str(tmp_path / "o"), "--no-progress")
    first = run_cli(*args, cwd=tmp_path, env=NO_CI)
    assert first.code == 0, first.all
    key = kimi_code_key()
    if where == "FETCH_HEAD":
        fork = GitRepo(tmp_path / "fork")
        fork.commit_file("a.txt", "x\n")
        fork.git("checkout", "-q", "-b", "feature")
        fork.commit_file("cfg.env", f"KIMI_API_KEY={key}\n")
        repo.git("fetch", "-q", str(fork.path), "feature")
    else:
        repo.git("checkout", "-q", "-b", "gone")
        repo.commit_file("cfg.env", f"KIMI_API_KEY={key}\n")
        commit = repo.head()
        repo.git("checkout", "-q", "-")
        repo.git("branch", "-q", "-D", "gone")
        (repo.path / ".git" / "logs" / "HEAD").unlink()
        (repo.path / ".git" / "MERGE_HEAD").write_text(commit + "\n")
    again = run_cli(*args, cwd=tmp_path, env=NO_CI)
    assert again.code == 1, again.all
    assert "unchanged since the last run" not in again.err
    assert redact(key) in again.out


def test_a_rerun_audits_again_what_the_last_run_could_not_read(tmp_path: Path) -> None:
    """A shallow clone's audit is incomplete and says to `git fetch --unshallow`; that
    changes no ref, and the rerun must read the history it brought."""
    source = GitRepo(tmp_path / "src")
    key = kimi_code_key()
    source.commit_file("cfg.env", f"KIMI_API_KEY={key}\n")
    source.git("rm", "-q", "cfg.env")
    source.commit("removed")
    source.commit_file("a.txt", "x\n")
    clone = tmp_path / "shallow"
    source.git("clone", "-q", "--depth", "1", f"file://{source.path}", str(clone))
    args = ("audit", str(clone), "--output-dir", str(tmp_path / "o"), "--no-progress")
    first = run_cli(*args, cwd=tmp_path, env=NO_CI)
    assert first.code == 2, first.all
    assert "--unshallow" in first.out
    GitRepo(clone).git("fetch", "-q", "--unshallow")
    again = run_cli(*args, cwd=tmp_path, env=NO_CI)
    assert again.code == 1, again.all
    assert "unchanged since the last run" not in again.err
    assert redact(key) in again.out


def test_reports_never_go_into_a_git_directory(tmp_path: Path) -> None:
    audited = GitRepo(tmp_path / "audited")
    audited.commit_file("a.txt", "x\n")
    other = GitRepo(tmp_path / "other")
    hooks = other.path / ".git" / "hooks" / "reports"
    run = run_cli("audit", str(audited.path), "--output-dir", str(hooks), cwd=tmp_path, env=NO_CI)
    assert run.code == 2, run.all
    assert "inside a git directory" in run.err
    assert not hooks.exists()


def test_a_targets_inline_allow_comments_apply_only_when_asked(tmp_path: Path) -> None:
    """A target's allow comment is its content: the key is reported with a note (text,
    JSON, SARIF, HTML) saying how to apply it; `--inline-allows` applies it (and a rerun
    with it is not the same audit)."""
    repo = GitRepo(tmp_path / "r")
    key = kimi_code_key()
    repo.commit_file("fixture.env", f"KEY={key}  # kimi-secret-scan: allow (test double)\n")
    args = ("audit", str(repo.path), "--output-dir", str(tmp_path / "o"), "--no-progress")
    said = "not applied"
    how = "run this audit again with --inline-allows"
    run = run_cli(*args, cwd=tmp_path, env=NO_CI)
    assert run.code == 1, run.all
    assert redact(key) in run.out and said in run.out and how in run.out
    for fmt in ("json", "sarif", "html"):
        out = run_cli(*args, "--format", fmt, cwd=tmp_path, env=NO_CI)
        assert out.code == 1, out.all
        assert how in out.out, fmt
    asked = run_cli(*args, "--inline-allows", cwd=tmp_path, env=NO_CI)
    assert asked.code == 0, asked.all
    assert "unchanged since the last run" not in asked.err
