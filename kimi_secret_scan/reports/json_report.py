"""Machine-readable JSON: {"tool", "version", "mode", "scope", "findings", "stats"}."""

from __future__ import annotations

import json
from typing import Any

from kimi_secret_scan import __version__, inert
from kimi_secret_scan.result import ScanResult


def as_dict(result: ScanResult, show_secrets: bool) -> dict[str, Any]:
    stats = result.stats
    return {
        "tool": "kimi-secret-scan",
        "version": __version__,
        "mode": result.mode,
        "scope": result.scope,
        "findings": [f.to_dict(show_secrets) for f in result.findings],
        "stats": {
            "files": stats.files,
            "lines": stats.lines,
            "bytes": stats.bytes,
            "commits": stats.commits,
            "findings": len(result.findings),
            "distinct_keys": len({f.secret_sha256 for f in result.findings}),
            "skipped": [{"path": s.path, "reason": s.reason} for s in stats.skipped],
            "suppressed": stats.suppressed,
            "metadata": stats.metadata,
            # False when something could not be read or scanned, findings or not.
            "complete": result.complete,
            "incomplete": [{"path": s.path, "reason": s.reason} for s in result.unread],
        },
        # Findings hidden by suppressions the scanned change added (gates): always redacted.
        "suppressed": [
            {**h.finding.to_dict(False), "kind": h.kind, "justification": h.justification}
            for h in result.new_suppressions
        ],
    }


def render(result: ScanResult, show_secrets: bool, color: bool = False) -> str:
    return (
        inert.json_text(json.dumps(as_dict(result, show_secrets), indent=2, ensure_ascii=False))
        + "\n"
    )
