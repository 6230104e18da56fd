"""The project configuration's filters: excluded paths, allowed values, disabled rules."""

from __future__ import annotations

from kimi_secret_scan import repo_paths
from kimi_secret_scan.config import Config
from kimi_secret_scan.content import Content
from kimi_secret_scan.filters import Filter
from kimi_secret_scan.finding import Finding
from kimi_secret_scan.globs import excluded


def config_filter(config: Config) -> Filter | None:
    """One filter for what the configuration allows; None when it allows nothing."""
    if not (config.exclude or config.allow_values or config.allow_regexes or config.disable_rules):
        return None

    def allowed_by_config(content: Content, findings: list[Finding]) -> list[Finding]:
        # A piece of a container is excluded with its container, or by its own path.
        shown = (content.path,) if content.container is None else (content.path, content.container)
        if config.exclude and any(
            excluded(path, config.exclude)
            for name in shown
            for path in repo_paths.candidates(name, config.root)
        ):
            return []
        return [
            f
            for f in findings
            if f.rule.id not in config.disable_rules
            and f.secret not in config.allow_values
            and not any(rx.search(f.secret) for rx in config.allow_regexes)
        ]

    def explain(content: Content, finding: Finding) -> str:
        """What in the configuration allowed the finding (for --verbose)."""
        where = config.source.name if config.source else "configuration"
        if finding.rule.id in config.disable_rules:
            return f"{where}: disable-rules {finding.rule.id}"
        if finding.secret in config.allow_values:
            return f"{where}: allow-values"
        for rx in config.allow_regexes:
            if rx.search(finding.secret):
                return f"{where}: allow-regexes {rx.pattern!r}"
        return f"{where}: exclude"

    allowed_by_config.explain = explain  # type: ignore[attr-defined]
    return allowed_by_config


def why_allowed(config: Config, path: str, finding: Finding) -> str | None:
    """Which setting of `config` allows `finding` in content at `path` (None: none does);
    the same tests as the filter above, one finding at a time, to say why."""
    if config.exclude and any(
        excluded(p, config.exclude) for p in repo_paths.candidates(path, config.root)
    ):
        return "exclude"
    if finding.rule.id in config.disable_rules:
        return "disable-rules"
    if finding.secret in config.allow_values:
        return "allow-values"
    if any(rx.search(finding.secret) for rx in config.allow_regexes):
        return "allow-regexes"
    return None
