"""What a gate trusts: the base side's suppressions and limits, never the change's own.

A pull request can carry its own `.kimi-secret-scan.toml` (`exclude = ["*"]`,
`allow-values`, `max-file-size = 1`), its own baseline entry or an inline allow comment.
The gates (range, ci, pre-push, pre-receive) still apply the configuration they are given,
as every command does, but they also read the configuration and baseline of the *base
side* (the base the user or the CI names: range's BASE, the pull request's base, the merge
request's target branch, the remote's old tip; for pre-receive, the server's own files)
and compare: a finding that only the change's suppressions hide is a *new suppression*.
Never the parent of the oldest commit scanned: the change picks that by where it forks (an
old commit whose configuration excluded a path the target has since un-excluded, or set no
`new-suppressions = "fail"` yet; an orphan root with no configuration at all).
It is reported in every format, and fails the gate with `--no-new-suppressions` or
`new-suppressions = "fail"` in the base side's configuration.

An inline allow comment always counts as new in a gate: every finding of a commit range is
a key the range adds, so the comment that covers it covers a line the range added (or put a
new key under an old `allow-next-line`). A size limit is read only from the command line or
the base side: a limit the change sets does not apply.
"""

from __future__ import annotations

import dataclasses
import os
import posixpath
import tempfile
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

from kimi_secret_scan import config as config_file
from kimi_secret_scan import git
from kimi_secret_scan.config import Config
from kimi_secret_scan.content import Content
from kimi_secret_scan.errors import ScanError
from kimi_secret_scan.filters import Filter, counted_lines
from kimi_secret_scan.filters.baseline import BaselineFilter
from kimi_secret_scan.filters.config_rules import config_filter, why_allowed
from kimi_secret_scan.filters.pragma import allow_comments
from kimi_secret_scan.finding import Finding
from kimi_secret_scan.result import NewSuppression


@dataclass(frozen=True)
class Trusted:
    """The suppressions and limits of the base side (or the server)."""

    config: Config
    baseline: BaselineFilter | None
    where: str  # in words: "the base side (1a2b3c4d5e6f)", "this server's configuration"


def _under(path: Path | None, root: Path) -> str | None:
    """`path` relative to `root` when it names a file inside it (a file the change can
    change). By its name, links not followed: a `.kimi-secret-scan.toml` the change commits
    as a link to a file outside is still the change's configuration, not one the user chose
    outside the repository."""
    if path is None:
        return None
    named = Path(os.path.normpath(path.absolute()))
    real_root = root.resolve()
    for top in (Path(os.path.normpath(root.absolute())), real_root):
        try:
            return named.relative_to(top).as_posix()
        except ValueError:
            pass
    try:
        # The checkout reached through a link of the user's own (/link/repo/x.toml): only
        # the directories above the file are resolved, never the file itself.
        return (named.parent.resolve() / named.name).relative_to(real_root).as_posix()
    except ValueError:
        return None


def _blob_at(cwd: Path, rev: str, rel: str) -> bytes | None:
    """The content of the regular file `rel` at `rev`. A link is followed only to another
    file of that commit (`.kimi-secret-scan.toml -> config/scan.toml`); one leading out of
    the tree reached something no commit holds, so the base side has no such file."""
    for _ in range(8):
        listed = git.try_git(["ls-tree", "-z", rev, "--", rel], cwd)
        if listed is None or not listed.startswith((b"100", b"120000")):
            return None
        data = git.try_git(["cat-file", "blob", f"{rev}:{rel}"], cwd)
        if data is None or listed.startswith(b"100"):
            return data
        target = data.decode("utf-8", "surrogateescape")
        rel = posixpath.normpath(posixpath.join(posixpath.dirname(rel), target))
        if target.startswith("/") or rel == ".." or rel.startswith("../"):
            return None
    return None


def _copy_blob(cwd: Path, rev: str, rel: str, tmp: Path) -> Path | None:
    data = _blob_at(cwd, rev, rel)
    if data is None:
        return None
    target = tmp / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return target


