"""What a gate does with what a limit set aside, the names a change creates, and what a
hook says of the suppressions the change under way added.

Kept apart from gate.py (which reads baselines and configurations of the base side) so the
pre-commit hook, which needs only these, does not import that machinery.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING

from kimi_secret_scan.content import Content, Skipped
from kimi_secret_scan.filters import Filter, counted_lines

if TYPE_CHECKING:
    from pathlib import Path

    from kimi_secret_scan.cli import ScanOptions
    from kimi_secret_scan.config import Config
    from kimi_secret_scan.finding import Finding
    from kimi_secret_scan.gate import NewSuppressions, Trusted
    from kimi_secret_scan.result import NewSuppression

SIZE_LIMIT = "larger than the size limit"
UNACCEPTED_SIZE = (
    "; not scanned, so the scan is incomplete: scan it with a larger --max-file-size, or "
    "accept skipping it by setting --max-file-size (or max-file-size in the configuration) "
    "yourself"
)


def size_skips_unread(
    items: Iterable[Content | Skipped], accepted: bool
) -> Iterator[Content | Skipped]:
    """A gate's items, with each file skipped by a size limit nobody chose (the default)
    turned into unread content: the gate then fails (exit 2) instead of passing it."""
    for item in items:
        if (
            not accepted
            and isinstance(item, Skipped)
            and not item.unreadable
            and item.reason.startswith(SIZE_LIMIT)
        ):
            yield Skipped(item.path, item.reason + UNACCEPTED_SIZE, unreadable=True)
        else:
            yield item


def new_path_names(paths: Sequence[str], where: str) -> Iterator[Content]:
    """The names of the paths a change creates, as one piece of content (a name is
    published with the file)."""
    if paths:
        text = "\n".join(paths).encode("utf-8", "surrogateescape")
        yield Content(where, text, metadata=True)


def must_unpack(trusted: Config | None) -> Callable[[str], bool]:
    """For scan(unread_containers=): a container a gate could not wholly unpack (a limit,
    an encrypted or Deflate64 member, a damaged archive) fails it, unless the configuration
    the gate trusts (the base side's in a commit gate, the project's in `staged` and
    `commit-msg`) excludes the container: every gate alike, so none passes a key it could
    not read."""

    def must(path: str) -> bool:
        if trusted is None or not trusted.exclude:
            return True
        from kimi_secret_scan import repo_paths
        from kimi_secret_scan.globs import excluded

        return not any(
            excluded(name, trusted.exclude) for name in repo_paths.candidates(path, trusted.root)
        )

    return must


class HookSuppressions:
    """`staged` and `commit-msg`: the project's suppressions, and which of them the change
    under way added (gate.NewSuppressions against HEAD's side, as the commit gates compare
    with the base side): a staged `exclude`, baseline entry or allow comment that hides a
    key is said in every format, and fails the hook with --no-new-suppressions or HEAD's
    `new-suppressions = "fail"`. HEAD's side (gate.py, a few git processes) is read only
    once a suppression hides a finding: a hook run that hides nothing pays nothing for it.
    Use it as `filters()`."""

    def __init__(
        self, effective: Sequence[Filter], config: Config, trusted: Callable[[], Trusted]
    ) -> None:
        self.effective = [f for f in effective if f is not counted_lines]
        self.config = config
        self._trusted = trusted
        self.watch: NewSuppressions | None = None
        self.trusted_config: Config | None = None

    def filters(self) -> list[Filter]:
        return [counted_lines, self]

    def _watching(self) -> NewSuppressions:
        if self.watch is None:
            from kimi_secret_scan.gate import NewSuppressions

            trusted = self._trusted()
            self.trusted_config = trusted.config
            self.watch = NewSuppressions(self.effective, self.config, trusted)
        return self.watch

    def __call__(self, content: Content, findings: list[Finding]) -> list[Finding]:
        if self.watch is None:
            kept = findings
            for keep in self.effective:
                if not kept:
                    break
                kept = keep(content, kept)
            if len(kept) == len(findings):
                return kept  # nothing hidden: HEAD's side is not needed
        return self._watching()(content, findings)

    def explain(self, content: Content, finding: Finding) -> str:
        """What allowed the finding (scan.allowed_by), and whether the change added it."""
        return self._watching().explain(content, finding)

    @property
    def found(self) -> list[NewSuppression]:
        return self.watch.found if self.watch is not None else []

    def fails(self, asked: bool) -> bool:
        """Whether a finding the change's suppressions hide fails the run: asked on the
        command line, or `new-suppressions = "fail"` in HEAD's configuration."""
        head = self.trusted_config
        return asked or (head is not None and head.new_suppressions == "fail")


def head_side(root: Path, config: Config, filters: list[Filter], config_given: bool) -> Trusted:
    """HEAD's configuration and baseline: what a hook trusts (gate.base_side, with HEAD as
    the base side; none before the first commit)."""
    from kimi_secret_scan import gate, git
    from kimi_secret_scan.filters.baseline import BaselineFilter

    head = "HEAD" if git.has_commit(root) else None
    baseline = next((f for f in filters if isinstance(f, BaselineFilter)), None)
    trusted = gate.base_side(root, head, config, baseline, config_given)
    where = "HEAD" if head else "HEAD (none: the first commit)"
    return dataclasses.replace(trusted, where=where)


def watched(opts: ScanOptions, root: Path, known: Trusted | None = None) -> HookSuppressions:
    """The project's suppressions, watched for those the change under way added."""
    from kimi_secret_scan.config import Config

    config = opts.config or Config(root=root)
    filters = list(opts.filters)

    def trusted() -> Trusted:
        return known if known is not None else head_side(root, config, filters, opts.config_given)

    return HookSuppressions(filters, config, trusted)
