"""`audit --verify` asks each target's keys in that target's audit (hostile review 10a, 7):
said in docs/verify.md, and each target's `--verify:` line on stderr names its target."""

from __future__ import annotations

from pathlib import Path

from tests.gitrepo import GitRepo, run_cli
from tests.key_service import KeyService
from tests.keygen import kimi_code_key

ROOT = Path(__file__).resolve().parent.parent


def test_each_targets_verify_line_names_it_and_the_docs_say_per_target(
    service: KeyService, tmp_path: Path
) -> None:
    shared, own = kimi_code_key(), kimi_code_key()
    service.answer(shared, 200)
    service.answer(own, 401)
    a, b = GitRepo(tmp_path / "a"), GitRepo(tmp_path / "b")
    a.commit_file("k.env", f"KIMI_API_KEY={shared}\n", "key")
    b.commit_file("k.env", f"KIMI_API_KEY={shared}\nKIMI_CODE_API_KEY={own}\n", "keys")
    run = run_cli(
        "audit", "--no-progress", "--verify", "--cache", str(tmp_path / "cache"),
        str(a.path), str(b.path), cwd=tmp_path, env={"CI": "", **service.env()},
    )  # fmt: skip
    assert run.code == 1, run.all
    lines = [line for line in run.err.splitlines() if "--verify:" in line]
    assert sorted(lines) == [
        f"kimi-secret-scan: --verify: {a.path}: 1 distinct key asked: 1 live, 0 revoked or "
        "invalid, 0 unknown",
        f"kimi-secret-scan: --verify: {b.path}: 2 distinct keys asked: 1 live, 1 revoked or "
        "invalid, 0 unknown",
    ], run.err
    # Once per target that holds it, as docs/verify.md says for `audit`.
    assert len(service.requests(shared)) == 2 and len(service.requests(own)) == 1
    assert shared not in run.all and own not in run.all
    docs = " ".join((ROOT / "docs" / "verify.md").read_text().split())
    assert "`audit --verify` asks each repository's keys in that repository's audit" in docs
