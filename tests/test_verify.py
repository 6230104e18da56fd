"""`--verify`: the real client against a real HTTPS server on 127.0.0.1 (tests/key_service.py).

The server answers per key and per official host named in the Host header; its log holds
what arrived, the key only as a SHA-256. Nothing leaves loopback.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kimi_secret_scan.cli import all_commands
from tests.gitrepo import GitRepo, Run, run_cli
from tests.key_service import (
    ADDRESS_ENV,
    CA_ENV,
    KeyService,
    make_ca,
)
from tests.key_service import sha as _sha
from tests.keygen import kimi_code_key, moonshot_key
from tests.remotes import scanner_path_env

CN, INTL, CODE = "api.moonshot.cn", "api.moonshot.ai", "api.kimi.com"
ROOT = Path(__file__).resolve().parent.parent


def _files(tmp_path: Path, **files: str) -> Path:
    folder = tmp_path / "src"
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def _json(run: Run) -> dict[str, Any]:
    assert run.code == 1, run.all  # --verify never changes the exit code
    data: dict[str, Any] = json.loads(run.out)
    return data


def _verdicts(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Finding verification by redacted key (all occurrences of a key must agree)."""
    out: dict[str, dict[str, Any]] = {}
    for f in data["findings"]:
        assert out.setdefault(f["secret_sha256"], f["verification"]) == f["verification"]
    return out


def _no_key_in(keys: list[str], *texts: str) -> None:
    for key in keys:
        for text in texts:
            assert key not in text
            assert key[-24:] not in text


def _notice(run: Run) -> str:
    lines = [line for line in run.err.splitlines() if "--verify" in line]
    assert len(lines) == 1, run.err
    return lines[0]


def test_every_outcome_for_both_kinds(service: KeyService, tmp_path: Path) -> None:
    code_live, code_revoked, code_busy = kimi_code_key(), kimi_code_key(), kimi_code_key()
    code_forbidden = kimi_code_key()
    cn_live, cn_forbidden, cn_broken = moonshot_key(), moonshot_key(), moonshot_key()
    service.answer(code_live, 200)
    service.answer(code_revoked, 401)
    service.answer(code_busy, 429)
    service.answer(code_forbidden, 403)
    service.answer(cn_live, {CN: 200})
    service.answer(cn_forbidden, {CN: 403})
    service.answer(cn_broken, {CN: 500})
    keys = [code_live, code_revoked, code_busy, code_forbidden, cn_live, cn_forbidden, cn_broken]
    src = _files(
        tmp_path,
        **{
            "code.py": "".join(f'KIMI_API_KEY = "{k}"\n' for k in keys[:4]),
            "cn.py": 'BASE = "https://api.moonshot.cn/v1"\n'
            + "".join(f'MOONSHOT_API_KEY = "{k}"\n' for k in keys[4:]),
            # The same two keys again: still one request each.
            "again.env": f"KIMI_API_KEY={code_live}\nMOONSHOT_API_KEY={cn_live}\n",
        },
    )
    run = run_cli("files", str(src), "--format", "json", "--verify", cwd=tmp_path,
                  env=service.env())  # fmt: skip
    verdicts = _verdicts(_json(run))
    expected = {
        code_live: ("live", CODE, "HTTP 200"),
        code_revoked: ("revoked", CODE, "HTTP 401"),
        code_busy: ("unknown", CODE, "HTTP 429 (rate limited)"),
        # Kimi Code's 403s: usage limit, agents only, access terminated; not a revocation.
        code_forbidden: (
            "unknown",
            CODE,
            "HTTP 403: usage limit, client not allowed or access terminated",
        ),
        cn_live: ("live", CN, "HTTP 200"),
        # Revoked only on 401 from both regions: a 403 asks the other region too.
        cn_forbidden: (
            "unknown",
            INTL,
            "HTTP 401, after HTTP 403 on api.moonshot.cn (a 403 is not a revocation)",
        ),
        cn_broken: ("unknown", CN, "HTTP 500 (service error)"),
    }
    for key, (status, host, reason) in expected.items():
        assert verdicts[_sha(key)] == {"status": status, "host": host, "reason": reason}
        asked = service.requests(key)
        if key == cn_forbidden:
            assert [a["host"] for a in asked] == [CN, INTL]
            continue
        # One request per distinct key, to its kind's official host and path, the key in
        # the Authorization header (the server hashed the bearer token it received).
        assert len(asked) == 1, asked
        assert asked[0]["host"] == host
        assert asked[0]["path"] == ("/coding/v1/models" if host == CODE else "/v1/models")
        assert asked[0]["method"] == "GET"
        assert asked[0]["scheme"] == "Bearer"
        assert "sk-" not in asked[0]["path"]
    assert _notice(run) == (
        "kimi-secret-scan: --verify: 7 distinct keys asked: 2 live, 1 revoked or invalid, 4 unknown"
    )
    _no_key_in(keys, run.out, run.err)


