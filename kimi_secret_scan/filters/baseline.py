"""The baseline filter: drop findings whose key the baseline lists, and remember which
entries matched (for `baseline audit` and `baseline update`)."""

from __future__ import annotations

from pathlib import Path

from kimi_secret_scan import repo_paths
from kimi_secret_scan.baseline import Baseline, Entry
from kimi_secret_scan.content import Content
from kimi_secret_scan.finding import Finding


class BaselineFilter:
    def __init__(self, baseline: Baseline, root: Path) -> None:
        self.root = root
        self.path = baseline.path  # the file read (None: built in memory)
        self.by_sha: dict[str, list[Entry]] = {}
        for entry in baseline.entries:
            self.by_sha.setdefault(entry.sha256, []).append(entry)
        self.matched: set[Entry] = set()

    def entries_for(self, finding: Finding) -> list[Entry]:
        entries = self.by_sha.get(finding.secret_sha256)
        if not entries:
            return []
        paths = repo_paths.candidates(finding.path, self.root)
        return [entry for entry in entries if entry.matches(finding, paths)]

    def __call__(self, content: Content, findings: list[Finding]) -> list[Finding]:
        kept: list[Finding] = []
        for finding in findings:
            entries = self.entries_for(finding)
            if entries:
                self.matched.update(entries)
            else:
                kept.append(finding)
        return kept
