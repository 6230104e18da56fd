"""Output formats. Each module renders a ScanResult to a string behind one small interface;
`FORMATS` is the only place that maps a --format value to a renderer."""

from __future__ import annotations

from collections.abc import Callable

from kimi_secret_scan.reports import github, json_report, sarif, text
from kimi_secret_scan.scan import ScanResult

# render(result, show_secrets, color) -> str
Renderer = Callable[[ScanResult, bool, bool], str]

FORMATS: dict[str, Renderer] = {
    "text": text.render,
    "json": json_report.render,
    "sarif": sarif.render,
    "github": github.render,
}