def test_region_fallback_asks_the_named_region_first(service: KeyService, tmp_path: Path) -> None:
    intl_ctx_cn_key, both_refuse, no_region = moonshot_key(), moonshot_key(), moonshot_key()
    service.answer(intl_ctx_cn_key, {INTL: 401, CN: 200})  # context says .ai; the key is .cn
    service.answer(both_refuse, {INTL: 401, CN: 401})
    service.answer(no_region, {INTL: 200, CN: 401})
    src = _files(
        tmp_path,
        **{
            "intl.py": 'BASE = "https://api.moonshot.ai/v1"\n'
            f'MOONSHOT_API_KEY = "{intl_ctx_cn_key}"\nMOONSHOT_API_KEY = "{both_refuse}"\n',
            "plain.py": f'MOONSHOT_API_KEY = "{no_region}"\n',
        },
    )
    run = run_cli("files", str(src), "--format", "json", "--verify", cwd=tmp_path,
                  env=service.env())  # fmt: skip
    data = _json(run)
    verdicts = _verdicts(data)
    assert verdicts[_sha(intl_ctx_cn_key)] == {
        "status": "live",
        "host": CN,
        "reason": "HTTP 200, after HTTP 401 on api.moonshot.ai",
    }
    assert verdicts[_sha(both_refuse)] == {
        "status": "revoked",
        "host": CN,
        "reason": "HTTP 401, after HTTP 401 on api.moonshot.ai",
    }
    # No region in the context: China first.
    assert verdicts[_sha(no_region)]["host"] == INTL
    # A live answer settles the region, and so the console the report names.
    kinds = {f["secret_sha256"]: f["key_kind"] for f in data["findings"]}
    assert kinds[_sha(intl_ctx_cn_key)] == "moonshot-platform-cn"
    assert kinds[_sha(no_region)] == "moonshot-platform-intl"
    assert kinds[_sha(both_refuse)] == "moonshot-platform-intl"  # as the context said
    assert [r["host"] for r in service.requests(intl_ctx_cn_key)] == [INTL, CN]
    assert [r["host"] for r in service.requests(both_refuse)] == [INTL, CN]
    assert [r["host"] for r in service.requests(no_region)] == [CN, INTL]


def test_a_kimi_code_key_is_never_sent_to_the_platform(service: KeyService, tmp_path: Path) -> None:
    key = kimi_code_key()
    service.answer(key, {CODE: 401, CN: 200, INTL: 200})
    src = _files(tmp_path, **{"a.py": f'BASE = "https://api.moonshot.cn/v1"\nKEY = "{key}"\n'})
    run = run_cli("files", str(src), "--format", "json", "--verify", cwd=tmp_path,
                  env=service.env())  # fmt: skip
    assert _verdicts(_json(run))[_sha(key)]["status"] == "revoked"
    assert [r["host"] for r in service.requests(key)] == [CODE]


def test_text_sarif_and_github_carry_the_verdict(service: KeyService, tmp_path: Path) -> None:
    live, revoked = kimi_code_key(), kimi_code_key()
    service.answer(live, 200)
    service.answer(revoked, 401)
    # The revoked key comes first in the file; the plan lists the live one first.
    src = _files(tmp_path, **{"a.py": f'A = "{revoked}"\nB = "{live}"\n'})
    env = service.env()
    text = run_cli("files", str(src), "--verify", cwd=tmp_path, env=env)
    assert text.code == 1, text.all
    assert "    verification: live (api.kimi.com: HTTP 200)" in text.out
    assert "    verification: revoked or invalid (api.kimi.com: HTTP 401)" in text.out
    plan = text.out[text.out.index("What to do") :]  # the plan names each key once
    assert plan.index("(live)") < plan.index("(revoked or invalid)"), plan

    sarif = run_cli("files", str(src), "--format", "sarif", "--verify", cwd=tmp_path, env=env)
    assert sarif.code == 1, sarif.all
    results = json.loads(sarif.out)["runs"][0]["results"]
    shown = {r["properties"]["secretSha256"]: r["properties"]["verification"] for r in results}
    assert shown[_sha(live)] == {"status": "live", "reason": "HTTP 200", "host": CODE}
    assert shown[_sha(revoked)]["status"] == "revoked"

    summary = tmp_path / "summary.md"
    github = run_cli("files", str(src), "--format", "github", "--verify", cwd=tmp_path,
                     env={**env, "GITHUB_STEP_SUMMARY": str(summary)})  # fmt: skip
    assert github.code == 1, github.all
    annotations = [line for line in github.out.splitlines() if line.startswith("::")]
    assert any("Verification: live (api.kimi.com: HTTP 200)." in a for a in annotations)
    assert any("Verification: revoked or invalid" in a for a in annotations)
    table = summary.read_text(encoding="utf-8")
    assert "…" in table and "(live)" in table and "(revoked or invalid)" in table, table
    _no_key_in([live, revoked], text.all, sarif.all, github.all, table)
    # Three runs, one request per key each.
    assert len(service.requests(live)) == 3


