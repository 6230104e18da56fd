"""Which service a key belongs to, and what its answers prove (--verify).

Every Kimi Code key is `sk-kimi-` + 64: an Open Platform key (`sk-` + 48) beside a Kimi Code
URL or setting was once labelled Kimi Code, sent to api.kimi.com only, called revoked while
live on api.moonshot.cn, its user sent to the Kimi Code console, and the organisation plan
dropped its revoke step. Only a 401 proves a revocation: Kimi Code's 403s are a usage limit
or a client not allowed, and an Open Platform key is revoked only on 401 from both regions.
Real CLI, real loopback HTTPS key service (tests/key_service.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.gitrepo import GitRepo, Run, run_cli
from tests.key_service import KeyService
from tests.key_service import sha as _sha
from tests.keygen import kimi_code_key, moonshot_key

CN, INTL, CODE = "api.moonshot.cn", "api.moonshot.ai", "api.kimi.com"
CODE_CONSOLE = "https://www.kimi.com/code/console"


def _json(run: Run) -> dict[str, Any]:
    assert run.code == 1, run.all
    data: dict[str, Any] = json.loads(run.out)
    return data


def _by_key(data: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any] | None]]:
    out: dict[str, tuple[str, dict[str, Any] | None]] = {}
    for f in data["findings"]:
        seen = (f["key_kind"], f["verification"])
        assert out.setdefault(f["secret_sha256"], seen) == seen
    return out


def _setups(code: str, plat: str) -> dict[str, tuple[str, str]]:
    """Name -> (file name, text): a Kimi Code key and an Open Platform key side by side."""
    return {
        "claude-env": (
            ".env",
            "ANTHROPIC_BASE_URL=https://api.kimi.com/coding\n"
            f"ANTHROPIC_AUTH_TOKEN={code}\nMOONSHOT_API_KEY={plat}\n",
        ),
        "kimi-code-setting": (".env", f"KIMI_CODE_API_KEY={code}\nMOONSHOT_API_KEY={plat}\n"),
        "kimi-cli-platform-first": (
            "config.toml",
            '[providers.moonshot-cn]\ntype = "kimi"\nbase_url = "https://api.moonshot.cn/v1"\n'
            f'api_key = "{plat}"\n\n[providers.kimi-for-coding]\ntype = "kimi"\n'
            f'base_url = "https://api.kimi.com/coding/v1"\napi_key = "{code}"\n',
        ),
        "kimi-cli-coding-first": (
            "config.toml",
            '[providers.kimi-for-coding]\ntype = "kimi"\n'
            f'base_url = "https://api.kimi.com/coding/v1"\napi_key = "{code}"\n\n'
            '[providers.moonshot-cn]\ntype = "kimi"\nbase_url = "https://api.moonshot.cn/v1"\n'
            f'api_key = "{plat}"\n',
        ),
        "claude-settings": (
            "settings.json",
            '{\n  "env": {\n    "ANTHROPIC_BASE_URL": "https://api.kimi.com/coding/",\n'
            f'    "ANTHROPIC_AUTH_TOKEN": "{code}"\n  }},\n'
            f'  "moonshot": {{ "apiKey": "{plat}",\n'
            '    "baseURL": "https://api.moonshot.cn/v1" }\n}\n',
        ),
    }


# The region each setup's own base URL gives the platform key, without --verify.
_REGION = {
    "claude-env": "moonshot-platform",
    "kimi-code-setting": "moonshot-platform",
    "kimi-cli-platform-first": "moonshot-platform-cn",
    "kimi-cli-coding-first": "moonshot-platform-cn",
    "claude-settings": "moonshot-platform-cn",
}


def test_an_open_platform_key_beside_kimi_code_is_never_a_kimi_code_key(tmp_path: Path) -> None:
    code, plat = kimi_code_key(), moonshot_key()
    for name, (file, text) in _setups(code, plat).items():
        folder = tmp_path / name
        folder.mkdir()
        (folder / file).write_text(text, encoding="utf-8")
        data = _json(run_cli("files", file, "--format", "json", cwd=folder))
        kinds = {k: kind for k, (kind, _) in _by_key(data).items()}
        assert kinds == {_sha(code): "kimi-code", _sha(plat): _REGION[name]}, name
        text_run = run_cli("files", file, cwd=folder)
        # The platform key's own block names a platform console, never the Kimi Code one.
        block = text_run.out.split("Moonshot / Kimi Open Platform API key", 1)[1]
        block = block.split("\n\n", 1)[0].split("Kimi Code API key", 1)[0]
        assert CODE_CONSOLE not in block, (name, text_run.out)
        assert code not in text_run.all and plat not in text_run.all


def test_verify_sends_it_to_the_platform_and_finds_it_live(
    service: KeyService, tmp_path: Path
) -> None:
    code, plat = kimi_code_key(), moonshot_key()
    service.answer(plat, {CN: 200, INTL: 401, CODE: 401})
    service.answer(code, 401)
    for name, (file, text) in _setups(code, plat).items():
        folder = tmp_path / name
        folder.mkdir()
        (folder / file).write_text(text, encoding="utf-8")
        run = run_cli("files", file, "--format", "json", "--verify", cwd=folder,
                      env=service.env())  # fmt: skip
        found = _by_key(_json(run))
        assert found[_sha(plat)] == (
            "moonshot-platform-cn",
            {"status": "live", "reason": "HTTP 200", "host": CN},
        ), name
        assert found[_sha(code)][1] == {"status": "revoked", "reason": "HTTP 401", "host": CODE}
        assert "1 live, 1 revoked or invalid, 0 unknown" in run.err
    # The platform key never went to api.kimi.com; the Kimi Code key never to the platform.
    assert {r["host"] for r in service.requests(plat)} == {CN}
    assert {r["host"] for r in service.requests(code)} == {CODE}


def test_history_verify_after_a_leak_names_the_platform_console(
    service: KeyService, tmp_path: Path
) -> None:
    code, plat = kimi_code_key(), moonshot_key()
    service.answer(plat, {CN: 200})
    service.answer(code, 401)
    repo = GitRepo(tmp_path / "repo")
    file, text = _setups(code, plat)["claude-env"]
    repo.commit_file(file, text, "env")
    run = run_cli("history", "--verify", cwd=repo.path, env=service.env())
    assert run.code == 1, run.all
    plan = run.out.split("Step 2.", 1)[0]
    platform_key = next(line for line in plan.splitlines() if "Open Platform key (China" in line)
    assert "Kimi Code" not in platform_key
    assert "verification: live (api.moonshot.cn: HTTP 200)" in plan
    revoke_code = next(line for line in plan.splitlines() if CODE_CONSOLE in line and "a." in line)
    assert plat[:7] not in revoke_code
    assert {r["host"] for r in service.requests(plat)} == {CN}
    assert code not in run.all and plat not in run.all


def _audit(service: KeyService, tmp_path: Path, text: str) -> dict[str, Any]:
    repo = GitRepo(tmp_path / "service")
    repo.commit_file(".env", text, "env")
    run = run_cli(
        "audit", str(repo.path), "--output-dir", str(tmp_path / "reports"),
        "--cache", str(tmp_path / "cache"), "--format", "json", "--verify", "--no-progress",
        cwd=tmp_path, env=service.env(),
    )  # fmt: skip
    return _json(run)


def test_the_organisation_plan_keeps_every_key_not_proven_revoked(
    service: KeyService, tmp_path: Path
) -> None:
    code_revoked, code_limited, plat = kimi_code_key(), kimi_code_key(), moonshot_key()
    service.answer(code_revoked, 401)
    service.answer(code_limited, 403)  # usage limit: a working key being abused
    service.answer(plat, {CN: 200})
    text = (
        "ANTHROPIC_BASE_URL=https://api.kimi.com/coding\n"
        f"ANTHROPIC_AUTH_TOKEN={code_revoked}\nKIMI_CODE_API_KEY={code_limited}\n"
        f"MOONSHOT_API_KEY={plat}\n"
    )
    data = _audit(service, tmp_path, text)
    keys = {k["secret_sha256"]: k for k in data["keys"]}
    assert keys[_sha(plat)]["verification"]["status"] == "live"
    assert keys[_sha(plat)]["key_kind"] == "moonshot-platform-cn"
    assert keys[_sha(code_limited)]["verification"]["status"] == "unknown"
    assert keys[_sha(code_revoked)]["verification"]["status"] == "revoked"
    revoke = "\n".join(data["plan"]["revoke"])
    for k in (plat, code_limited):
        assert f"#{keys[_sha(k)]['number']} " in revoke, revoke
    assert f"#{keys[_sha(code_revoked)]['number']} " not in revoke
    assert {r["host"] for r in service.requests(plat)} == {CN}


def test_a_refusal_from_the_named_region_alone_leaves_the_region_unknown(
    service: KeyService, tmp_path: Path
) -> None:
    # China context; api.moonshot.cn says 401 (not a China key, or a revoked one), and
    # api.moonshot.ai cannot say: the report must not name the China console as its home.
    limited, broken, forbidden = moonshot_key(), moonshot_key(), moonshot_key()
    service.answer(limited, {CN: 401, INTL: 429})
    service.answer(broken, {CN: 401, INTL: 503})
    service.answer(forbidden, {CN: 401, INTL: 403})
    lines = "".join(f"MOONSHOT_API_KEY={k}\n" for k in (limited, broken, forbidden))
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / ".env").write_text("MOONSHOT_BASE_URL=https://api.moonshot.cn/v1\n" + lines)
    run = run_cli("files", ".env", "--format", "json", "--verify", cwd=folder, env=service.env())
    found = _by_key(_json(run))
    for key in (limited, broken, forbidden):
        kind, verdict = found[_sha(key)]
        assert verdict is not None and verdict["status"] == "unknown", verdict
        assert verdict["host"] == INTL
        assert verdict["reason"].endswith(", after HTTP 401 on api.moonshot.cn")
        assert kind == "moonshot-platform", kind
    text = run_cli("files", ".env", "--verify", cwd=folder, env=service.env()).out
    assert "China platform key, managed at" not in text
    assert "region unknown" in text


def test_a_china_403_asks_the_international_region(service: KeyService, tmp_path: Path) -> None:
    key = moonshot_key()
    service.answer(key, {CN: 403, INTL: 200})
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / ".env").write_text(
        f"MOONSHOT_BASE_URL=https://api.moonshot.cn/v1\nMOONSHOT_API_KEY={key}\n"
    )
    run = run_cli("files", ".env", "--format", "json", "--verify", cwd=folder, env=service.env())
    assert _by_key(_json(run))[_sha(key)] == (
        "moonshot-platform-intl",
        {"status": "live", "reason": "HTTP 200, after HTTP 403 on api.moonshot.cn", "host": INTL},
    )
    assert [r["host"] for r in service.requests(key)] == [CN, INTL]


def test_merge_does_not_take_an_older_reports_403_for_a_revocation(tmp_path: Path) -> None:
    # A report written before 403 stopped meaning "revoked" (an org audit's reused report):
    # the merged plan keeps the key's revoke step; a 401 still drops it.
    def group(sha: str, reason: str) -> dict[str, Any]:
        return {
            "key": f"sk-kimi-{sha[:4]}…{sha[-4:]}",
            "secret_sha256": sha * 64,
            "key_kind": "kimi-code",
            "rule": "kimi-code-api-key",
            "refs": ["refs/heads/main"],
            "in_head": True,
            "head_paths": [".env"],
            "first_appearance": {"date": "2026-01-01T00:00:00+00:00"},
            "verification": {"status": "revoked", "reason": reason, "host": CODE},
        }

    report = tmp_path / "one.json"
    groups = [group("a", "HTTP 401"), group("b", "HTTP 403")]
    report.write_text(
        json.dumps(
            {
                "tool": "kimi-secret-scan",
                "mode": "history",
                "findings": [],
                "groups": groups,
                "target": {"name": "one", "key": "one"},
            }
        )
    )
    data = _json(run_cli("merge", str(report), "--format", "json", cwd=tmp_path))
    keys = {k["secret_sha256"][0]: k for k in data["keys"]}
    assert keys["a"]["verification"]["status"] == "revoked"
    assert keys["b"]["verification"]["status"] == "unknown"
    revoke = " ".join(data["plan"]["revoke"])
    assert f"#{keys['b']['number']} " in revoke and f"#{keys['a']['number']} " not in revoke


def test_history_of_a_key_beside_both_regions_calls_its_region_unknown(repo: GitRepo) -> None:
    # Both regions named by its occurrences: the plan picked one of them (whichever a set
    # gave first), while --verify took the region as unknown.
    key = moonshot_key()
    repo.write("intl.sh", f'curl https://api.moonshot.ai/v1 -H "Authorization: Bearer {key}"\n')
    repo.write("cn.env", f"MOONSHOT_BASE_URL=https://api.moonshot.cn/v1\nMOONSHOT_API_KEY={key}\n")
    repo.add()
    repo.commit("k")
    data = json.loads(run_cli("history", "--format", "json", cwd=repo.path).out)
    assert [g["key_kind"] for g in data["groups"]] == ["moonshot-platform"]
