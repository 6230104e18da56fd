"""The history audit as JSON: the core report's fields, plus `groups` (one per distinct key)
and history counts in `stats`. Redacted unless --show-secrets."""

from __future__ import annotations

import json
from typing import Any

from kimi_secret_scan import inert
from kimi_secret_scan.audit import HistoryReport
from kimi_secret_scan.reports.json_report import as_dict


def render_dict(report: HistoryReport, show_secrets: bool) -> dict[str, Any]:
    data = as_dict(report.result, show_secrets)
    data["groups"] = [g.to_dict(show_secrets) for g in report.groups]
    data["stats"].update(blobs=report.blobs, commits=report.commits, tags=report.tags)
    return data


def render(report: HistoryReport, show_secrets: bool, color: bool = False) -> str:
    return (
        inert.json_text(json.dumps(render_dict(report, show_secrets), indent=2, ensure_ascii=False))
        + "\n"
    )
