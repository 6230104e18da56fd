"""What an organisation audit did not do is said, in every format, and never exits 0
(hostile review 6): a blob over the default size limit, targets that normalise to one,
a target that is not a URL at all, and a crafted report given to `merge`. Real repositories,
the real CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kimi_secret_scan.errors import ScanError
from kimi_secret_scan.org import merge, targets
from kimi_secret_scan.reports import merged as merged_report
from tests.gitrepo import GitRepo, run_cli
from tests.keygen import kimi_code_key
from tests.test_sarif import validate

NO_CI = {"CI": ""}
FORMATS = ("text", "json", "sarif", "html")


def _audit(tmp_path: Path, *args: str, out: str = "o", fmt: str = "text") -> Any:
    return run_cli(
        "audit",
        "--no-progress",
        "--cache",
        str(tmp_path / "cache"),
        "--output-dir",
        str(tmp_path / out),
        "--format",
        fmt,
        *args,
        cwd=tmp_path,
        env=NO_CI,
    )


def _said_in_every_format(tmp_path: Path, words: str, *args: str) -> None:
    """The audit (each format), and a merge of what it wrote, say `words` and exit 2."""
    for fmt in FORMATS:
        run = _audit(tmp_path, *args, fmt=fmt)
        assert run.code == 2, (fmt, run.all)
        assert words in run.out, (fmt, run.all)
        assert "internal error" not in run.all
        if fmt == "json":
            assert json.loads(run.out)["summary"]["complete"] is False
        if fmt == "sarif":
            sarif = json.loads(run.out)
            validate(sarif)
            assert sarif["runs"][0]["invocations"][0]["executionSuccessful"] is False
    again = run_cli("merge", str(tmp_path / "o"), cwd=tmp_path)
    assert again.code == 2 and words in again.out, again.all


def test_a_blob_over_the_default_size_limit_leaves_history_and_audit_incomplete(
    tmp_path: Path,
) -> None:
    """The gates' rule, in `history` and `audit` too: over the default limit, not scanned
    is not clean (exit 2, `complete: false`); a limit the user sets accepts it (exit 0)."""
    repo = GitRepo(tmp_path / "r")
    with (repo.path / "dump.bin").open("wb") as handle:
        handle.truncate(100 * 1024 * 1024 + 1)  # one byte over the default, zeros
    repo.add("dump.bin")
    repo.commit("dump")
    report = str(tmp_path / "h.json")
    run = run_cli("history", "--format", "json", "--output", report, cwd=repo.path)
    assert run.code == 2, run.all
    stats = json.loads((tmp_path / "h.json").read_text())["stats"]
    assert stats["complete"] is False and "size limit" in stats["incomplete"][0]["reason"]
    text = run_cli("history", cwd=repo.path)
    assert text.code == 2 and "INCOMPLETE" in text.out and "dump.bin" in text.out, text.all
    accepted = run_cli("history", "--max-file-size", "1000", cwd=repo.path)
    assert accepted.code == 0 and "skipped dump.bin" in accepted.out, accepted.all
    # A plain history report merged says it too.
    merged = run_cli("merge", str(tmp_path / "h.json"), "--format", "json", cwd=tmp_path)
    assert merged.code == 2 and json.loads(merged.out)["summary"]["incomplete"] == 1

    _said_in_every_format(tmp_path, "size limit", str(repo.path))
    run = _audit(tmp_path, str(repo.path))
    assert "INCOMPLETE: 1 object(s) could not be read or scanned" in run.err
    html = _audit(tmp_path, str(repo.path), fmt="html").out
    assert 'id="count-incomplete"' in html and "the audit is incomplete" in html
    ok = _audit(tmp_path, str(repo.path), "--max-file-size", "1000", out="accepted")
    assert ok.code == 0, ok.all
    # Accepted, and still said in the merged report, not only in the target's own.
    assert f"skipped: {repo.path}: 1 item(s), by a choice (larger than" in ok.out


def test_two_repositories_that_once_normalised_looked_alike_are_both_audited(
    tmp_path: Path,
) -> None:
    """`file:///x/r` and `file:///x/r.git` are two directories: both audited."""
    key = kimi_code_key()
    GitRepo(tmp_path / "r", bare=True)
    GitRepo(tmp_path / "r.git", bare=True)
    work = GitRepo(tmp_path / "w")
    work.commit_file("a.txt", "clean\n")
    work.git("push", "-q", str(tmp_path / "r"), "main")
    work.commit_file("k.txt", f"t={key}\n")
    work.git("push", "-q", str(tmp_path / "r.git"), "main")
    run = _audit(tmp_path, f"file://{tmp_path}/r", f"file://{tmp_path}/r.git", fmt="json")
    assert run.code == 1, run.all
    data = json.loads(run.out)
    assert data["summary"]["audited"] == 2 and data["summary"]["keys"] == 1
    assert key not in run.all


def test_a_target_named_twice_is_audited_once_and_said(tmp_path: Path) -> None:
    GitRepo(tmp_path / "r", bare=True)
    work = GitRepo(tmp_path / "w")
    work.commit_file("a.txt", "clean\n")
    work.git("push", "-q", str(tmp_path / "r"), "main")
    specs = (f"file://{tmp_path}/r", f"file://{tmp_path}/r/")
    for fmt in FORMATS:
        run = _audit(tmp_path, *specs, fmt=fmt)
        assert run.code == 0, (fmt, run.all)  # the same repository: nothing left out
        assert f"file://{tmp_path}/r/" in run.out, (fmt, run.all)
        assert "the same target as" in run.out + run.err
    data = json.loads(_audit(tmp_path, *specs, fmt="json").out)
    assert data["duplicates"] == [{"target": f"file://{tmp_path}/r/", "same_as": f"{tmp_path}/r"}]
    again = run_cli("merge", str(tmp_path / "o"), cwd=tmp_path)
    assert again.code == 0 and "named twice" in again.out, again.all


def test_spellings_that_may_be_two_repositories_are_never_dropped_silently() -> None:
    """`host:srv/r` (home-relative) and `host:/srv/r` (absolute); a query or a fragment:
    one key, so the second is listed as named twice, shown without what may be a token."""
    specs = [
        "git@h.example:srv/repo",
        "git@h.example:/srv/repo",
        "https://h.example/a",
        "https://token@h.example/a?private_token=t0k",
        "https://h.example/a#f",
    ]
    kept, also = targets.deduplicate(targets.parse(s) for s in specs)
    assert len(kept) == 2
    assert also == {
        "ssh://git@h.example/srv/repo": ["git@h.example:/srv/repo"],
        "https://h.example/a": ["https://h.example/a?…", "https://h.example/a#…"],
    }


def test_one_bad_url_fails_that_target_and_the_others_are_audited(tmp_path: Path) -> None:
    key = kimi_code_key()
    good = GitRepo(tmp_path / "good")
    good.commit_file("app.py", f'KIMI_API_KEY = "{key}"\n')
    bad = ["ssh://[-oProxyCommand=touch pwned]/x", "ssh://localhost:-oProxyCommand=x/y"]
    run = _audit(tmp_path, str(good.path), *bad, fmt="json")
    assert run.code == 2, run.all
    data = json.loads(run.out)
    assert data["summary"]["keys"] == 1 and data["summary"]["failed"] == 2
    assert {f["error"] for f in data["failed"]} == {"not a valid URL"}
    assert run.err.count("could not be audited: not a valid URL") == 2
    assert "internal error" not in run.all and not (tmp_path / "pwned").exists()
    _said_in_every_format(tmp_path, "not a valid URL", str(good.path), *bad)
    # Sharded, exactly one shard says each.
    said = 0
    for k in (1, 2, 3):
        shard = _audit(tmp_path, *bad, "--shard", f"{k}/3", out=f"s{k}", fmt="json")
        said += json.loads(shard.out)["summary"]["failed"]
        assert shard.code == (2 if json.loads(shard.out)["summary"]["failed"] else 0)
    assert said == 2


# -- merge: a report file is input ----------------------------------------------------------


def _report(**fields: Any) -> dict[str, Any]:
    group = {
        "secret_sha256": "ab" * 32,
        "key": "sk-kimi-AbCd…WxYz",
        "key_kind": "kimi-code",
        "rule": "kimi-code-api-key",
        "refs": ["refs/heads/main"],
        "head_paths": [],
        "in_head": False,
        "first_appearance": {"date": "2020-01-01", "commit": "c" * 40, "path": "p", "line": 1},
        "removed": {"commit": "d" * 40, "date": "2021-01-01"},
    }
    finding = {"secret_sha256": "ab" * 32, "path": "p", "line": 1, "column": 2, "commit": "c"}
    data: dict[str, Any] = {
        "tool": "kimi-secret-scan",
        "mode": "history",
        "scope": "history of every ref and reflog",  # as every audit writes it
        "target": {"name": "evil", "key": "evil", "unreadable": 0},
        "groups": [group],
        "findings": [finding],
        "stats": {"complete": True},
    }
    for where, value in fields.items():
        *path, last = where.split(".")
        at: Any = data
        for part in path:
            at = at[int(part)] if part.isdigit() else at[part]
        at[last] = value
    return data


@pytest.mark.parametrize(
    "field",
    [
        {"groups.0.removed": "\x1b]0;x\x07"},
        {"groups.0.removed": {"date": "2021"}},
        {"groups.0.first_appearance": "x"},
        {"groups.0.key_kind": ["x"]},
        {"findings.0.line": "abc"},
        {"findings.0.column": {"x": 1}},
        {"target.unreadable": "many"},
        {"target.also_named": "x"},
        {"stats": {"complete": "yes"}},
        {"error": ["x"]},
    ],
)
def test_merge_refuses_a_crafted_report_naming_it_in_every_format(
    tmp_path: Path, field: dict[str, Any]
) -> None:
    good = tmp_path / "good.json"
    good.write_text(json.dumps(_report()))
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(_report(**field)))
    for fmt in FORMATS:
        run = run_cli("merge", str(good), str(bad), "--format", fmt, cwd=tmp_path)
        assert run.code == 2, (fmt, run.all)
        assert f"{bad} is not a history or audit report" in run.err, run.all
        assert "internal error" not in run.all and run.out == ""


_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.text(max_size=3),
    st.lists(st.text(max_size=2), max_size=2),
    st.dictionaries(
        st.sampled_from(["commit", "date", "status", "x"]),
        st.one_of(st.sampled_from(["live", "revoked"]), st.lists(st.text(max_size=1), max_size=1)),
        max_size=2,
    ),
)
_FIELDS = [
    "error",
    "target.name",
    "target.unreadable",
    "target.unreadable_reason",
    "target.also_named",
    "target.default_branch",
    "stats",
    "groups.0.key",
    "groups.0.key_kind",
    "groups.0.rule",
    "groups.0.secret_sha256",
    "groups.0.removed",
    "groups.0.first_appearance",
    "groups.0.refs",
    "groups.0.in_head",
    "groups.0.verification",
    "findings.0.verification",
    "findings.0.path",
    "findings.0.line",
    "findings.0.column",
    "findings.0.note",
]


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.sampled_from(_FIELDS), _VALUES, min_size=1, max_size=3))
def test_any_report_is_refused_on_load_or_rendered_in_every_format(
    fields: dict[str, Any],
) -> None:
    data = json.loads(json.dumps(_report(**fields)))
    if not merge._well_formed(data):
        return  # load refuses it (ScanError naming the file)
    merged = merge.merge([(Path("r.json"), data)])
    for fmt in FORMATS:
        merged_report.render(merged, fmt)  # never a crash after load accepted it


def test_load_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text(json.dumps(_report(**{"groups.0.removed": "x"})))
    with pytest.raises(ScanError, match=r"x\.json is not a history or audit report"):
        merge.load(path)


def test_a_second_report_of_a_target_is_said_not_merged(tmp_path: Path) -> None:
    """The first file named wins (an overlapping rerun), but a report of the same target
    that says something else (a clean one, planted first) is never dropped unsaid."""
    planted = tmp_path / "a-planted.json"
    planted.write_text(json.dumps(_report(groups=[], findings=[])))
    real = tmp_path / "b-real.json"
    real.write_text(json.dumps(_report()))
    copy = tmp_path / "c-copy.json"
    copy.write_text(json.dumps(_report(groups=[], findings=[])))
    for fmt in FORMATS:
        run = run_cli("merge", str(planted), str(real), str(copy), "--format", fmt, cwd=tmp_path)
        assert run.code == 2, (fmt, run.all)  # which of the two is right is not known
        assert str(real) in run.out, (fmt, run.all)
        assert "another report of" in run.out or fmt == "json", (fmt, run.all)
        assert str(copy) not in run.out  # the same report twice: nothing to say
    data = json.loads(
        run_cli("merge", str(planted), str(real), "--format", "json", cwd=tmp_path).out
    )
    assert data["duplicates"] == [{"target": str(real), "same_as": "evil", "report": str(planted)}]
    assert data["summary"]["complete"] is False and data["summary"]["conflicting"] == 1
    same = run_cli("merge", str(planted), str(copy), cwd=tmp_path)
    assert same.code == 0 and "not merged" not in same.out, same.all


def test_merge_names_a_missing_shard_and_a_missing_report(tmp_path: Path) -> None:
    """Hostile review 8: a shard whose job was cancelled uploads nothing, and a merge of the
    others exited 0, complete. Each shard writes what it is (even with no target): merge
    names the shard missing, and a target report missing from a shard, exit 2."""
    repos = []
    for n in range(6):
        repo = GitRepo(tmp_path / f"r{n}")
        repo.commit_file("f", f"{n}\n")
        repos.append(str(repo.path))
    (tmp_path / "repos.txt").write_text("\n".join(repos) + "\n")
    for k in (1, 2, 3):
        run = _audit(tmp_path, "--targets", "repos.txt", "--shard", f"{k}/3", out=f"s{k}")
        assert run.code == 0, run.all
        assert (tmp_path / f"s{k}" / f"kimi-secret-scan-shard-{k}-of-3.json").is_file()
    every = run_cli("merge", "s1", "s2", "s3", cwd=tmp_path)
    assert every.code == 0, every.all
    for fmt in FORMATS:
        gone = run_cli("merge", "s1", "s3", "--format", fmt, cwd=tmp_path)
        assert gone.code == 2 and "shard 2 of 3" in gone.out, (fmt, gone.all)
    fuller = next(k for k in (1, 2, 3) if len(list((tmp_path / f"s{k}").glob("*.json"))) > 1)
    report = next(p for p in (tmp_path / f"s{fuller}").glob("*.json") if "-shard-" not in p.name)
    report.unlink()
    lost = run_cli("merge", "s1", "s2", "s3", "--format", "json", cwd=tmp_path)
    assert lost.code == 2, lost.all
    [failed] = json.loads(lost.out)["failed"]
    assert f"shard {fuller} of 3 audited it" in failed["error"]
    other = _audit(tmp_path, "--targets", "repos.txt", "--shard", "1/2", out="t1")
    assert other.code == 0, other.all
    mixed = run_cli("merge", "s1", "s2", "s3", "t1", cwd=tmp_path)
    assert mixed.code == 2 and "shards of different audits" in mixed.out, mixed.all