def test_without_verify_nothing_is_asked_and_json_says_null(
    service: KeyService, tmp_path: Path
) -> None:
    key = kimi_code_key()
    src = _files(tmp_path, **{"a.py": f'K = "{key}"\n'})
    run = run_cli("files", str(src), "--format", "json", cwd=tmp_path, env=service.env())
    assert _json(run)["findings"][0]["verification"] is None
    assert "--verify" not in run.err
    assert service.requests(key) == []


def test_history_groups_carry_the_verdict_and_live_keys_lead_the_plan(
    service: KeyService, repo: GitRepo
) -> None:
    old, current = kimi_code_key(), kimi_code_key()
    service.answer(old, 401)
    service.answer(current, 200)
    repo.commit_file("config.py", f'KIMI_API_KEY = "{old}"\n', message="first key")
    repo.commit_file("config.py", f'KIMI_API_KEY = "{current}"\n', message="rotated, again leaked")
    data = _json(run_cli("history", "--format", "json", "--verify", cwd=repo.path,
                         env=service.env()))  # fmt: skip
    groups = {g["secret_sha256"]: g for g in data["groups"]}
    assert groups[_sha(old)]["verification"] == {
        "status": "revoked",
        "reason": "HTTP 401",
        "host": CODE,
    }
    assert groups[_sha(current)]["verification"]["status"] == "live"
    assert {f["verification"]["status"] for f in data["findings"]} == {"live", "revoked"}

    text = run_cli("history", "--verify", cwd=repo.path, env=service.env())
    assert text.code == 1, text.all
    out = text.out
    # Key 1 (the oldest, revoked) is listed after key 2 (live) in step 1.
    assert out.index("Key 2: ") < out.index("Key 1: "), out
    assert "verification: live (api.kimi.com: HTTP 200)" in out
    assert "verification: revoked or invalid (api.kimi.com: HTTP 401)" in out
    _no_key_in([old, current], text.all)
    # Two runs: each key asked once per run, though it occurs in several places.
    assert len(service.requests(old)) == 2


@pytest.mark.parametrize("command", ["staged", "commit-msg", "range"])
def test_hook_and_ci_commands_verify_too(
    command: str, service: KeyService, repo: GitRepo, tmp_path: Path
) -> None:
    key = kimi_code_key()
    service.answer(key, 200)
    base = repo.commit_file("README.md", "hi\n")
    if command == "staged":
        repo.write("a.py", f'K = "{key}"\n')
        repo.add("a.py")
        args = ["staged"]
    elif command == "commit-msg":
        message = tmp_path / "MSG"
        message.write_text(f"add {key}\n", encoding="utf-8")
        args = ["commit-msg", str(message)]
    else:
        repo.commit_file("a.py", f'K = "{key}"\n')
        args = ["range", f"{base}..HEAD"]
    run = run_cli(*args, "--format", "json", "--verify", cwd=repo.path, env=service.env())
    assert _verdicts(_json(run))[_sha(key)]["status"] == "live"
    assert len(service.requests(key)) == 1


def test_every_reporting_command_has_the_option() -> None:
    commands = all_commands()
    reporting = set(commands) - {"baseline", "merge"}  # merge reads reports: no keys
    expected = {"files", "staged", "range", "ci", "pre-push", "pre-receive", "history"}
    assert expected | {"commit-msg"} <= reporting
    for name in reporting:
        assert any("--verify" in p.opts for p in commands[name].params), name


@contextlib.contextmanager
def _closed_port() -> Iterator[int]:
    """A loopback port that refuses connections for as long as the block runs.

    The socket stays bound but never listens: the kernel answers a connection with a reset.
    A port closed before the run could be taken by any listener on the machine meanwhile
    (the kernel hands out the same ephemeral range to every process).
    """
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        yield port


