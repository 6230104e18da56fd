"""Output formats. Each module renders a ScanResult to a string behind one small interface;
`FORMATS` is the only place that maps a format name (kimi_secret_scan.formats) to a renderer.
A format's module is imported the first time it is used, so a hook run pays only for the
format it prints."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING

from kimi_secret_scan.formats import FORMAT_NAMES

if TYPE_CHECKING:
    from kimi_secret_scan.result import ScanResult

# render(result, show_secrets, color) -> str
Renderer = Callable[["ScanResult", bool, bool], str]

_MODULES = {"text": "text", "json": "json_report", "sarif": "sarif", "github": "github"}
assert tuple(_MODULES) == FORMAT_NAMES, "a format name without a renderer, or the reverse"


class _Formats(Mapping[str, Renderer]):
    def __getitem__(self, name: str) -> Renderer:
        module = importlib.import_module(f"kimi_secret_scan.reports.{_MODULES[name]}")
        renderer: Renderer = module.render
        return renderer

    def __iter__(self) -> Iterator[str]:
        return iter(_MODULES)

    def __len__(self) -> int:
        return len(_MODULES)


FORMATS: Mapping[str, Renderer] = _Formats()
