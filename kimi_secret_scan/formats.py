"""The names of the output formats, and what `--report FORMAT[:PATH]` means.

Below both the configuration (which checks a `format` setting) and the reports (which
render each format), so that reading the configuration never imports a renderer.
"""

from __future__ import annotations

from dataclasses import dataclass

from kimi_secret_scan import record

# The order is the order --help lists them in.
FORMAT_NAMES: tuple[str, ...] = ("text", "json", "sarif", "github")

# Formats that are one document each: two of them cannot share standard output.
DOCUMENTS = frozenset({"json", "sarif"})


@record.frozen
@dataclass(init=False, repr=False, eq=False)
class ReportTarget:
    """One report of a run: a format, written to a file, or to standard output (None)."""

    format: str
    path: str | None = None

    def __init__(self, format: str, path: str | None = None) -> None:
        record.assign(self, format=format, path=path)

    @property
    def to_stdout(self) -> bool:
        return self.path is None


def parse_target(value: str) -> ReportTarget:
    """`FORMAT` or `FORMAT:PATH` (the path may hold colons: only the first one splits);
    `FORMAT:-` is standard output too."""
    name, colon, path = value.partition(":")
    if name not in FORMAT_NAMES:
        raise ValueError(f"unknown format {name!r} (formats: {', '.join(FORMAT_NAMES)})")
    if colon and not path:
        raise ValueError(f"{value!r}: no path after ':' (write {name} for standard output)")
    return ReportTarget(name, None if path in ("", "-") else path)


def stdout_conflict(targets: list[ReportTarget]) -> str | None:
    """Why these reports cannot share standard output, or None. Text and GitHub
    annotations can be read in one stream; a JSON or SARIF document has to be alone."""
    on_stdout = [t.format for t in targets if t.to_stdout]
    if len(on_stdout) > 1 and DOCUMENTS.intersection(on_stdout):
        return (
            f"reports {', '.join(on_stdout)} would share standard output; write the "
            "JSON or SARIF one to a file (--report FORMAT:PATH)"
        )
    return None