def test_offline_is_one_line_and_the_exit_code_is_unchanged(
    service: KeyService, tmp_path: Path
) -> None:
    keys = [kimi_code_key(), moonshot_key()]
    src = _files(tmp_path, **{"a.py": "".join(f'KIMI_API_KEY = "{k}"\n' for k in keys)})
    with _closed_port() as port:
        env = {ADDRESS_ENV: f"127.0.0.1:{port}", CA_ENV: str(service.ca)}
        run = run_cli("files", str(src), "--format", "json", "--verify", cwd=tmp_path, env=env)
    verdicts = _verdicts(_json(run))
    assert {v["status"] for v in verdicts.values()} == {"unknown"}
    assert {v["reason"] for v in verdicts.values()} == {"connection refused"}
    assert _notice(run) == (
        "kimi-secret-scan: --verify: could not reach the key services (connection refused): "
        "2 keys left unknown. Offline? The exit code does not depend on it."
    )
    assert len(run.err.splitlines()) == 1, run.err
    _no_key_in(keys, run.all)


def test_a_server_that_never_answers_cannot_hold_the_run(
    service: KeyService, tmp_path: Path
) -> None:
    """Nine keys, four at a time, each request cut at 5 s, the whole at 10 s: the ninth key
    is never asked. The run ends (the subprocess limit is far above the 10 s bound)."""
    keys = [kimi_code_key() for _ in range(9)]
    for key in keys:
        service.answer(key, "hang")
    src = _files(tmp_path, **{"a.py": "".join(f'KIMI_API_KEY = "{k}"\n' for k in keys)})
    args = ["files", str(src), "--format", "json", "--verify"]
    proc = subprocess.run(
        [sys.executable, "-m", "kimi_secret_scan", *args],
        cwd=tmp_path,
        env={**os.environ, **service.env()},
        capture_output=True,
        text=True,
        timeout=120,
    )
    run = Run(proc.returncode, proc.stdout, proc.stderr)
    verdicts = _verdicts(_json(run))
    assert {v["status"] for v in verdicts.values()} == {"unknown"}
    reasons = {v["reason"] for v in verdicts.values()}
    assert "no answer within 5 s" in reasons
    assert "time limit (10 s) reached before an answer" in reasons
    notice = _notice(run)
    assert notice.startswith("kimi-secret-scan: --verify: could not reach the key services ")
    assert "stopped at the 10 s limit" in notice
    assert "9 keys left unknown" in notice
    asked = sum(len(service.requests(k)) for k in keys)
    assert 4 <= asked <= 8  # a request is never started after the limit
    _no_key_in(keys, run.all)


def test_an_untrusted_certificate_is_refused(service: KeyService, tmp_path: Path) -> None:
    other_ca, _ = make_ca(tmp_path / "other", "other-ca")
    key = kimi_code_key()
    service.answer(key, 200)
    src = _files(tmp_path, **{"a.py": f'K = "{key}"\n'})
    run = run_cli("files", str(src), "--format", "json", "--verify", cwd=tmp_path,
                  env=service.env(ca=other_ca))  # fmt: skip
    verdict = _verdicts(_json(run))[_sha(key)]
    assert verdict["status"] == "unknown"
    assert verdict["reason"].startswith("certificate not trusted"), verdict
    assert service.requests(key) == []  # the TLS handshake failed before the request


@pytest.mark.parametrize(
    "address",
    [
        "10.0.0.1:443",
        "api.moonshot.cn:443",
        "localhost:8443",
        "127.0.0.2:8443",
        "[::2]:8443",
        "127.0.0.1",
        "127.0.0.1:0",
        "[::ffff:127.0.0.1]:8443",
        " 127.0.0.1:8443",
    ],
)
def test_the_test_address_is_loopback_only(
    address: str, service: KeyService, tmp_path: Path
) -> None:
    key = kimi_code_key()
    src = _files(tmp_path, **{"a.py": f'K = "{key}"\n'})
    env = {ADDRESS_ENV: address, CA_ENV: str(service.ca)}
    run = run_cli("files", str(src), "--verify", cwd=tmp_path, env=env)
    assert run.code == 2, run.all
    assert run.out == ""
    assert "accepts only 127.0.0.1:PORT or [::1]:PORT" in run.err
    # Without --verify the variable is not read at all.
    assert run_cli("files", str(src), cwd=tmp_path, env=env).code == 1


def test_a_test_ca_alone_is_refused(service: KeyService, tmp_path: Path) -> None:
    src = _files(tmp_path, **{"a.py": f'K = "{kimi_code_key()}"\n'})
    run = run_cli("files", str(src), "--verify", cwd=tmp_path, env={CA_ENV: str(service.ca)})
    assert run.code == 2, run.all
    assert "never trusted for the official hosts" in run.err


def test_the_hook_path_never_loads_the_client(repo: GitRepo) -> None:
    """Without --verify, a pre-commit run imports neither verify.py nor ssl nor http.client."""
    repo.write("a.py", f'K = "{kimi_code_key()}"\n')
    repo.add("a.py")
    probe = (
        "import sys\n"
        "from kimi_secret_scan.cli import main\n"
        "try:\n    main(['staged'])\nexcept SystemExit as exc:\n    code = exc.code\n"
        "loaded = [m for m in ('kimi_secret_scan.verify', 'ssl', 'http.client') "
        "if m in sys.modules]\n"
        "print('LOADED', code, loaded, file=sys.stderr)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe], cwd=repo.path, capture_output=True, text=True
    )
    assert "LOADED 1 []" in proc.stderr, proc.stderr


