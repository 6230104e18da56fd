"""What a shard of an organisation audit writes about itself, and what `merge` checks with it.

A shard's output directory holds one report per target; a shard whose job timed out or was
cancelled uploads nothing, and one with no target has no report to upload. Without more, a
merge of what arrived cannot tell that a shard is missing, and calls the rest complete. So
every sharded audit also writes `kimi-secret-scan-shard-K-of-N.json`, even with no target:
which shard it is, of how many, of which target list (a digest of every target's key), and
the targets it audited. `merge` then names each shard, and each target of a shard, that
has no report among its inputs (exit 2), and shards of different runs or target lists.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from kimi_secret_scan import __version__

MODE = "shard"


def file_name(k: int, n: int) -> str:
    return f"kimi-secret-scan-shard-{k}-of-{n}.json"


def list_digest(keys: Iterable[str]) -> str:
    """The same on every machine given the same target list, whatever its order."""
    return hashlib.sha256(
        "\n".join(sorted(set(keys))).encode("utf-8", "surrogateescape")
    ).hexdigest()


def manifest(k: int, n: int, digest: str, members: list[tuple[str, str]]) -> dict[str, Any]:
    """`members`: (name, key) of every target of this shard, audited or refused."""
    return {
        "tool": "kimi-secret-scan",
        "version": __version__,
        "mode": MODE,
        "shard": {
            "index": k,
            "of": n,
            "list": digest,
            "targets": [{"name": name, "key": key} for name, key in members],
        },
    }


def well_formed(data: dict[str, Any]) -> bool:
    shard = data.get("shard")
    if not isinstance(shard, dict) or not isinstance(shard.get("list"), str):
        return False
    k, n = shard.get("index"), shard.get("of")
    if not (type(k) is int and type(n) is int and 1 <= k <= n):
        return False
    members = shard.get("targets")
    return isinstance(members, list) and all(
        isinstance(m, dict) and isinstance(m.get("name"), str) and isinstance(m.get("key"), str)
        for m in members
    )


def missing(manifests: list[tuple[Path, dict[str, Any]]], keys: set[str]) -> list[dict[str, str]]:
    """What the shards say should be here and is not, as failed targets: each shard of the
    run with no manifest among the inputs, each target a shard audited with no report, and
    manifests of different runs (another shard count or target list)."""
    if not manifests:
        return []
    failed: list[dict[str, str]] = []
    runs = {(d["shard"]["of"], d["shard"]["list"]) for _, d in manifests}
    if len(runs) > 1:
        counts = ", ".join(sorted({f"{n} shards (list {digest[:12]})" for n, digest in runs}))
        failed.append(
            {
                "repository": "shards",
                "error": f"the inputs are shards of different audits ({counts}): which targets "
                "a whole run covers is not known; merge the shards of one run, from empty "
                "output directories",
            }
        )
    by_run: dict[tuple[int, str], set[int]] = {}
    for _, data in manifests:
        shard = data["shard"]
        by_run.setdefault((shard["of"], shard["list"]), set()).add(shard["index"])
        for member in shard["targets"]:
            if member["key"] not in keys:
                failed.append(
                    {
                        "repository": member["name"],
                        "error": f"shard {shard['index']} of {shard['of']} audited it, and its "
                        "report is not among the inputs: not merged",
                    }
                )
    for (n, _), present in sorted(by_run.items()):
        for k in range(1, n + 1):
            if k not in present:
                failed.append(
                    {
                        "repository": f"shard {k} of {n}",
                        "error": "no report of this shard among the inputs (no "
                        f"{file_name(k, n)}): "
                        "its job's output is missing (a job that timed out or was cancelled "
                        "uploads nothing); its targets were not merged",
                    }
                )
    return failed
