"""Merge per-target (or per-shard) audit reports into one: grouped by distinct key across
repositories, with the plan "revoke each key once, then purge each repository".

Input is the JSON an audit writes per target (the history command's JSON plus `target`), or a
plain `history --format json` report (named after its file). Keys are matched by their
SHA-256 only; the inputs are already redacted, and so is everything merged from them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from kimi_secret_scan import __version__, remediation
from kimi_secret_scan.errors import ScanError
from kimi_secret_scan.org import shards

# What a report of a whole history says it read (`history` with no REVS, --since nor
# --no-reflog, and every audit: `Selection().describe()`, not imported so that merging
# loads no detector): any other scope read part of the history only.
WHOLE_HISTORY = "history of every ref and reflog"

# Which verdict wins when reports disagree (one target verified later than another).
_VERDICT_RANK = {"live": 3, "revoked": 2, "unknown": 1}


def input_files(paths: Iterable[str]) -> list[Path]:
    """Files as given; for a directory, the `*.json` directly inside it."""
    files: list[Path] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            files.extend(sorted(p for p in path.glob("*.json") if p.is_file()))
        else:
            files.append(path)
    return files


def load(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ScanError(f"cannot read {path}: {exc.strerror}") from None
    except ValueError:
        raise ScanError(f"{path} is not JSON") from None
    if not isinstance(data, dict) or data.get("tool") != "kimi-secret-scan":
        raise ScanError(f"{path} is not a kimi-secret-scan report")
    if data.get("mode") == shards.MODE:
        # What a sharded audit says about itself: checked against the other inputs in merge().
        if not shards.well_formed(data):
            raise ScanError(f"{path} is not a shard report (its fields have other types)")
        return data
    if "error" not in data and not isinstance(data.get("groups"), list):
        raise ScanError(f"{path} is not a history or audit report (no `groups`)")
    if not _well_formed(data):
        raise ScanError(f"{path} is not a history or audit report (its fields have other types)")
    return data


def _strings(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


_SCALAR = (str, int, float, bool, type(None))


def _scalars(item: object, *fields: str) -> bool:
    """`item` is a dict (or null) whose `fields` are a string, a number, a boolean or null."""
    if item is None:
        return True
    return isinstance(item, dict) and all(isinstance(item.get(f), _SCALAR) for f in fields)


def _count(value: object) -> bool:
    return value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 0)


def _well_formed(data: dict[str, Any]) -> bool:
    """Every field merge and its renderers read has the type our reports give it (a report
    is input: it may come from an artifact anyone could upload). Checked here, on load, so
    that a crafted file is refused naming it, in every format alike, rather than crashing
    one renderer after the others ran."""
    target = data.get("target", {})
    if not isinstance(target, dict) or not _scalars(data, "error", "tool", "mode", "scope"):
        return False
    if not _scalars(
        target, "name", "key", "default_branch", "default_branch_note", "unreadable_reason"
    ):
        return False
    if not _count(target.get("unreadable")) or not _strings(target.get("also_named", [])):
        return False
    stats = data.get("stats", {})
    if not isinstance(stats, dict) or not isinstance(stats.get("complete", True), bool):
        return False
    for listed in ("incomplete", "skipped"):
        items = stats.get(listed, [])
        if not isinstance(items, list) or not all(
            isinstance(i, dict) and _scalars(i, "path", "reason") for i in items
        ):
            return False
    for name in ("groups", "findings"):
        items = data.get(name, [])
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            return False
    for g in data.get("groups", []):
        if not all(_strings(g.get(field, [])) for field in ("refs", "head_paths")):
            return False
        scalars = ("secret_sha256", "key", "key_kind", "rule", "default_branch", "in_head")
        if not _scalars(g, *scalars, "on_default_branch", "reflog_only"):
            return False
        if not _scalars(g.get("first_appearance"), "path", "line", "commit", "date"):
            return False
        if not _scalars(g.get("unreachable"), "since", "note", "target"):
            return False
        removed = g.get("removed")
        # The renderers name the commit and the date of a removal.
        if removed is not None and not (
            _scalars(removed, "commit", "date") and {"commit", "date"} <= set(removed)
        ):
            return False
    for f in data.get("findings", []):
        if not _scalars(f, "secret_sha256", "path", "commit", "date", "note"):
            return False
        if not all(_count(f.get(n)) for n in ("line", "column")):
            return False
    last = data.get("last_good")  # a failed target's last good report (run.py)
    if last is None:
        return True
    # One level only: run.py never nests one (a crafted file would recurse without end).
    return isinstance(last, dict) and not {"error", "last_good"} & set(last) and _well_formed(last)


def _last_good(data: dict[str, Any]) -> dict[str, Any] | None:
    """A failed target's last good report (run.py keeps it beside the failure), each key
    marked as of that run: a fetch that failed now does not take the keys out of the list."""
    last = data.get("last_good")
    if not isinstance(last, dict) or not last.get("groups"):
        return None
    when = (last.get("target") or {}).get("audited_at")  # None: a version that did not date it
    stale = {"since": when, "error": str(data.get("error"))}
    return {**last, "groups": [{**g, "stale": stale} for g in last["groups"]]}


def _verdict(entries: Iterable[dict[str, Any]]) -> dict[str, Any] | None:
    best: dict[str, Any] | None = None
    for entry in entries:
        v = entry.get("verification")
        # A verdict this tool did not write (another status, or not a string) is no verdict.
        if not isinstance(v, dict) or not isinstance(v.get("status"), str):
            continue
        if v["status"] not in _VERDICT_RANK:
            continue
        status = v["status"]
        if status == "revoked" and "403" in str(v.get("reason")):
            # Written by a version that took a 403 for a revocation: not proven (a Kimi Code
            # 403 is a usage limit or a client not allowed), so the plan keeps its revoke step.
            status = "unknown"
        if best is None or _VERDICT_RANK[status] > _VERDICT_RANK[best["status"]]:
            best = {"status": status, "reason": v.get("reason"), "host": v.get("host")}
    return best


def merge(reports: list[tuple[Path, dict[str, Any]]]) -> dict[str, Any]:
    """The merged report (a plain dict: every renderer reads the same thing)."""
    manifests = [(p, d) for p, d in reports if d.get("mode") == shards.MODE]
    reports = [(p, d) for p, d in reports if d.get("mode") != shards.MODE]
    targets: dict[str, dict[str, Any]] = {}
    # Other spellings of a target, audited once under the name kept: said, never dropped.
    duplicates: list[dict[str, Any]] = []
    for path, data in reports:
        info = data.get("target") or {"name": path.stem, "key": str(path.resolve())}
        # The same target twice (an overlapping rerun): the first file named wins, and a
        # second report that says anything else is said (an artifact anyone could upload
        # must not take a target's place unseen).
        first = targets.setdefault(
            str(info.get("key") or info.get("name")), {"info": info, "data": data, "path": path}
        )
        if first["data"] is not data and first["data"] != data:
            duplicates.append(
                {
                    "target": str(path),
                    "same_as": str(first["info"].get("name")),
                    "report": str(first["path"]),
                }
            )
    keys: dict[str, dict[str, Any]] = {}
    failed = []
    incomplete: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    # Reports of part of a history (`history --since v1`, `history main`, --no-reflog): what
    # they did not read may hold a key, so the merge is not a whole audit of that repository.
    narrowed: list[dict[str, Any]] = []
    audited = []
    for entry in sorted(targets.values(), key=lambda e: str(e["info"].get("name"))):
        info, data = entry["info"], entry["data"]
        name = str(info.get("name"))
        if "error" in data:
            failed.append({"repository": name, "error": str(data["error"])})
            last = _last_good(data)
            if last is None:
                continue
            data = last  # its keys still listed, marked (the failure still exits 2)
        else:
            audited.append(name)
        for other in info.get("also_named") or []:
            duplicates.append({"target": other, "same_as": name})
        scope = data.get("scope")
        if scope != WHOLE_HISTORY:
            # A report that does not say what it read is not taken as whole either.
            narrowed.append({"repository": name, "scope": None if scope is None else str(scope)})
        unread = (data.get("stats") or {}).get("incomplete") or []
        if info.get("unreadable"):
            incomplete.append(
                {
                    "repository": name,
                    "unreadable": int(info["unreadable"]),
                    "reason": str(info.get("unreadable_reason")),
                }
            )
        elif unread or (data.get("stats") or {}).get("complete") is False:
            # A plain `history --format json` report that could not read everything.
            first = unread[0] if unread else {}
            incomplete.append(
                {"repository": name, "unreadable": len(unread), "reason": str(first.get("reason"))}
            )
        # Skipped by a choice (a size limit you set, a submodule, LFS accepted): not a gap,
        # but said here as in the target's own report, so the merged one is not silent.
        chosen = [s for s in (data.get("stats") or {}).get("skipped") or [] if s not in unread]
        if chosen:
            reason = str(chosen[0].get("reason"))
            skipped.append({"repository": name, "skipped": len(chosen), "reason": reason})
        findings = data.get("findings") or []
        for g in data.get("groups") or []:
            sha = str(g.get("secret_sha256"))
            key = keys.setdefault(
                sha,
                {
                    "key": g.get("key"),
                    "secret_sha256": sha,
                    "key_kind": g.get("key_kind"),
                    "rule": g.get("rule"),
                    "verification": None,
                    "repositories": [],
                    "_verdicts": [],
                },
            )
            mine = [f for f in findings if f.get("secret_sha256") == sha]
            key["_verdicts"].extend([g, *mine])
            key["repositories"].append(
                {
                    "repository": name,
                    "default_branch": g.get("default_branch", info.get("default_branch")),
                    # Why the default branch is inferred or unknown (HEAD names a branch
                    # that does not exist), said beside it.
                    "default_branch_note": info.get("default_branch_note"),
                    "first_appearance": g.get("first_appearance"),
                    "refs": g.get("refs") or [],
                    "in_default_branch": bool(g.get("in_head")),
                    "on_default_branch": bool(g.get("on_default_branch", g.get("in_head"))),
                    "head_paths": g.get("head_paths") or [],
                    "removed": g.get("removed"),
                    "reflog_only": bool(g.get("reflog_only")),
                    # No ref reaches it now; an earlier run found it (run.py's _carry).
                    "unreachable": g.get("unreachable"),
                    # From the last good run: this one could not fetch the target.
                    "stale": g.get("stale"),
                    "locations": [
                        {k: f.get(k) for k in ("path", "line", "column", "commit", "date", "note")}
                        for f in mine
                    ],
                }
            )
    # A shard, or a shard's target, with no report here: not audited as far as we know.
    failed.extend(shards.missing(manifests, set(targets)))
    merged_keys = list(keys.values())
    conflicting = [d for d in duplicates if d.get("report")]
    for key in merged_keys:
        key["verification"] = _verdict(key.pop("_verdicts"))
        key["repositories"].sort(key=_first_date)
    status_rank = {"live": 0, "unknown": 1, None: 1, "revoked": 2}
    merged_keys.sort(
        key=lambda k: (
            status_rank[(k["verification"] or {}).get("status")],
            _first_date(k["repositories"][0]),
            k["secret_sha256"],
        )
    )
    for number, key in enumerate(merged_keys, 1):
        key["number"] = number
    kinds: dict[str, int] = {}
    verdicts = {"live": 0, "revoked": 0, "unknown": 0, "unverified": 0}
    for key in merged_keys:
        kinds[str(key["key_kind"])] = kinds.get(str(key["key_kind"]), 0) + 1
        verdicts[(key["verification"] or {}).get("status", "unverified")] += 1
    affected = sorted({r["repository"] for k in merged_keys for r in k["repositories"]})
    return {
        "tool": "kimi-secret-scan",
        "version": __version__,
        "mode": "merge",
        "summary": {
            "targets": len(targets),
            "audited": len(audited),
            "failed": len(failed),
            "incomplete": len(incomplete),
            # A second report of a target that says something else, not merged: which of
            # the two is right is not known.
            "conflicting": len(conflicting),
            # Reports that read part of a history only (their scope says which part).
            "narrowed": len(narrowed),
            # False when a target was not audited or not read whole, its report covers part
            # of its history, or two reports of it disagree: the keys listed are then not all
            # there may be.
            "complete": not failed and not incomplete and not conflicting and not narrowed,
            "duplicates": len(duplicates),
            "skipped": len(skipped),
            "keys": len(merged_keys),
            "kinds": dict(sorted(kinds.items())),
            **verdicts,
            "repositories_affected": len(affected),
            "locations": sum(len(r["locations"]) for k in merged_keys for r in k["repositories"]),
        },
        "keys": merged_keys,
        "failed": failed,
        "incomplete": incomplete,
        "narrowed": narrowed,
        "duplicates": duplicates,
        "skipped": skipped,
        "plan": plan(merged_keys),
    }


def _first_date(repo: dict[str, Any]) -> str:
    first = repo.get("first_appearance") or {}
    return str(first.get("date") or "9999")


def plan(keys: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Revoke each key once (wherever it appears), then purge each repository."""
    revoke: list[str] = []
    by_kind: dict[str, list[str]] = {}
    for key in keys:
        if (key["verification"] or {}).get("status") == "revoked":
            continue  # already revoked: nothing to do at the console
        by_kind.setdefault(str(key["key_kind"]), []).append(f"#{key['number']} {key['key']}")
    for kind, listed in by_kind.items():
        revoke.extend(remediation.revoke_steps(kind, listed))
    repos: dict[str, list[str]] = {}
    carried: dict[str, list[str]] = {}
    for key in keys:
        for r in key["repositories"]:
            if r.get("unreachable"):  # no ref holds it: nothing to rewrite, the server to prune
                carried.setdefault(str(r["unreachable"].get("target")), []).append(
                    f"#{key['number']}"
                )
                continue
            repos.setdefault(r["repository"], []).append(f"#{key['number']}")
    purge = [
        f"{name}: purge key(s) {', '.join(numbers)} from its history (the history audit of a "
        "mirror clone of it prints the purge steps), then force-push and have its clones "
        "re-made."
        for name, numbers in sorted(repos.items())
    ]
    purge += _prune_steps(carried)
    return {"revoke": revoke, "purge": purge}