# -- docs/verify.md: its commands run verbatim, in the situation it shows -------------------

DOCS = ROOT / "docs" / "verify.md"


def _doc_blocks(lang: str) -> list[str]:
    return re.findall(rf"^ *```{lang}\n(.*?)^ *```", DOCS.read_text(encoding="utf-8"), re.S | re.M)


def _sh(command: str, cwd: Path, env: dict[str, str]) -> Run:
    proc = subprocess.run(
        ["sh", "-c", command],
        cwd=cwd,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


def _keyless_lines(block: str, *marks: str) -> list[str]:
    """The block's lines that carry a verdict, stripped; lines with a key differ per run."""
    return [
        line.strip()
        for line in block.splitlines()
        if any(mark in line for mark in marks) and "sk-" not in line
    ]


def test_the_documented_runs_and_request(service: KeyService, repo: GitRepo) -> None:
    old, live = kimi_code_key(), moonshot_key()
    service.answer(old, 401)
    service.answer(live, {CN: 200})
    repo.commit_file(".env", f"KIMI_API_KEY={old}\n", "env")
    repo.commit_file(
        "app/client.py",
        f'import openai\nclient = openai.OpenAI(\n    api_key="{live}",\n'
        '    base_url="https://api.moonshot.cn/v1",\n)\n',
        "client",
    )
    repo.git("rm", "-q", ".env")
    repo.commit("drop env")
    commands = _doc_blocks("sh")
    assert commands == ["kimi-secret-scan history --verify\n"] * 2
    shown = _doc_blocks("text")
    before_doc, after_doc, request_doc, offline_doc = shown
    env = {**service.env(), **scanner_path_env()}

    before = _sh(commands[0], repo.path, env)
    assert before.code == 1, before.all
    actual = [line.strip() for line in before.all.splitlines()]
    expected = _keyless_lines(before_doc, "verification:", "--verify:", "Step 1")
    assert len(expected) == 4
    for line in expected:
        assert line in actual, line
    assert before.out.index("Key 2: ") < before.out.index("Key 1: ")

    # The documented JSON object is what history --format json puts on the live key's group.
    data = _json(run_cli("history", "--verify", "--format", "json", cwd=repo.path,
                         env=service.env()))  # fmt: skip
    (snippet,) = [b for b in _doc_blocks("json") if '"verification"' in b]
    group = next(g for g in data["groups"] if g["secret_sha256"] == _sha(live))
    assert json.loads("{" + snippet + "}") == {"verification": group["verification"]}

    # The request, whole, as the server received it (the key's place marked).
    request = service.requests(live)[0]
    first, *headers = request_doc.strip().splitlines()
    assert first == f"{request['method']} {request['path']} {request['version']}"
    assert [h.split(": ", 1) for h in headers] == request["headers"]

    # After rotation: both keys refused everywhere, the same command says so.
    service.answer(live, 401)
    after = _sh(commands[1], repo.path, env)
    assert after.code == 1, after.all
    actual = [line.strip() for line in after.all.splitlines()]
    expected = _keyless_lines(after_doc, "verification:", "--verify:")
    assert len(expected) == 2
    for line in expected:
        assert line in actual, line

    # Offline: one line, the same but for the reason (here the port refuses).
    with _closed_port() as port:
        offline_env = {**env, ADDRESS_ENV: f"127.0.0.1:{port}"}
        offline = _sh(commands[0], repo.path, offline_env)
    assert offline.code == 1, offline.all
    (line,) = [x for x in offline.err.splitlines() if "--verify" in x]
    assert line.replace("(connection refused)", "(host name not resolved)") == offline_doc.strip()


def test_the_ipv6_loopback_is_accepted_and_nothing_else_parses(service: KeyService) -> None:
    from kimi_secret_scan import verify
    from kimi_secret_scan.errors import ScanError

    ca = str(service.ca)
    assert verify.transport({ADDRESS_ENV: "[::1]:8443", CA_ENV: ca}).loopback == ("::1", 8443)
    assert verify.transport({ADDRESS_ENV: "127.0.0.1:1", CA_ENV: ca}).loopback == ("127.0.0.1", 1)
    assert verify.transport({}).loopback is None
    for bad in ("[::1]", "::1:8443", "[0:0:0:0:0:0:0:2]:1", "127.0.0.1:99999", "127.1:80"):
        with pytest.raises(ScanError, match="accepts only"):
            verify.transport({ADDRESS_ENV: bad, CA_ENV: ca})
    with pytest.raises(ScanError, match="needs"):
        verify.transport({ADDRESS_ENV: "127.0.0.1:8443"})


def test_occurrences_that_disagree_on_the_region_make_it_unknown() -> None:
    """One key found with China context in one file and international in another: the
    region is unknown (China first); a Kimi Code label never makes an Open Platform shape
    Kimi Code's (only `sk-kimi-` or a token of neither shape); no platform kind, no request."""
    from kimi_secret_scan import verify
    from kimi_secret_scan.finding import Confidence, Finding, KeyKind
    from kimi_secret_scan.rules import MOONSHOT_KEY

    def found(secret: str, kind: str) -> Finding:
        return Finding(MOONSHOT_KEY, Confidence.HIGH, kind, "a.py", 1, 1, 52, secret)

    a, b, c, d = moonshot_key(), moonshot_key(), moonshot_key(), moonshot_key()
    e = moonshot_key()
    odd = "sk-" + moonshot_key()[3:25]  # a token of neither shape in a Kimi Code setting
    keys = verify.distinct_keys(
        [
            found(a, KeyKind.PLATFORM_CN),
            found(a, KeyKind.PLATFORM_INTL),
            found(b, KeyKind.PLATFORM_INTL),
            found(b, KeyKind.PLATFORM),
            found(c, KeyKind.PLATFORM),
            found(c, KeyKind.KIMI_CODE),
            found(d, KeyKind.UNKNOWN),
            found(e, KeyKind.KIMI_CODE),
            found(odd, KeyKind.KIMI_CODE),
        ]
    )
    assert [(k.kind, verify.hosts_for(k)) for k in keys] == [
        (KeyKind.PLATFORM, [CN, INTL]),
        (KeyKind.PLATFORM_INTL, [INTL, CN]),
        (KeyKind.PLATFORM, [CN, INTL]),
        (KeyKind.UNKNOWN, []),
        (KeyKind.PLATFORM, [CN, INTL]),
        (KeyKind.KIMI_CODE, [CODE]),
    ]
    assert all(k.secret not in repr(k) for k in keys)


# -- through an HTTPS_PROXY -----------------------------------------------------------------


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path, Path]]:
    """A CONNECT proxy process (tests/connect_proxy.py): its port, CONNECT log, and wire."""
    folder = tmp_path_factory.mktemp("proxy")
    log, wire, portfile = folder / "connects.jsonl", folder / "wire.bin", folder / "port"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.connect_proxy", str(log), str(wire), str(portfile)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(1500):
            if portfile.exists() or proc.poll() is not None:
                break
            time.sleep(0.02)
        assert portfile.exists(), "the proxy did not start"
        yield int(portfile.read_text()), log, wire
    finally:
        proc.kill()
        proc.wait()


