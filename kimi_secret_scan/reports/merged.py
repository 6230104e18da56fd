"""The merged organisation report (`kimi-secret-scan merge`, and the end of `audit`) as text,
JSON and SARIF. The input is the dict `kimi_secret_scan.org.merge.merge` returns; every key
in it is already redacted. HTML is `reports/html.py`."""

from __future__ import annotations

import json
from typing import Any

from kimi_secret_scan import inert, remediation
from kimi_secret_scan.org.merge import printable
from kimi_secret_scan.reports import sarif
from kimi_secret_scan.reports.sarif import SCHEMA


def _kind(key: dict[str, Any]) -> str:
    kind = str(key.get("key_kind"))
    return remediation.KIND_NAMES.get(kind, kind)


def _status(key: dict[str, Any]) -> str:
    v = key.get("verification") or {}
    return str(v.get("status") or "not verified")


def default_branch(repo: dict[str, Any]) -> str:
    """The default branch as a report names it, with why it was inferred when HEAD names a
    branch that does not exist (HTML says it in the same words)."""
    branch = repo.get("default_branch") or "the default branch"
    note = repo.get("default_branch_note")
    return f"{branch} ({note})" if note and repo.get("default_branch") else str(branch)


def _end(repo: dict[str, Any]) -> str:
    return earlier_text(repo) or _now(repo)


def _since(carried: dict[str, Any]) -> str:
    since = carried.get("since")  # None from a report of a version that did not date it
    return f"last reachable in the run of {since}" if since else "reachable in an earlier run"


def earlier_text(repo: dict[str, Any]) -> str | None:
    """What an earlier run found that this one could not see (HTML says it too), or None."""
    stale = repo.get("stale")
    if stale:
        when = f"the run of {stale['since']}" if stale.get("since") else "an earlier run"
        return f"from {when}; this run could not fetch it: " + _now(repo)
    if repo.get("unreachable"):
        return _now(repo)
    return None


def _now(repo: dict[str, Any]) -> str:
    carried = repo.get("unreachable")
    if carried:
        return (
            f"{carried.get('note')} ({_since(carried)}); once it is purged and pruned there, "
            f"audit again with --purged {carried.get('target')}"
        )
    branch = default_branch(repo)
    if repo["in_default_branch"]:
        return f"still in {branch}: " + ", ".join(repo["head_paths"])
    if repo.get("removed"):
        removed = repo["removed"]
        commit = str(removed["commit"])[:12]
        return f"removed from {branch} by {commit} ({removed['date']})"
    refs = ", ".join(repo["refs"])
    if not repo.get("default_branch") and repo.get("default_branch_note") and refs:
        # Never a claim about a branch that is not there.
        note = repo["default_branch_note"]
        return f"the default branch is unknown ({note}); reachable from {refs}"
    if repo.get("on_default_branch") and refs:
        # In the default branch's history but in none of its files now (a commit message):
        # "not in the default branch" would read as out of the main line.
        return (
            f"in {branch}'s history, not in its files now: only a rewrite of it removes the "
            f"key; reachable from {refs}"
        )
    if refs:
        return "not in the default branch; still reachable from " + refs
    return "only in reflogs"


def render_text(merged: dict[str, Any]) -> str:
    merged = printable(merged)  # for a terminal: no control character from a repository
    s = merged["summary"]
    out = [
        f"kimi-secret-scan merge: {s['keys']} distinct key(s) in {s['repositories_affected']} "
        f"of {s['audited']} audited repositories ({s['locations']} location(s))"
        + (f"; {s['failed']} could not be audited" if s["failed"] else "")
        + (f"; {s['incomplete']} read incompletely" if s["incomplete"] else "")
        + (f"; {s['narrowed']} report(s) of part of a history only" if s.get("narrowed") else "")
        + (f"; {s['conflicting']} report(s) not merged" if s.get("conflicting") else ""),
    ]
    if s["keys"]:
        kinds = ", ".join(f"{n} {kind}" for kind, n in s["kinds"].items())
        out.append(
            f"  kinds: {kinds}; live {s['live']}, revoked {s['revoked']}, unknown {s['unknown']}, "
            f"not verified {s['unverified']}"
        )
    for key in merged["keys"]:
        out.append("")
        out.append(
            f"#{key['number']} {key['key']} ({_kind(key)}, {_status(key)}) in "
            f"{len(key['repositories'])} repositor{'y' if len(key['repositories']) == 1 else 'ies'}"
        )
        for repo in key["repositories"]:
            first = repo.get("first_appearance") or {}
            out.append(f"  {repo['repository']}")
            out.append(
                f"    first: {first.get('path')}:{first.get('line')} in "
                f"{str(first.get('commit') or '')[:12]} ({first.get('date')})"
            )
            out.append(f"    now:   {_end(repo)}")
            for loc in repo["locations"]:
                out.append(
                    f"    at:    {loc['path']}:{loc['line']} {str(loc['commit'] or '')[:12]}"
                )
                if loc.get("note"):
                    out.append(f"    note:  {loc['note']}")
    for fail in merged["failed"]:
        out.append("")
        out.append(f"could not be audited: {fail['repository']}: {fail['error']}")
    for part in merged["incomplete"]:
        out.append("")
        out.append(
            f"incomplete: {part['repository']}: {part['unreadable']} object(s) could not be "
            f"read or scanned ({part['reason']})"
        )
    for part in merged.get("narrowed", []):
        out.append("")
        out.append(_narrowed(part))
    for dup in merged.get("duplicates", []):
        out.append("")
        out.append(_duplicate(dup))
    for part in merged.get("skipped", []):
        out.append("")
        out.append(_skipped(part))
    if merged["keys"]:
        out.append("")
        out.append("Plan: revoke each key once, then purge each repository.")
        for n, step in enumerate(merged["plan"]["revoke"] + merged["plan"]["purge"], 1):
            out.append(f"  {n}. {step}")
    return "\n".join(out) + "\n"