def changed_by(config: Config, root: Path, paths: Collection[str]) -> bool:
    """Whether the file `config` was read from is one of `paths` (those a staged change
    touches): its limits are then the change's, and the committed version's apply."""
    rel = _under(config.source, root)
    return rel is not None and rel in paths


def head_config_if_staged(config: Config, explicit_config: bool) -> Config | None:
    """HEAD's configuration when the index changes the file `config` was read from (a
    commit under way edits it: its limits are the change's), else None."""
    rel = _under(config.source, config.root)
    if rel is None:
        return None
    # Before the first commit `diff --cached` compares with the empty tree: any file counts.
    out = git.try_git(
        ["diff", "--cached", "--name-only", "-z", "--no-renames", "--", rel], config.root
    )
    # The name itself among those listed (a pathspec may match more, under GIT_*_PATHSPECS).
    if out is None or rel.encode("utf-8", "surrogateescape") not in out.split(b"\0"):
        return None
    head = "HEAD" if git.has_commit(config.root) else None
    return base_side(config.root, head, config, None, explicit_config).config


def base_side(
    cwd: Path,
    base: str | None,
    effective: Config,
    baseline: BaselineFilter | None,
    explicit_config: bool,
) -> Trusted:
    """The configuration and baseline as the base commit `base` has them (None: no base
    was named, as for a first push, so there is no base side: nothing is trusted). A file outside
    the repository (`--config /etc/...`) is not the change's to edit, and is trusted."""
    where = f"the base side ({base[:12]})" if base else "the base side (none named)"
    try:
        return _base_side(cwd, base, effective, baseline, explicit_config, where)
    except ScanError as exc:
        # The message names a temporary copy: say whose file it is.
        raise ScanError(f"the configuration of {where}: {exc}") from None


def _base_side(
    cwd: Path,
    base: str | None,
    effective: Config,
    baseline: BaselineFilter | None,
    explicit_config: bool,
    where: str,
) -> Trusted:
    root = effective.root
    rel_config = _under(effective.source, root)
    with tempfile.TemporaryDirectory(prefix="kimi-secret-scan-base-") as name:
        tmp = Path(name)
        if effective.source is not None and rel_config is None:
            config = effective  # outside the repository
        elif base is None:
            config = Config(root=root)
        elif explicit_config and rel_config is not None:
            copied = _copy_blob(cwd, base, rel_config, tmp)
            config = config_file.load_file(copied, tmp) if copied else Config(root=tmp)
        else:
            for candidate in (config_file.DEDICATED_FILE, config_file.PYPROJECT):
                _copy_blob(cwd, base, candidate, tmp)
            config = config_file.discover(tmp)
        trusted_baseline: BaselineFilter | None = None
        baseline_path = baseline.path if baseline is not None else None
        rel_baseline = _under(baseline_path, root)
        if baseline is not None and rel_baseline is None:
            # Outside the repository: trusted when the change did not choose it.
            base_named = _base_named_baseline(config, tmp, root)
            if _outside_chosen_by_user(
                baseline_path, effective, rel_config is None, base_named, root
            ):
                trusted_baseline = baseline
        elif base is not None and rel_baseline is not None:
            # The same path on the base side: a baseline the change added or moved the
            # setting to is absent there, so its entries are new.
            copied = _copy_blob(cwd, base, rel_baseline, tmp)
            if copied is not None:
                from kimi_secret_scan import baseline as baseline_file

                trusted_baseline = BaselineFilter(baseline_file.load(copied), root)
        if config.root == tmp:
            config = dataclasses.replace(config, root=root, baseline=None)
    return Trusted(config, trusted_baseline, where)


def _base_named_baseline(config: Config, tmp: Path, root: Path) -> Path | None:
    """The baseline the base side's configuration names, as a path in the repository."""
    if config.root != tmp or config.baseline is None:
        return None
    try:
        return root / config.baseline.relative_to(tmp)
    except ValueError:
        return config.baseline  # an absolute path