def _connects(log: Path) -> list[dict[str, Any]]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]


def test_a_proxy_tunnels_and_never_sees_the_key(
    service: KeyService, proxy: tuple[int, Path, Path], tmp_path: Path
) -> None:
    port, log, wire = proxy
    key = kimi_code_key()
    service.answer(key, 200)
    src = _files(tmp_path, **{"a.py": f'K = "{key}"\n'})
    before = len(_connects(log))
    env = {**service.env(), "HTTPS_PROXY": f"http://ada:pa%3Ass@127.0.0.1:{port}"}
    run = run_cli("files", str(src), "--format", "json", "--verify", cwd=tmp_path, env=env)
    assert _verdicts(_json(run))[_sha(key)]["status"] == "live"
    (connect,) = _connects(log)[before:]
    assert connect == {
        "method": "CONNECT",
        "target": f"127.0.0.1:{service.port}",
        "proxy_authorization": "Basic " + base64.b64encode(b"ada:pa:ss").decode(),
    }
    # Everything the client sent through the proxy was TLS: no key, no header, no path.
    sent = wire.read_bytes()
    for clear in (key.encode(), key[-24:].encode(), b"Bearer", b"/coding/v1/models"):
        assert clear not in sent
    assert len(service.requests(key)) == 1

    # NO_PROXY naming the official host: straight there.
    run = run_cli("files", str(src), "--format", "json", "--verify", cwd=tmp_path,
                  env={**env, "NO_PROXY": ".kimi.com"})  # fmt: skip
    assert _verdicts(_json(run))[_sha(key)]["status"] == "live"
    assert len(_connects(log)) == before + 1
    assert len(service.requests(key)) == 2


