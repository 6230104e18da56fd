"""`kimi-secret-scan range BASE..HEAD`: the commits HEAD has that BASE lacks.

Also the shared runner of every command that scans commits (ci, pre-push, pre-receive).
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterable, Sequence
from pathlib import Path

import click

from kimi_secret_scan import gate, gate_limits, git, inert, repo_paths
from kimi_secret_scan.cli import (
    ScanOptions,
    handle_errors,
    lfs_option,
    max_size_option,
    new_suppressions_option,
    scan_options,
)
from kimi_secret_scan.config import DEFAULT_MAX_FILE_SIZE, Config
from kimi_secret_scan.content import Content, Skipped
from kimi_secret_scan.errors import ScanError
from kimi_secret_scan.filters.baseline import BaselineFilter
from kimi_secret_scan.finding import Finding
from kimi_secret_scan.redaction import redact_text
from kimi_secret_scan.scan import scan
from kimi_secret_scan.sources import lfs, metadata
from kimi_secret_scan.sources.commits import (
    RevRange,
    iter_commit_contents,
    list_commits,
    missing_commit_error,
    resolve_commit,
)
from kimi_secret_scan.sources.metadata import PushedRef


def git_dir_cwd(repo: str) -> Path:
    """A directory to run git in: a work tree or a bare repository (the server side)."""
    path = Path(repo)
    if not path.is_dir():
        raise ScanError(f"{repo} is not a directory")
    out = git.require_repo(path, f"{path.resolve()} is not a git repository")
    git_dir = Path(out.decode("utf-8", "surrogateescape").removesuffix("\n"))
    here = path.resolve()
    if git_dir.resolve() not in (here, here / ".git"):
        # Elsewhere (a subdirectory, a linked worktree, a damaged repository inside another
        # that git's discovery walked out of): is PATH part of the repository git found?
        top = git.try_git(["rev-parse", "--show-toplevel"], path)
        found = Path(top.decode("utf-8", "surrogateescape").removesuffix("\n")) if top else None
        git.refuse_a_repository_above(path, found or git_dir, git_dir, whole=False)
    return path


def scan_commits(
    opts: ScanOptions,
    cwd: Path,
    rev_range: RevRange,
    mode: str,
    scope: str,
    refs: Sequence[PushedRef] | None = None,
    server: bool = False,
    no_new_suppressions: bool = False,
    base: str | None = None,
) -> int:
    """List the range's commits, say on stderr what is scanned, scan, and report.

    Everything the commits publish is scanned: the blobs they add, the names of those
    paths, their messages and people, the annotated tags and names of `refs` (the refs a
    push updates; None: the refs that point into the range, and the notes on its commits).
    The suppressions, limits and policy of `base` are trusted (`server`: this repository's
    own, for pre-receive); what only the change's own suppressions hide is reported
    (gate.py). `base` is the commit the user or the CI names as what the change goes onto
    (range's BASE, a pull request's base, the remote's old tip), never one the commits
    choose: the parent of the oldest of them is wherever the change forked (an old commit
    whose configuration still excluded a path, or set no `new-suppressions = "fail"` yet; an
    orphan root with none). None: no base is named (a first push), so nothing is trusted.
    """
    commits = list_commits(cwd, rev_range)
    n = len(commits)
    # The scope quotes the revisions as typed: a key typed as one is not echoed whole.
    line = f"kimi-secret-scan: {scope}: {n} commit{'' if n == 1 else 's'}"
    if not opts.quiet:
        click.echo(inert.text(redact_text(line)), err=True)
    config = opts.config or Config(root=repo_paths.find_root())
    baseline = next((f for f in opts.filters if isinstance(f, BaselineFilter)), None)
    if server:
        trusted = gate.server_side(config, baseline)
    else:
        trusted = gate.base_side(cwd, base, config, baseline, opts.config_given)
    # A size limit the change sets does not apply; one the user set is accepted.
    if opts.max_file_size_option is not None:
        limit, accepted = opts.max_file_size_option, True
    elif trusted.config.max_file_size_set:
        limit, accepted = trusted.config.max_file_size, True
    else:
        limit, accepted = DEFAULT_MAX_FILE_SIZE, False
    # Container limits the change sets do not apply either (`max-unpacked-members = 0`
    # would turn every archive into "skipped"): the base side's (or the server's) limits.
    settings = dataclasses.replace(opts.settings, limits=trusted.config.settings.limits)
    if not opts.min_confidence_given:
        # A change's `min-confidence = "high"` would let its medium findings pass the gate.
        opts.min_confidence = trusted.config.min_confidence
    hidden = gate.NewSuppressions(opts.filters, config, trusted)
    shas = [c.commit.sha for c in commits]
    notes = refs is None
    pushed = list(metadata.refs_at(cwd, shas) if refs is None else refs)
    tags = metadata.annotated_tags(cwd, pushed)
    items: Iterable[Content | Skipped] = itertools.chain(
        gate_limits.size_skips_unread(
            # A file tracked by Git LFS is committed as a pointer: its content, in the LFS
            # store, is published too (a server has none: --allow-missing-lfs accepts it).
            lfs.accepting(
                lfs.Store(cwd, limit).resolve(
                    iter_commit_contents(cwd, commits, max_size=limit, settings=settings)
                ),
                opts.allow_missing_lfs,
            ),
            accepted,
        ),
        metadata.commit_metadata(cwd, shas),
        metadata.tag_metadata(cwd, tags),
        metadata.ref_names(pushed),
        metadata.notes_on(cwd, shas) if notes else (),
        # A pushed tag of a blob or a tree publishes objects no commit of the range holds.
        metadata.non_commit_tips(cwd, pushed, rev_range.exclude, limit),
    )
    # What the base side (or the server) excludes may stay unopened; nothing else may.
    must_unpack = gate_limits.must_unpack(trusted.config)
    result = scan(
        mode,
        scope,
        items,
        hidden.filters(),
        settings,
        unread_containers=must_unpack,
        min_confidence=opts.min_confidence,
    )
    result.stats.commits = n
    result.new_suppressions = hidden.found
    opts.fail_new_suppressions = no_new_suppressions or trusted.config.new_suppressions == "fail"
    if server:
        result.refuses_new_suppressions = opts.fail_new_suppressions
        named = trusted.baseline.path if trusted.baseline is not None else None
        named = named or trusted.config.baseline
        if named:
            from kimi_secret_scan import outfile

            where = Path(named).resolve()
            # A file inside the bare repository cannot be written there (it could be run as
            # a hook or read as config): then the way out says to name one outside it.
            if not outfile.inside_git_dir(where.parent):
                result.server_baseline = str(where)
    # The source yields blobs that need no comparison first; report in commit order.
    order = {c.commit.sha: i for i, c in enumerate(commits)}
    result.findings.sort(
        key=lambda f: (order.get(f.commit.sha, n) if f.commit else n, f.path, f.line, f.column)
    )
    if not server and result.findings:
        result.at_head = where_at_head(cwd, result.findings)
    return opts.report(result)


def where_at_head(cwd: Path, findings: Sequence[Finding]) -> dict[str, str | None]:
    """The files of `findings` that HEAD no longer holds at the path the commit had: where
    HEAD holds each now (renamed later in the range) or None (deleted). The plan's `git rm
    --cached` / `git add` act on the index: naming the old path, they fail (exit 128)."""
    listing = git.try_git(["ls-tree", "-r", "-z", "--name-only", "HEAD"], cwd)
    if listing is None:
        return {}
    held = set(listing.decode("utf-8", "surrogateescape").split("\0"))
    gone: dict[str, set[str]] = {}  # commit -> its files HEAD does not hold there
    for f in findings:
        if f.commit and f.commit.sha and f.file not in held:
            gone.setdefault(f.commit.sha, set()).add(f.file)
    moved: dict[str, str | None] = {}
    for sha, files in gone.items():
        # Only where HEAD is built on the commit (the branch the plan's reset redoes); a
        # range of another branch says nothing about what HEAD renamed.
        if git.try_git(["merge-base", "--is-ancestor", sha, "HEAD"], cwd) is None:
            continue
        args = ["diff", "-z", "--no-ext-diff", "--no-textconv", "--name-status", "-M", sha]
        out = git.try_git([*args, "HEAD", "--"], cwd)
        if out is None:
            continue
        fields = out.decode("utf-8", "surrogateescape").split("\0")
        i = 0
        while i < len(fields) - 1:
            status, first = fields[i], fields[i + 1]
            if status[:1] in "RC" and i + 2 < len(fields):
                if status[0] == "R" and first in files:
                    moved.setdefault(first, fields[i + 2])
                i += 3
                continue
            if status == "D" and first in files:
                moved.setdefault(first, None)
            i += 2
    return moved


def parse_range(spec: str) -> tuple[str, str]:
    """`A..B` or `A...B` → (A, B); an empty side means HEAD, as in git."""
    sep = "..." if "..." in spec else ".."
    if sep not in spec:
        raise ScanError(f"{spec!r} is not a range: write BASE..HEAD (for example main..HEAD)")
    base, head = spec.split(sep, 1)
    return base or "HEAD", head or "HEAD"


def range_between(cwd: Path, base: str, head: str) -> tuple[RevRange, str]:
    """The range `head` minus `base`, with both resolved; and its description."""
    head_id = resolve_commit(cwd, head)
    if head_id is None:
        raise missing_commit_error(cwd, head, "head")
    base_id = resolve_commit(cwd, base)
    if base_id is None:
        raise missing_commit_error(cwd, base, "base")
    return RevRange((head_id,), (base_id,)), f"{base_id[:12]}..{head_id[:12]}"


repo_option = click.option(
    "--repo",
    default=".",
    type=click.Path(file_okay=False),
    help="The repository (default: the current directory).",
)


@click.command("range")
@click.argument("spec", metavar="BASE..HEAD")
@repo_option
@max_size_option
@lfs_option
@new_suppressions_option
@scan_options
@handle_errors
def command(
    spec: str, repo: str, max_file_size: int, no_new_suppressions: bool, opts: ScanOptions
) -> int:
    """Scan every commit in BASE..HEAD (merge commits included) for keys they add.

    Their messages, authors and committers, the names of the files they add, the refs and
    annotated tags that point at them and the notes on them are scanned too.

    BASE...HEAD names the same commits: those HEAD has that BASE lacks. Only keys a commit
    adds are reported; a key its parent already had, or one it deletes, is not.
    """
    cwd = git_dir_cwd(repo)
    base, head = parse_range(spec)
    rev_range, shown = range_between(cwd, base, head)
    scope = f"commits in {shown} ({spec})"
    return scan_commits(
        opts,
        cwd,
        rev_range,
        "range",
        scope,
        no_new_suppressions=no_new_suppressions,
        base=rev_range.exclude[0],  # BASE as resolved: the configuration trusted
    )