def _duplicate(dup: dict[str, Any]) -> str:
    if dup.get("report"):
        return (
            f"not merged: {dup['target']} is another report of {dup['same_as']}, which "
            f"{dup['report']} (named first) reports"
        )
    return (
        f"named twice: {dup['target']} is the same target as {dup['same_as']} once "
        "normalised: audited once, as the latter"
    )


def narrowed_what(part: dict[str, Any]) -> str:
    """What a report of part of a history read (HTML says it in the same words)."""
    if part.get("scope") is None:
        return "its report does not say what of the history it read"
    return f"its report read the {part['scope']} only"


def _narrowed(part: dict[str, Any]) -> str:
    return (
        f"part of a history only: {part['repository']}: {narrowed_what(part)}; "
        "the rest of its history was not audited (a key there is not listed)"
    )


def _skipped(part: dict[str, Any]) -> str:
    return (
        f"skipped: {part['repository']}: {part['skipped']} item(s), by a choice "
        f"({part['reason']}); its report lists them"
    )


def _notifications(merged: dict[str, Any]) -> list[dict[str, Any]]:
    """What the audit did not do, as SARIF says what a scan skipped."""
    out = [
        ("error", "failed", f"could not be audited: {f['repository']}: {f['error']}")
        for f in merged["failed"]
    ]
    out += [
        (
            "error",
            "incomplete",
            f"incomplete: {p['repository']}: {p['unreadable']} object(s) could not be read or "
            f"scanned ({p['reason']})",
        )
        for p in merged["incomplete"]
    ]
    out += [("error", "narrowed", _narrowed(p)) for p in merged.get("narrowed", [])]
    out += [("warning", "named-twice", _duplicate(d)) for d in merged.get("duplicates", [])]
    out += [("note", "skipped", _skipped(p)) for p in merged.get("skipped", [])]
    return [
        {"level": level, "message": {"text": text}, "descriptor": {"id": kind}}
        for level, kind, text in out
    ]


def render_json(merged: dict[str, Any]) -> str:
    return inert.json_text(json.dumps(merged, indent=2, ensure_ascii=False)) + "\n"


def render_sarif(merged: dict[str, Any]) -> str:
    """One result per key and repository. Paths are relative to each repository, so the
    repository is named in the message and the properties (one run covers many of them)."""
    rules: dict[str, dict[str, Any]] = {}
    results = []
    for key in merged["keys"]:
        rule_id = str(key.get("rule") or "kimi-key")
        rules.setdefault(
            rule_id,
            {
                "id": rule_id,
                "shortDescription": {"text": f"Kimi / Moonshot key ({key['key_kind']})"},
            },
        )
        for repo in key["repositories"]:
            locations = [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": sarif.artifact_uri(str(loc["path"]))},
                        "region": {
                            "startLine": max(1, int(loc["line"] or 1)),
                            "startColumn": max(1, int(loc.get("column") or 1)),
                        },
                    },
                    "message": {
                        "text": f"{repo['repository']} @ {loc['commit']}"
                        + (f". Note: {loc['note']}" if loc.get("note") else "")
                    },
                }
                for loc in repo["locations"]
                if loc.get("path") and not str(loc["path"]).startswith("<")
            ]
            results.append(
                {
                    "ruleId": rule_id,
                    "ruleIndex": list(rules).index(rule_id),
                    "level": "error",
                    "message": {
                        "text": f"Key #{key['number']} {key['key']} ({_kind(key)}, "
                        f"{_status(key)}) in {repo['repository']}: {_end(repo)}"
                    },
                    "locations": locations[:10] or [],
                    "partialFingerprints": {"secretSha256": key["secret_sha256"]},
                    "properties": {
                        "repository": repo["repository"],
                        "keyKind": key["key_kind"],
                        "verification": _status(key),
                        "inDefaultBranch": repo["in_default_branch"],
                    },
                }
            )
    log = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": sarif.tool(list(rules.values())),
                "results": results,
                # A target not audited, or not read whole, is said here: a SARIF with no
                # results is then not a clean organisation.
                "invocations": [
                    {
                        "executionSuccessful": bool(merged["summary"].get("complete", True)),
                        "toolExecutionNotifications": _notifications(merged),
                    }
                ],
            }
        ],
    }
    return inert.json_text(json.dumps(log, indent=2, ensure_ascii=False)) + "\n"


def render(merged: dict[str, Any], output_format: str) -> str:
    if output_format == "html":
        from kimi_secret_scan.reports import html

        return html.render(merged)
    renderer = {"text": render_text, "json": render_json, "sarif": render_sarif}[output_format]
    return renderer(merged)


FORMATS = ("text", "json", "sarif", "html")