@pytest.mark.parametrize(
    ("proxy_url", "reason"),
    [
        ("https://127.0.0.1:{port}", "HTTPS_PROXY: only http:// proxies are supported"),
        ("http://deny:deny@127.0.0.1:{port}", "the proxy refused the tunnel (HTTP 407)"),
    ],
)
def test_an_unusable_proxy_leaves_keys_unknown_in_one_line(
    proxy_url: str,
    reason: str,
    service: KeyService,
    proxy: tuple[int, Path, Path],
    tmp_path: Path,
) -> None:
    key = kimi_code_key()
    service.answer(key, 200)
    src = _files(tmp_path, **{"a.py": f'K = "{key}"\n'})
    env = {**service.env(), "https_proxy": proxy_url.format(port=proxy[0])}
    run = run_cli("files", str(src), "--format", "json", "--verify", cwd=tmp_path, env=env)
    verdict = {"status": "unknown", "reason": reason, "host": CODE}
    assert _verdicts(_json(run))[_sha(key)] == verdict
    notice = f"kimi-secret-scan: --verify: could not reach the key services ({reason})"
    assert _notice(run).startswith(notice)
    assert "deny" not in run.err
    assert service.requests(key) == []


def test_the_organisation_audit_carries_each_verdict_into_the_merged_report(
    service: KeyService, tmp_path: Path
) -> None:
    live, revoked = kimi_code_key(), kimi_code_key()
    service.answer(live, 200)
    service.answer(revoked, 401)
    repo = GitRepo(tmp_path / "service")
    repo.commit_file("a.py", f'A = "{revoked}"\nB = "{live}"\n', "add keys")
    out = tmp_path / "reports"
    run = run_cli(
        "audit", str(repo.path), "--output-dir", str(out), "--cache", str(tmp_path / "cache"),
        "--format", "json", "--verify", "--no-progress", cwd=tmp_path, env=service.env(),
    )  # fmt: skip
    assert run.code == 1, run.all
    keys = {k["secret_sha256"]: k["verification"]["status"] for k in _json(run)["keys"]}
    assert keys == {_sha(live): "live", _sha(revoked): "revoked"}
    assert [r["host"] for r in service.requests(live)] == [CODE]  # once, to its own host
    assert live not in run.all and revoked not in run.all


def test_a_key_another_providers_context_claims_is_never_sent(
    service: KeyService, tmp_path: Path
) -> None:
    # OpenAI's legacy keys and relay keys share the Open Platform's sk- + 48 shape: a key
    # whose context names another provider, with nothing tying it to Kimi, stays a finding
    # but is sent nowhere. The OpenAI SDK pointed at Moonshot is a Kimi key and is asked;
    # Kimi words on another line do not tie a key its own setting names for OpenAI.
    openai_host, openai_name, azure, deepseek = (moonshot_key() for _ in range(4))
    via_sdk, sdk_words, kimi_setting, also_moonshot = (moonshot_key() for _ in range(4))
    keys = [openai_host, openai_name, azure, deepseek, via_sdk, sdk_words, kimi_setting]
    keys.append(also_moonshot)
    for key in keys:
        service.answer(key, {CN: 200, INTL: 200})
    src = _files(
        tmp_path,
        **{
            "openai.env": f"OPENAI_API_KEY={openai_host}\nOPENAI_BASE_URL=https://api.openai.com/v1\n",
            "name.env": f"OPENAI_API_KEY={openai_name}\n",
            "azure.py": f'# https://myres.openai.azure.com/\napi_key = "{azure}"\n',
            "ds.py": f'BASE = "https://api.deepseek.com"\nKEY = "{deepseek}"\n',
            "sdk.env": f"OPENAI_API_KEY={via_sdk}\nOPENAI_BASE_URL=https://api.moonshot.cn/v1\n",
            "words.env": f"# Moonshot (Kimi) through the OpenAI SDK\nOPENAI_API_KEY={sdk_words}\n",
            "mixed.env": f"OPENAI_BASE_URL=https://api.openai.com/v1\nMOONSHOT_API_KEY={kimi_setting}\n",
            # Claimed by OpenAI's context here, tied to Moonshot in another file: asked.
            "one.env": f"OPENAI_API_KEY={also_moonshot}\nOPENAI_BASE_URL=https://api.openai.com/v1\n",
            "two.py": f'MOONSHOT_API_KEY = "{also_moonshot}"\n',
        },
    )
    env = service.env()
    run = run_cli("files", str(src), "--format", "json", "--verify", cwd=tmp_path, env=env)
    data = _json(run)
    assert {f["secret_sha256"] for f in data["findings"]} == {_sha(k) for k in keys}
    verdicts = _verdicts(data)
    withheld = {openai_host: "OpenAI", openai_name: "OpenAI", azure: "Azure OpenAI"}
    withheld[deepseek] = "DeepSeek"
    withheld[sdk_words] = "OpenAI"
    for key, vendor in withheld.items():
        reason = f"not sent: context names {vendor}"
        assert verdicts[_sha(key)] == {"status": "unknown", "reason": reason, "host": None}
        assert service.requests(key) == []
    for key in (via_sdk, kimi_setting, also_moonshot):
        assert verdicts[_sha(key)] == {"status": "live", "reason": "HTTP 200", "host": CN}
        assert len(service.requests(key)) == 1
    assert _notice(run).endswith("3 live, 0 revoked or invalid, 5 unknown (5 not sent)")

    # Every format says why.
    one = _files(tmp_path / "one", **{"a.env": (src / "openai.env").read_text()})
    text = run_cli("files", str(one), "--verify", cwd=tmp_path, env=env)
    assert "    verification: unknown (not sent: context names OpenAI)" in text.out, text.all
    sarif = run_cli("files", str(one), "--format", "sarif", "--verify", cwd=tmp_path, env=env)
    result = json.loads(sarif.out)["runs"][0]["results"][0]
    assert result["properties"]["verification"]["reason"] == "not sent: context names OpenAI"
    github = run_cli("files", str(one), "--format", "github", "--verify", cwd=tmp_path, env=env)
    assert "Verification: unknown (not sent: context names OpenAI)." in github.out, github.all
    _no_key_in(keys, run.all, text.all, sarif.all, github.all)
    assert service.requests(openai_host) == []