def _lexically_outside(path: Path, root: Path) -> bool:
    norm = Path(os.path.normpath(path.absolute()))
    top = Path(os.path.normpath(root.absolute()))
    return norm != top and top not in norm.parents


def _outside_chosen_by_user(
    path: Path | None,
    effective: Config,
    config_outside: bool,
    base_named: Path | None,
    root: Path,
) -> bool:
    """A baseline outside the repository is trusted only when the scanned change did not
    choose it: `--baseline FILE`, a configuration outside the repository, or the base side's
    configuration naming that outside path itself. Not when the change's configuration
    names it (`baseline = "/tmp/x.toml"`), nor through a symbolic link the change commits
    (`baseline.toml -> /tmp/x.toml`): any file outside that holds the key's hash would
    then hide the key without a word."""
    if path is None:
        return False
    if effective.source is not None and config_outside:
        return True
    if path.resolve() != effective.baseline_path.resolve():
        return True  # named on the command line
    return (
        base_named is not None
        and _lexically_outside(base_named, root)
        and base_named.resolve() == path.resolve()
    )


def server_side(effective: Config, baseline: BaselineFilter | None) -> Trusted:
    """pre-receive: the server's configuration and baseline are trusted as they are."""
    return Trusted(effective, baseline, "this server's configuration")


def _key(f: Finding) -> tuple[str, int, int, str, str | None]:
    return (f.path, f.line, f.column, f.secret, f.encoding)


class NewSuppressions:
    """A filter that applies the effective suppressions, and records each finding they
    hide that the trusted side would not hide. Use it as `[counted_lines, this]`."""

    def __init__(self, effective: Sequence[Filter], config: Config, trusted: Trusted) -> None:
        self.effective = [f for f in effective if f is not counted_lines]
        self.config = config
        by_config = config_filter(trusted.config)
        self.trusted: list[Filter] = [f for f in (by_config, trusted.baseline) if f is not None]
        self.where = trusted.where
        self.found: list[NewSuppression] = []

    def filters(self) -> list[Filter]:
        return [counted_lines, self]

    def _trusted_hides(self, content: Content, finding: Finding) -> bool:
        kept = [finding]
        for keep in self.trusted:
            kept = keep(content, kept)
            if not kept:
                return True
        return False

    def _why(self, keep: Filter, content: Content, finding: Finding) -> tuple[str, str]:
        if keep is allow_comments:
            return (
                "inSource",
                f"an inline allow comment on line {finding.line} (or the line before), which "
                "this change added: every key of a scanned change is new",
            )
        if isinstance(keep, BaselineFilter):
            return (
                "external",
                f"a baseline entry that {self.where} does not have: this change added it",
            )
        setting = why_allowed(self.config, content.path, finding) or "a setting"
        source = config_file.shown(self.config.source) if self.config.source else "configuration"
        return (
            "external",
            f"{source}: `{setting}` allows it, and {self.where} does not: this change set it",
        )

    def explain(self, content: Content, finding: Finding) -> str:
        """What allowed the finding, for --verbose (scan.allowed_by asks this filter): the
        suppression that hid it, and whether the scanned change added it."""
        from kimi_secret_scan.scan import allowed_by

        for keep in self.effective:
            if keep(content, [finding]):
                continue
            if self._trusted_hides(content, finding):
                return allowed_by(keep, content, finding)
            return self._why(keep, content, finding)[1]
        return "a suppression"

    def __call__(self, content: Content, findings: list[Finding]) -> list[Finding]:
        kept = findings
        for keep in self.effective:
            if not kept:
                break
            after = keep(content, kept)
            if len(after) < len(kept):
                left = {_key(f) for f in after}
                for f in kept:
                    if _key(f) not in left and not self._trusted_hides(content, f):
                        kind, why = self._why(keep, content, f)
                        self.found.append(NewSuppression(f, kind, why))
            kept = after
        return kept
