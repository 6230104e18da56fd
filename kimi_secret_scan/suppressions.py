"""Put the project's suppressions together: configuration, baseline, and the filter chain."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from kimi_secret_scan import config as config_file
from kimi_secret_scan import repo_paths
from kimi_secret_scan.config import Config
from kimi_secret_scan.filters import DEFAULT_FILTERS, Filter
from kimi_secret_scan.filters.config_rules import config_filter
from kimi_secret_scan.filters.pragma import allow_comments

if TYPE_CHECKING:
    from kimi_secret_scan.baseline import Baseline
    from kimi_secret_scan.filters.baseline import BaselineFilter


def load_config(path: str | None = None, use_config: bool = True) -> Config:
    return config_file.load(repo_paths.find_root(), path, use_config)


def load_baseline(config: Config, path: str | None = None) -> Baseline | None:
    """`--baseline FILE` (must exist), else the configured or default path when it exists."""
    if path is None and not config.baseline_path.is_file():
        return None
    # Imported only now: most hook runs have no baseline and should not pay for the module
    # (nor for hashlib, which it imports).
    from kimi_secret_scan import baseline as baseline_file

    return baseline_file.load(Path(path) if path is not None else config.baseline_path)


def baseline_filter(config: Config, path: str | None = None) -> BaselineFilter | None:
    loaded = load_baseline(config, path)
    if loaded is None:
        return None
    from kimi_secret_scan.filters.baseline import BaselineFilter

    return BaselineFilter(loaded, config.root)


def filters_for(config: Config, baseline: BaselineFilter | None = None) -> list[Filter]:
    """Source filter first, then configuration, inline comments, and the baseline last (so
    that `baseline audit` sees as matched only what nothing else already allowed)."""
    filters: list[Filter] = list(DEFAULT_FILTERS)
    by_config = config_filter(config)
    if by_config is not None:
        filters.append(by_config)
    if config.inline_allow:
        filters.append(allow_comments)
    if baseline is not None:
        filters.append(baseline)
    return filters