def test_an_audit_rerun_with_verify_asks_again(service: KeyService, tmp_path: Path) -> None:
    """--verify changes the report: a rerun with it never reuses a report made without it,
    nor an earlier verdict (a key revoked since must not stay "live")."""
    key = kimi_code_key()
    service.answer(key, 200)
    repo = GitRepo(tmp_path / "service")
    repo.commit_file("a.py", f'A = "{key}"\n', "add key")
    args = ("audit", str(repo.path), "--output-dir", str(tmp_path / "reports"), "--no-progress",
            "--format", "json")  # fmt: skip
    first = run_cli(*args, cwd=tmp_path, env=service.env())
    assert first.code == 1, first.all
    assert service.requests(key) == []
    second = run_cli(*args, "--verify", cwd=tmp_path, env=service.env())
    assert "unchanged since the last run" not in second.err
    assert [k["verification"]["status"] for k in _json(second)["keys"]] == ["live"]
    service.answer(key, 401)
    third = run_cli(*args, "--verify", cwd=tmp_path, env=service.env())
    assert "unchanged since the last run" not in third.err
    assert [k["verification"]["status"] for k in _json(third)["keys"]] == ["revoked"]
    assert len(service.requests(key)) == 2


def test_a_neighbouring_kimi_setting_does_not_send_another_providers_key(
    service: KeyService, tmp_path: Path
) -> None:
    # A .env with a Moonshot key and an OpenAI key (both sk- + 48): the line naming
    # Moonshot says nothing of the OpenAI line's key, nor does a Moonshot base URL set for
    # Moonshot's own settings. Only a Kimi endpoint set for the OpenAI settings
    # (OPENAI_BASE_URL), or the same key in a Kimi setting elsewhere, sends it.
    moonshot, openai, openai2, openai3, tied, shared = (moonshot_key() for _ in range(6))
    keys = [moonshot, openai, openai2, openai3, tied, shared]
    for key in keys:
        service.answer(key, {CN: 200, INTL: 200})
    src = _files(
        tmp_path,
        **{
            "two.env": f"MOONSHOT_API_KEY={moonshot}\nOPENAI_API_KEY={openai}\n",
            "base.env": (
                f"MOONSHOT_BASE_URL=https://api.moonshot.cn/v1\nOPENAI_API_KEY={openai2}\n"
            ),
            "app.py": f'KIMI_MODEL = "kimi-k2"\nOPENAI_API_KEY = "{openai3}"\n',
            "tied.env": f"OPENAI_API_KEY={tied}\nOPENAI_BASE_URL=https://api.moonshot.cn/v1\n",
            "shared.env": f"MOONSHOT_API_KEY=x\nOPENAI_API_KEY={shared}\n",
            "kimi.env": f"KIMI_API_KEY={shared}\n",
        },
    )
    run = run_cli(
        "files", str(src), "--format", "json", "--verify", cwd=tmp_path, env=service.env()
    )
    verdicts = _verdicts(_json(run))
    for key in (openai, openai2, openai3):
        reason = "not sent: context names OpenAI"
        assert verdicts[_sha(key)] == {"status": "unknown", "reason": reason, "host": None}
        assert service.requests(key) == []
    for key in (moonshot, tied, shared):
        assert verdicts[_sha(key)] == {"status": "live", "reason": "HTTP 200", "host": CN}
        assert len(service.requests(key)) == 1
    _no_key_in(keys, run.all)
