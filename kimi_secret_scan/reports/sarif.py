"""SARIF 2.1.0 for GitHub code scanning (`github/codeql-action/upload-sarif`).

What GitHub needs and peers have got wrong: one rule object per rule id (duplicates are
rejected), artifact URIs relative to the repository root (percent-encoded, no leading
slash), and stable `partialFingerprints` so an alert keeps its identity between runs.
The fingerprint is derived from the key's SHA-256 and the path; the key itself is never
written, not even with --show-secrets, because SARIF files are uploaded and kept.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any
from urllib.parse import quote

from kimi_secret_scan import __version__, inert, remediation
from kimi_secret_scan.content import Skipped
from kimi_secret_scan.finding import Confidence, Finding
from kimi_secret_scan.result import NewSuppression, ScanResult
from kimi_secret_scan.rules import ALL_RULES

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/kimi-secret-scan/kimi-secret-scan"
_LEVEL = {Confidence.HIGH: "error", Confidence.MEDIUM: "error", Confidence.LOW: "warning"}
# GitHub sorts security alerts by this (CVSS-like; a leaked API key is critical).
_SEVERITY = {Confidence.HIGH: "9.0", Confidence.MEDIUM: "7.5", Confidence.LOW: "5.0"}


def _rules() -> list[dict[str, Any]]:
    return [
        {
            "id": rule.id,
            "name": "".join(part.capitalize() for part in rule.id.split("-")),
            "shortDescription": {"text": rule.title},
            "fullDescription": {"text": rule.description},
            "help": {
                "text": "Revoke the key in the console that issued it, create a new one, "
                "and read it from an environment variable or secret store instead.",
            },
            "defaultConfiguration": {"level": "error"},
            "properties": {
                "tags": ["security", "secret", "kimi", "moonshot"],
                "security-severity": "9.0",
                "precision": "high",
            },
        }
        for rule in ALL_RULES
    ]


def artifact_uri(path: str) -> str:
    """A relative URI reference for a repository path."""
    # Bytes, not text: a file name that is not UTF-8 keeps its own bytes, percent-encoded.
    raw = path.replace("\\", "/").lstrip("/").encode("utf-8", "surrogateescape")
    if any(s in (b"", b".", b"..") for s in raw.split(b"/")):
        # No path git stores has such a segment; a name inside a container can
        # (`bundle.zip!../../README`), and resolving it would point the alert at another
        # file of the repository. Then one opaque segment (`/` encoded): no other file.
        return quote(raw, safe="-._~")
    return quote(raw, safe="/-._~")


def _where(f: Finding) -> tuple[str, dict[str, Any]]:
    """The file an alert is on and its region: for a key inside a container, the container
    (line 1: its own lines say nothing of the member's), the member said in the message."""
    if f.member is None:
        region = {
            "startLine": f.line,
            "startColumn": f.column,
            "endLine": f.line,
            "endColumn": f.end_column,
        }
        return artifact_uri(f.path), region
    return artifact_uri(f.file), {"startLine": 1, "startColumn": 1}


def fingerprint(finding: Finding) -> str:
    key = f"{finding.secret_sha256}:{finding.path}".encode("utf-8", "surrogateescape")
    return hashlib.sha256(key).hexdigest()


def _result(f: Finding, rule_index: dict[str, int]) -> dict[str, Any]:
    hint = remediation.console_hint(f.key_kind)
    # Only the first letter: str.capitalize() would also lower "Kimi Code Console", "China".
    message = f"{f.rule.title}: {f.redacted}. {hint[:1].upper()}{hint[1:]}."
    uri, region = _where(f)
    if f.member is not None:
        message += f" Inside {f.file}: {f.member}, line {f.line}, column {f.column}."
    if f.commit:
        message += f" Added in commit {f.commit.sha[:12]} by {f.commit.author}."
    properties: dict[str, Any] = {
        "confidence": str(f.confidence),
        "keyKind": f.key_kind,
        "secretSha256": f.secret_sha256,
        "redactedSecret": f.redacted,
        "security-severity": _SEVERITY[f.confidence],
    }
    if f.commit:
        properties["commit"] = f.commit.sha
    if f.member is not None:
        properties["container"] = f.file
        properties["member"] = f.member
        properties["memberRegion"] = {
            "startLine": f.line,
            "startColumn": f.column,
            "endColumn": f.end_column,
        }
    if f.verification:
        properties["verification"] = f.verification.to_dict()
        message += f" Verification: {f.verification.describe()}."
    if f.note:
        message += f" Note: {f.note}"  # what was not applied, and how to apply it
    return {
        "ruleId": f.rule.id,
        "ruleIndex": rule_index[f.rule.id],
        "level": _LEVEL[f.confidence],
        "message": {"text": message},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": uri, "uriBaseId": "%SRCROOT%"},
                    "region": region,
                }
            }
        ],
        "partialFingerprints": {"kimiSecretLocation/v1": fingerprint(f)},
        "properties": properties,
    }


def _suppressed(hidden: NewSuppression, rule_index: dict[str, int]) -> dict[str, Any]:
    """A finding the scanned change's own suppression hides: a result with `suppressions`
    (so it is shown as suppressed, not silently absent)."""
    out = _result(hidden.finding, rule_index)
    out["suppressions"] = [
        {"kind": hidden.kind, "status": "accepted", "justification": hidden.justification}
    ]
    out["properties"]["suppressedByThisChange"] = True
    return out


def _notification(skipped: Skipped) -> dict[str, Any]:
    # A size limit the user set skips a file knowingly: still a warning, so it is seen.
    by_size = "size limit" in skipped.reason
    return {
        "level": "warning" if skipped.unreadable or by_size else "note",
        "message": {"text": f"skipped {skipped.path}: {skipped.reason}"},
        "descriptor": {"id": "unreadable" if skipped.unreadable else "skipped"},
    }


def tool(rules: list[dict[str, Any]]) -> dict[str, Any]:
    """SARIF's `tool` object: this scanner and the rules its results name (shared with the
    merged organisation report)."""
    return {
        "driver": {
            "name": "kimi-secret-scan",
            "version": __version__,
            "informationUri": INFORMATION_URI,
            "rules": rules,
        }
    }


def as_dict(result: ScanResult) -> dict[str, Any]:
    rules = _rules()
    rule_index = {rule["id"]: i for i, rule in enumerate(rules)}
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": tool(rules),
                # Our columns count characters (code points), not UTF-16 units.
                "columnKind": "unicodeCodePoints",
                "results": [_result(f, rule_index) for f in result.findings]
                + [_suppressed(h, rule_index) for h in result.new_suppressions],
                # What was not scanned is said here, so a clean SARIF is never silent about it.
                "invocations": [
                    {
                        "executionSuccessful": not any(s.unreadable for s in result.stats.skipped),
                        "toolExecutionNotifications": [
                            _notification(s) for s in result.stats.skipped
                        ],
                    }
                ],
                "properties": {
                    "mode": result.mode,
                    "scope": result.scope,
                    # Allowed by baseline, comment or config, as the other formats count them.
                    "suppressed": result.stats.suppressed,
                },
            }
        ],
    }


def render(result: ScanResult, show_secrets: bool, color: bool = False) -> str:
    return inert.json_text(json.dumps(as_dict(result), indent=2, ensure_ascii=False)) + "\n"