def _prune_steps(carried: dict[str, list[str]]) -> list[str]:
    return [
        f"{target}: no ref holds key(s) {', '.join(numbers)} any more, but their objects may "
        "still be served by id: prune the repository where it is served (docs/after-a-leak.md "
        f"step 5), then audit again with --purged {target}."
        for target, numbers in sorted(carried.items())
    ]


def printable(value: Any) -> Any:
    """`value` with every control character in its strings shown as an escape: names, paths,
    refs and git's error messages come from repositories and servers, and a terminal would
    obey an escape sequence in them."""
    if isinstance(value, str):
        if value.isprintable():
            return value
        return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in value)
    if isinstance(value, list):
        return [printable(v) for v in value]
    if isinstance(value, dict):
        return {k: printable(v) for k, v in value.items()}
    return value


def exit_code(merged: dict[str, Any]) -> int:
    """2 when a target could not be audited or read whole (what was not read may hold a key:
    never reported as done, even beside keys found elsewhere), or two reports of a target
    disagree (the one not merged may hold a key); 2 also when a report covers part of a
    history only (`history --since`) and no key was found, as for an incomplete scan (the
    user chose the narrowing; a merge of it must not read as a clean whole audit), else 1
    with keys, else 0."""
    s = merged["summary"]
    if s["failed"] or s["incomplete"] or s.get("conflicting"):
        return 2
    if not s.get("complete", True) and not s["keys"]:
        return 2
    return 1 if s["keys"] else 0
