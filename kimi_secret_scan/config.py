"""Project configuration: find it, read it, and refuse anything it does not understand.

Looked up at the repository root (the top level of the repository around the current
directory, or the current directory outside one); the first found wins:

1. `--config FILE` (a `pyproject.toml` is read from its `[tool.kimi-secret-scan]` table,
   any other file from its top level);
2. `.kimi-secret-scan.toml` (top-level keys);
3. `[tool.kimi-secret-scan]` in `pyproject.toml`.

A dedicated file wins over pyproject.toml, as with other tools, so that a project can move
its settings out without deleting the table first. Unknown keys and invalid values raise
ScanError naming the file and key: a typo must not silently turn a suppression off or on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kimi_secret_scan import record
from kimi_secret_scan.errors import ScanError
from kimi_secret_scan.finding import Confidence
from kimi_secret_scan.globs import Glob, compile_glob
from kimi_secret_scan.settings import DetectorSettings
from kimi_secret_scan.unpack import DEFAULT_LIMITS, Limits

DEDICATED_FILE = ".kimi-secret-scan.toml"
PYPROJECT = "pyproject.toml"
TABLE = "tool.kimi-secret-scan"
# Used when it exists and no other baseline path is configured.
DEFAULT_BASELINE = ".kimi-secret-scan-baseline.toml"

KEYS = (
    "exclude",
    "allow-values",
    "allow-regexes",
    "context-words",
    "variable-names",
    "disable-rules",
    "inline-allow",
    "baseline",
    "min-confidence",
    "format",
    "max-file-size",
    "new-suppressions",
    "max-unpacked-bytes",
    "max-unpack-ratio",
    "max-unpack-depth",
    "max-unpacked-members",
)
# Limits on unpacking containers (docs/containers.md): key, Limits field, least value.
_LIMIT_KEYS = (
    ("max-unpacked-bytes", "max_bytes", 0),
    ("max-unpack-ratio", "max_ratio", 1),
    ("max-unpack-depth", "max_depth", 1),
    ("max-unpacked-members", "max_members", 0),
)
# What a gate does with a finding hidden by a suppression the scanned change added.
NEW_SUPPRESSIONS = ("report", "fail")


def _default_limits() -> dict[str, int]:
    return {attr: getattr(DEFAULT_LIMITS, attr) for _, attr, _ in _LIMIT_KEYS}


# Files and blobs larger than this are skipped, and listed as skipped (never silently).
DEFAULT_MAX_FILE_SIZE = 100 * 1024 * 1024


@record.frozen
@dataclass(init=False, repr=False, eq=False)
class Config:
    """The project configuration, as read (or its defaults)."""

    root: Path  # the repository root; relative paths in the config are read from it
    source: Path | None = None  # the file read; None when there is none
    exclude: tuple[Glob, ...] = ()
    allow_values: frozenset[str] = frozenset()
    allow_regexes: tuple[re.Pattern[str], ...] = ()
    settings: DetectorSettings = field(default_factory=DetectorSettings)
    disable_rules: frozenset[str] = frozenset()
    inline_allow: bool = True
    baseline: Path | None = None  # configured; None: DEFAULT_BASELINE at the root if present
    min_confidence: Confidence = Confidence.LOW
    format: str | None = None
    max_file_size: int = DEFAULT_MAX_FILE_SIZE
    # True when the file sets max-file-size: the user accepted skipping larger files.
    max_file_size_set: bool = False
    new_suppressions: str = "report"

    def __init__(
        self,
        root: Path,
        source: Path | None = None,
        exclude: tuple[Glob, ...] = (),
        allow_values: frozenset[str] = frozenset(),
        allow_regexes: tuple[re.Pattern[str], ...] = (),
        settings: DetectorSettings | None = None,
        disable_rules: frozenset[str] = frozenset(),
        inline_allow: bool = True,
        baseline: Path | None = None,
        min_confidence: Confidence = Confidence.LOW,
        format: str | None = None,
        max_file_size: int = DEFAULT_MAX_FILE_SIZE,
        max_file_size_set: bool = False,
        new_suppressions: str = "report",
    ) -> None:
        record.assign(
            self,
            root=root,
            source=source,
            exclude=exclude,
            allow_values=allow_values,
            allow_regexes=allow_regexes,
            settings=DetectorSettings() if settings is None else settings,
            disable_rules=disable_rules,
            inline_allow=inline_allow,
            baseline=baseline,
            min_confidence=min_confidence,
            format=format,
            max_file_size=max_file_size,
            max_file_size_set=max_file_size_set,
            new_suppressions=new_suppressions,
        )

    @property
    def baseline_path(self) -> Path:
        return self.baseline or self.root / DEFAULT_BASELINE


def shown(path: Path) -> str:
    """A path for a message: relative to the current directory when under it."""
    try:
        return path.absolute().relative_to(Path.cwd()).as_posix()
    except ValueError:
        return str(path)


class _Reader:
    """Typed access to the table, every error naming the file and the key."""

    def __init__(self, source: Path, where: str, table: dict[str, Any]) -> None:
        self.source = source
        self.where = where
        self.table = table

    def error(self, key: str, message: str) -> ScanError:
        return ScanError(f"{shown(self.source)}: {self.where}{key}: {message}")

    def strings(self, key: str) -> tuple[str, ...]:
        value = self.table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.error(key, "must be a list of strings")
        if any(not v for v in value):
            raise self.error(key, "must not contain an empty string")
        return tuple(value)

    def string(self, key: str) -> str | None:
        value = self.table.get(key)
        if value is not None and (not isinstance(value, str) or not value):
            raise self.error(key, "must be a non-empty string")
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self.table.get(key, default)
        if not isinstance(value, bool):
            raise self.error(key, "must be true or false")
        return value


def _parse(source: Path, where: str, table: dict[str, Any], root: Path) -> Config:
    from kimi_secret_scan.formats import FORMAT_NAMES
    from kimi_secret_scan.rules import RULES_BY_ID

    unknown = sorted(set(table) - set(KEYS))
    if unknown:
        raise ScanError(
            f"{shown(source)}: {where}{unknown[0]}: unknown key (known keys: {', '.join(KEYS)})"
        )
    read = _Reader(source, where, table)

    globs: list[Glob] = []
    for text in read.strings("exclude"):
        try:
            globs.append(compile_glob(text))
        except ValueError as exc:
            raise read.error("exclude", f"invalid pattern {exc}") from None

    regexes: list[re.Pattern[str]] = []
    for text in read.strings("allow-regexes"):
        try:
            regexes.append(re.compile(text))
        except re.error as exc:
            raise read.error("allow-regexes", f"invalid regex {text!r}: {exc}") from None

    disabled = read.strings("disable-rules")
    for rule in disabled:
        if rule not in RULES_BY_ID:
            raise read.error(
                "disable-rules", f"unknown rule {rule!r} (rules: {', '.join(sorted(RULES_BY_ID))})"
            )

    baseline = read.string("baseline")
    confidence = read.string("min-confidence")
    try:
        min_confidence = Confidence.parse(confidence) if confidence else Confidence.LOW
    except ValueError as exc:
        raise read.error("min-confidence", str(exc)) from None

    output_format = read.string("format")
    if output_format is not None and output_format not in FORMAT_NAMES:
        raise read.error(
            "format",
            f"unknown format {output_format!r} (formats: {', '.join(sorted(FORMAT_NAMES))})",
        )

    size = table.get("max-file-size", DEFAULT_MAX_FILE_SIZE)
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise read.error("max-file-size", "must be a number of bytes (an integer, 0 or more)")

    new_suppressions = read.string("new-suppressions") or "report"
    if new_suppressions not in NEW_SUPPRESSIONS:
        raise read.error("new-suppressions", 'must be "report" or "fail"')

    chosen: dict[str, int] = {}
    for key, attr, least in _LIMIT_KEYS:
        value = table.get(key, getattr(DEFAULT_LIMITS, attr))
        if not isinstance(value, int) or isinstance(value, bool) or value < least:
            raise read.error(key, f"must be an integer, {least} or more")
        chosen[attr] = value
    limits = Limits(**chosen) if chosen != _default_limits() else DEFAULT_LIMITS

    return Config(
        root=root,
        source=source,
        exclude=tuple(globs),
        allow_values=frozenset(read.strings("allow-values")),
        allow_regexes=tuple(regexes),
        settings=DetectorSettings(
            context_words=read.strings("context-words"),
            variable_names=read.strings("variable-names"),
            limits=limits,
        ),
        disable_rules=frozenset(disabled),
        inline_allow=read.boolean("inline-allow", True),
        baseline=(source.parent / baseline) if baseline else None,
        min_confidence=min_confidence,
        format=output_format,
        max_file_size=size,
        max_file_size_set="max-file-size" in table,
        new_suppressions=new_suppressions,
    )


def _read_toml(path: Path) -> dict[str, Any]:
    import tomllib  # imported here: most runs find no configuration file

    try:
        with path.open("rb") as handle:
            data: dict[str, Any] = tomllib.load(handle)
            return data
    except OSError as exc:
        raise ScanError(f"cannot read {path}: {exc.strerror or type(exc).__name__}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScanError(f"{shown(path)}: invalid TOML: {exc}") from None


def _table_of(path: Path, data: dict[str, Any]) -> dict[str, Any] | None:
    tool = data.get("tool")
    if not isinstance(tool, dict) or "kimi-secret-scan" not in tool:
        return None
    table = tool["kimi-secret-scan"]
    if not isinstance(table, dict):
        raise ScanError(f"{shown(path)}: [{TABLE}] must be a table")
    return table


def load_file(path: Path, root: Path) -> Config:
    """Read one named configuration file."""
    data = _read_toml(path)
    if path.name == PYPROJECT:
        table = _table_of(path, data)
        if table is None:
            raise ScanError(f"{shown(path)}: has no [{TABLE}] table")
        return _parse(path, f"[{TABLE}] ", table, root)
    return _parse(path, "", data, root)


def discover(root: Path) -> Config:
    """The configuration at the repository root, or the defaults when there is none."""
    dedicated = root / DEDICATED_FILE
    if dedicated.is_file():
        return load_file(dedicated, root)
    pyproject = root / PYPROJECT
    if pyproject.is_file():
        data = _read_toml(pyproject)
        table = _table_of(pyproject, data)
        if table is not None:
            return _parse(pyproject, f"[{TABLE}] ", table, root)
    return Config(root=root)


def discovered_file(root: Path) -> Path | None:
    """The file `discover` would read at `root` (None: none there), without reading it."""
    for name in (DEDICATED_FILE, PYPROJECT):
        if (root / name).is_file():
            return root / name
    return None


def load(root: Path, config_file: str | None = None, use_config: bool = True) -> Config:
    if config_file is not None:
        path = Path(config_file)
        if not path.is_file():
            raise ScanError(f"--config {config_file}: no such file")
        return load_file(path.absolute(), root)
    if not use_config:
        return Config(root=root)
    return discover(root)
