"""Audit many targets on one machine: worker processes, one report file per target, and a
progress display.

Each target is audited in its own worker process, which exits after that one target
(`maxtasksperchild=1`): memory is bounded per job and returned to the system between
targets. A worker mirrors a URL (GitPython, imported only there), then runs the same
history pipeline as `kimi-secret-scan history` and writes the same JSON, plus a `target`
object (what was audited, at which ref tips) and, per key, when it left the default branch.
A rerun skips targets whose report was made at the same ref tips with the same settings.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import multiprocessing
import os
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from kimi_secret_scan import __version__, audit, git, inert, outfile, special_files, threads
from kimi_secret_scan.errors import ScanError
from kimi_secret_scan.org import seal, shards, timeline
from kimi_secret_scan.org.merge import printable
from kimi_secret_scan.org.targets import Target
from kimi_secret_scan.progress import Progress
from kimi_secret_scan.redaction import Hidden, hidden_in, redact_text

if TYPE_CHECKING:
    from collections.abc import Callable

    from kimi_secret_scan.result import ScanResult
    from kimi_secret_scan.sources.history import Selection

# A target's file is the history command's JSON plus `target`; for a target that could not
# be audited, the same header with `error` (git's reason) instead of findings.
MODE = "history"


@dataclass(frozen=True)
class Job:
    target: Target
    cache: str
    output: str
    config_file: str | None = None
    baseline_file: str | None = None
    max_file_size: int | None = None
    # --verify: ask each key's issuing service whether it is live (one request per distinct
    # key of this target; the keys exist only in this worker, the reports hold none whole).
    verify: bool = False
    # --inline-allows: apply the targets' inline allow comments (else each key one covers is
    # reported, with a note saying so).
    inline_allows: bool = False
    # Other spellings in the list that normalise to this target (`Target.shown`): audited
    # once, and said in its report, so that a merge of the reports says it too.
    also_named: tuple[str, ...] = ()
    # --purged: the user purged this target where it is served (and pruned it there): the
    # keys earlier runs reported and this one no longer reaches are dropped (see _carry),
    # and its cached mirror is cloned afresh (the old one still holds their objects).
    purged: bool = False


@dataclass(frozen=True)
class Outcome:
    name: str
    status: str  # audited | unchanged | failed
    keys: int = 0
    error: str | None = None
    output: str = ""
    unreadable: int = 0  # objects that could not be read: the audit of this target is partial
    note: str | None = None  # said on the target's line (a cache entry cloned again)


# -- in the worker ---------------------------------------------------------------------------

_queue: Any = None  # multiprocessing queue to the display, set by _init in each worker


def _init(queue: Any, temp_dir: str | None = None) -> None:
    global _queue
    _queue = queue
    # Ctrl-C reaches the whole process group: the parent alone handles it (it terminates
    # the pool). SIGINT was blocked while the pool started, so none arrived half-way through
    # this worker's start-up; ignored now, then let through.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    if temp_dir is not None:
        # Ctrl-C terminates the workers, and no finally of theirs runs: a large container's
        # spool (whole keys in it) goes into a directory the parent removes after them.
        import tempfile

        tempfile.tempdir = temp_dir


class _Reporter:
    """Progress from a worker to the display: at most a few messages a second."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.phase = ""
        self.last = 0.0

    def __call__(self, phase: str, current: float, total: float) -> None:
        now = time.monotonic()
        if _queue is None or (phase == self.phase and now - self.last < 0.2):
            return
        self.phase, self.last = phase, now
        with contextlib.suppress(OSError, ValueError):
            _queue.put((self.name, phase, current, total))


class _Meter(Progress):
    """The history pipeline's progress callback, forwarded to the display."""

    def __init__(self, report: _Reporter) -> None:
        super().__init__("", stream=sys.stderr)
        self.report = report

    def __call__(self, objects: int, nbytes: int) -> None:
        self.report("scanning", objects, 0)

    def done(self) -> None:
        pass


def fingerprint(root: Path, job: Job) -> str:
    """What a report depends on: everything the history scan starts from, the tool version
    and every setting that changes the report. A rerun reuses a report only when all of it
    is the same: a key that entered only a reflog since (committed, then `git reset --hard`),
    or a run that now asks --verify, is audited again."""
    digest = hashlib.sha256()
    digest.update(__version__.encode())
    digest.update(git.run_git(["for-each-ref", "--format=%(objectname) %(refname)"], root))
    digest.update(git.try_git(["symbolic-ref", "-q", "HEAD"], root) or b"")
    # The scan starts from more than the refs: every worktree's HEAD and every reflog entry.
    # The commits it starts from, asked with its own arguments and not walked (about 0.1 s
    # for 4,500 refs and reflog entries).
    starts = git.try_git(["rev-list", "--no-walk=unsorted", *_selection().rev_args()], root)
    if starts is None:
        digest.update(os.urandom(16))  # not known: never reused
    else:
        digest.update(b"\n".join(sorted(set(starts.split()))))
    # And from names outside refs, which change with no ref changing (`git fetch URL
    # branch` writes only FETCH_HEAD; a stopped merge MERGE_HEAD; a deleted ref leaves its
    # reflog): the names (scanned as ref names), the ids walked, what could not be read.
    # This worktree's FETCH_HEAD, ORIG_HEAD, … are fixed names with nothing to scan: left
    # out, or each fetch of a mirror (its FETCH_HEAD names only the tips) would audit again.
    from kimi_secret_scan.sources import hidden_refs  # the pipeline: in the worker

    hidden = hidden_refs.find(root, reflog=_selection().reflog)
    fixed = {*special_files.PSEUDOREFS, *hidden_refs.STATE_FILES, *hidden_refs.LIST_FILES}
    outside = {
        "names": sorted(hidden.every_name - fixed),
        "walked": sorted(hidden.named),
        "skipped": sorted((sk.path, sk.reason) for sk in hidden.skipped),
    }
    digest.update(json.dumps(outside, sort_keys=True).encode("utf-8", "surrogateescape"))
    settings = {
        "max_file_size": job.max_file_size,
        "verify": job.verify,
        "inline_allows": job.inline_allows,
        "also_named": list(job.also_named),  # said in the report: a new list writes it again
        # The files' contents, not their names: an edited configuration is another setting.
        "config": _digest_of(job.config_file),
        "baseline": _digest_of(job.baseline_file),
    }
    digest.update(json.dumps(settings, sort_keys=True).encode())
    return digest.hexdigest()


def _selection() -> Selection:
    """What a target's audit reads: every ref, every worktree's HEAD, every reflog entry."""
    from kimi_secret_scan.sources.history import Selection  # the pipeline: in the worker

    return Selection(revs=(), since=None, reflog=True)


def _digest_of(name: str | None) -> str | None:
    return hashlib.sha256(Path(name).read_bytes()).hexdigest() if name else None


def _target_info(target: Target, also_named: tuple[str, ...] = ()) -> dict[str, Any]:
    # The normalised key has no password; `spec` is not written (it may hold a token).
    info = {"name": target.name, "key": target.key, "url": target.url is not None}
    return {**info, "also_named": list(also_named)} if also_named else info


def invalid_key(spec: str) -> str:
    """The key of a target that could not be parsed: its text's digest."""
    return f"invalid:{hashlib.sha256(spec.encode('utf-8', 'surrogateescape')).hexdigest()}"


def _invalid_name(spec: str) -> str:
    # The spec as given, but for what may be a credential before a host (`//token@`).
    return re.sub(r"(?<=//)[^/@]*@", "…@", spec)


def write_shard(
    outdir: Path,
    shard: tuple[int, int],
    digest: str,
    selected: list[Target],
    invalid: list[tuple[str, str]],
) -> None:
    """The shard's own report (org/shards.py): which shard of which run, and its targets."""
    members = [(t.name, t.key) for t in selected]
    members += [(_invalid_name(spec), invalid_key(spec)) for spec, _ in invalid]
    k, n = shard
    _write(outdir / shards.file_name(k, n), shards.manifest(k, n, digest, members))


def write_invalid(outdir: Path, spec: str, error: str) -> Outcome:
    """A target git must not see (or that is no URL at all): not audited, and written as a
    failed target's report, so that the run, and a merge of the shards' reports, exit 2
    naming it while the other targets are audited."""
    # The spec as given, but for what may be a credential before a host (`//token@`).
    name = re.sub(r"(?<=//)[^/@]*@", "…@", spec)
    error = error.removeprefix(f"{spec}: ")
    digest = hashlib.sha256(spec.encode("utf-8", "surrogateescape")).hexdigest()
    output = outdir / f"invalid-target-{digest[:12]}.json"
    data = {
        "tool": "kimi-secret-scan",
        "version": __version__,
        "mode": MODE,
        "target": {"name": name, "key": f"invalid:{digest}", "url": False},
        "error": error,
    }
    _write(output, data)
    return Outcome(name, "failed", error=error, output=str(output))


def _write(
    path: Path, data: dict[str, Any], hidden: Hidden | None = None, key: bytes | None = None
) -> None:
    """`key`: seal the report (a failure's report is never sealed: never reused)."""
    text = inert.json_text(json.dumps(data, indent=2, ensure_ascii=False)) + "\n"
    text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    # A path, a ref or a message may be named after a key, in any spelling (redaction.py).
    text = redact_text(text, hidden)
    if key is not None:
        # Sealed as it will be read back (redacted): a rerun reuses only a report this tool
        # wrote, never one a checkout committed in the output directory.
        text = json.dumps(seal.seal_report(json.loads(text), key), indent=2, ensure_ascii=False)
        text = inert.json_text(text)
        text += "\n"
    # outfile's checks: never through a link (the file's or a directory's the audited
    # checkout commits), never into a git directory; written beside and renamed over.
    outfile.write(path, text, whole_keys=False)


def _previous(path: Path, key: bytes | None) -> dict[str, Any] | None:
    if path.is_symlink():
        return None  # not a report this tool wrote (it never writes one as a link)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    # Its seal says this tool wrote it; the fingerprint alone anyone can compute (by
    # auditing the same public target) and commit with a clean report.
    return data if isinstance(data, dict) and seal.report_is_ours(data, key) else None


def work(job: Job) -> Outcome:
    """Audit one target; never raises (a failure is an Outcome and an error file)."""
    target = job.target
    output = Path(job.output)
    report = _Reporter(target.name)
    try:
        key = seal.load_key()
        previous = _previous(output, key)
    except Exception:
        key, previous = None, None
    try:
        return _work(job, target, output, report)
    except ScanError as exc:
        error = redact_text(str(exc))
    except KeyboardInterrupt:
        error = "interrupted"
    except Exception as exc:  # a message could quote content: its type only
        error = f"internal error ({type(exc).__name__})"
    failed = {
        "tool": "kimi-secret-scan",
        "version": __version__,
        "mode": MODE,
        "target": _target_info(target, job.also_named),
        "error": error,
    }
    last_good = _last_good(previous, target)
    if last_good is not None:
        # The keys the last good run found are still to be revoked: kept beside the failure
        # (merge lists them "from the run of <date>"), never dropped by a fetch that failed.
        failed["last_good"] = last_good
    try:
        # Sealed: the next run carries the last good keys from it (_carry), never reuses it.
        _write(output, failed, None, key if last_good is not None else None)
    except ScanError as exc:  # outfile refused the place: the parent then cannot read it
        error = f"{error}; {redact_text(str(exc))}"
    report("failed", 0, 0)
    return Outcome(target.name, "failed", error=error, output=str(output))


def _work(job: Job, target: Target, output: Path, report: _Reporter) -> Outcome:
    # Imported here, in the worker: the pipeline and GitPython load only where they run.
    from kimi_secret_scan.cli import configure
    from kimi_secret_scan.config import DEFAULT_MAX_FILE_SIZE
    from kimi_secret_scan.reports import history_json
    from kimi_secret_scan.sources.history import find_repo_dir

    key = seal.load_key()
    note = None
    if target.url is not None:
        from kimi_secret_scan.org import mirror

        if job.purged:
            mirror.forget(target, Path(job.cache))
        root, note = mirror.ensure(target, Path(job.cache), report)
    else:
        assert target.path is not None
        root = find_repo_dir(str(target.path), whole=True)
    tips = fingerprint(root, job)
    previous = _previous(output, key)
    # --verify: a verdict is of the moment it was asked (a key revoked since, a service that
    # did not answer), so a target with keys is audited again; a clean report has none.
    stale_verdicts = job.verify and bool(previous and previous.get("groups"))
    # A report that could not read everything is audited again: what it missed may be here
    # now with no ref changing (`git fetch --unshallow`, a partial clone's or LFS objects
    # fetched since), and it said so itself (fetch it, then run again).
    incomplete = bool(previous and previous.get("target", {}).get("unreadable"))
    if (
        previous
        and previous.get("target", {}).get("tips") == tips
        # Another target's report (its seal good) copied over this one's is not this one's.
        and previous.get("target", {}).get("key") == target.key
        and "error" not in previous
        and not stale_verdicts
        and not incomplete
        and not job.purged
    ):
        report("unchanged", 0, 0)
        keys = len(previous.get("groups", []))
        note = _with_carried(note, previous)
        return Outcome(target.name, "unchanged", keys, None, str(output), note=note)
    opts = configure(
        output_format="json",
        config_file=job.config_file,
        use_config=job.config_file is not None,
        baseline_file=job.baseline_file,
        use_baseline=job.baseline_file is not None,
    )
    opts.verify = job.verify
    if not job.inline_allows:
        # A target's allow comments are its content: said, not applied (as in `history`).
        from kimi_secret_scan.filters.pragma import NotedAllowComments, allow_comments

        again = NotedAllowComments("run this audit again with --inline-allows")
        opts.filters = [again if f is allow_comments else f for f in opts.filters]
    max_size = job.max_file_size
    if max_size is None:
        max_size = opts.config.max_file_size if opts.config else DEFAULT_MAX_FILE_SIZE
    # Asked before the audit: "still in the default branch" is of its tree.
    branch, branch_note = timeline.main_line(root)
    result = audit.run_history(
        root,
        _selection(),
        opts.scan,
        opts.settings,
        max_size,
        _Meter(report),
        before_grouping=_naming_target(opts.verify_keys, target.name)
        if job.verify
        else opts.verify_keys,
        jobs=1,  # the repositories are already audited in parallel, one per worker
        # --max-file-size, or `max-file-size` in --config: the user's; else the default's
        # skips leave the target incomplete, as in `history`.
        size_limit_accepted=job.max_file_size is not None
        or bool(opts.config and opts.config.max_file_size_set),
        head_ref=branch if branch_note and branch else "HEAD",
    )
    data = history_json.render_dict(result, show_secrets=False)
    for g, entry in zip(result.groups, data["groups"], strict=True):
        entry["default_branch"] = branch
        entry["on_default_branch"] = branch is not None and branch in g.refs
        entry["removed"] = timeline.removal(root, g, branch) if branch else None
    unread = [sk for sk in result.result.stats.skipped if sk.unreadable]
    data["target"] = {
        **_target_info(target, job.also_named),
        "default_branch": branch,
        # Why the default branch was inferred (HEAD names a branch that does not exist),
        # or why it is unknown (branch None); None when HEAD names it.
        "default_branch_note": branch_note,
        "tips": tips,
        # What could not be read may hold a key: the merge reports the target as incomplete.
        "unreadable": len(unread),
        "unreadable_reason": unread[0].reason if unread else None,
        "audited_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    _server_note(data, target)
    if not job.purged and previous and previous.get("target", {}).get("key") == target.key:
        _carry(previous, data, target, root)
    refs = {name for g in result.groups for name in (*g.refs, *g.head_paths)}
    _write(output, data, hidden_in(result.result, refs), key)
    report("done", 0, 0)
    keys = len(data["groups"])
    note = _with_carried(note, data)
    return Outcome(target.name, "audited", keys, None, str(output), len(unread), note)


def _with_carried(note: str | None, data: dict[str, Any]) -> str | None:
    """The target's line says how many of its keys only an earlier run saw reachable."""
    groups = data.get("groups") or []
    carried = sum(isinstance(g, dict) and bool(g.get("unreachable")) for g in groups)
    if not carried:
        return note
    said = f"{carried} of them no longer reachable from any ref (listed until --purged)"
    return f"{said}; {note}" if note else said


def _good_part(report: dict[str, Any]) -> dict[str, Any] | None:
    """What a good report holds that a later run must not forget: its keys, where, when."""
    if "error" in report:
        last = report.get("last_good")
        return last if isinstance(last, dict) else None
    info = report.get("target") or {}
    return {
        "target": {k: info.get(k) for k in ("name", "key", "default_branch", "audited_at")},
        "groups": [g for g in report.get("groups") or [] if isinstance(g, dict)],
        "findings": [f for f in report.get("findings") or [] if isinstance(f, dict)],
    }


def _last_good(previous: dict[str, Any] | None, target: Target) -> dict[str, Any] | None:
    """The last good report of this target (this tool's, sealed), for a run that failed."""
    if not previous or previous.get("target", {}).get("key") != target.key:
        return None
    good = _good_part(previous)
    return good if good and good.get("groups") else None


def _reached(root: Path, commits: set[str]) -> bool:
    """Whether a ref still reaches one of the commits a key was found in: then the key is
    not reported now for another reason (an allow comment applied, a baseline, another
    version), not because the server no longer reaches it."""
    for commit in sorted(commits)[:20]:
        if not re.fullmatch(r"[0-9a-f]{40}|[0-9a-f]{64}", commit):
            continue
        args = ["for-each-ref", "--count=1", "--format=%(refname)", "--contains", commit]
        if git.try_git(args, root):
            return True
    return False


def _carry(
    previous: dict[str, Any] | None, data: dict[str, Any], target: Target, root: Path
) -> None:
    """Keys an earlier run reported that no ref reaches now (a branch deleted, history
    rewritten and force-pushed) stay listed, marked: their objects are still stored, and a
    server serves them to anyone who asks by id, until it is pruned. Only the user knows it
    was (`--purged`): a run never drops a key silently."""
    good = _good_part(previous) if previous else None
    if not good:
        return
    found = {g.get("secret_sha256") for g in data["groups"]}
    since = (good.get("target") or {}).get("audited_at")
    where = " on the server" if target.url is not None else ""
    for g in good.get("groups") or []:
        sha = g.get("secret_sha256")
        if sha in found:
            continue
        mine = [f for f in good.get("findings") or [] if f.get("secret_sha256") == sha]
        commits = {str(f.get("commit")) for f in mine if f.get("commit")}
        first = g.get("first_appearance")
        if isinstance(first, dict) and first.get("commit"):
            commits.add(str(first["commit"]))
        if _reached(root, commits):
            continue
        found.add(sha)
        earlier = g.get("unreachable")
        mark = (
            {**earlier, "target": target.shown}
            if isinstance(earlier, dict)
            else {
                "since": since,
                "note": f"no longer reachable from any ref{where}; may still be served by "
                "object id until it is pruned there",
                "target": target.shown,  # what --purged takes (a report's name is not one)
            }
        )
        data["groups"].append(
            {
                **g,
                "refs": [],
                "head_paths": [],
                "in_head": None,
                "on_default_branch": False,
                "reflog_only": False,
                "unreachable": mark,
            }
        )
        data.setdefault("findings", []).extend(mine)


def _server_note(data: dict[str, Any], target: Target) -> None:
    """For a URL target, the objects no ref reaches are in this tool's mirror: the server is
    what serves them (or no longer does: only the user knows). The note names the server and
    what to do there, never the cache (pruning the cache changes nothing on the server)."""
    if target.url is None:
        return
    for item in (data.get("stats") or {}).get("skipped") or []:
        if item.get("path") != audit.UNREACHABLE:
            continue
        count = re.match(r"\d+", str(item.get("reason")))
        item["reason"] = (
            f"{count.group() if count else 'some'} objects this audit fetched from "
            f"{target.name} are no longer reachable from any ref there (a deleted branch, a "
            "force-push), not scanned; the server may still serve them to anyone who asks by "
            "id until it prunes them. On the server, in that repository: git reflog expire "
            "--expire=now --all && git gc --prune=now (a hosting service: its own "
            "housekeeping or support, docs/after-a-leak.md step 5); then audit again with "
            f"--purged {target.shown}"
        )


def _naming_target(
    verify_keys: Callable[[ScanResult], None], name: str
) -> Callable[[ScanResult], None]:
    """--verify's stderr line, naming its target: each target's audit asks its own keys (a
    key in two repositories is asked twice, docs/verify.md), and its line, unnamed, could
    not be told from the other targets' lines printed at the same time."""
    import io

    import click

    def verify(result: ScanResult) -> None:
        said = io.StringIO()
        with contextlib.redirect_stderr(said):
            verify_keys(result)
        lead = "kimi-secret-scan: --verify: "
        for line in said.getvalue().splitlines():
            if line.startswith(lead):
                line = f"{lead}{inert.text(name)}: {line[len(lead) :]}"
            click.echo(redact_text(line), err=True)

    return verify


# -- in the parent ---------------------------------------------------------------------------


class Display:
    """Overall and per-repository progress on one redrawn line (a terminal only), and one
    line per finished target (always: it is the log of the run)."""

    def __init__(self, total: int, live: bool, stream: TextIO | None = None) -> None:
        self.total = total
        self.live = live
        self.stream = stream or sys.stderr
        self.done = 0
        self.failed = 0
        self.active: dict[str, tuple[str, float, float]] = {}
        self.lock = threading.Lock()

    def update(self, name: str, phase: str, current: float, total: float) -> None:
        with self.lock:
            if phase in ("done", "failed", "unchanged"):
                self.active.pop(name, None)
            else:
                self.active[name] = (phase, current, total)
            self._draw()

    def finished(self, outcome: Outcome) -> None:
        with self.lock:
            self.done += 1
            self.failed += outcome.status == "failed"
            self.active.pop(outcome.name, None)
            if outcome.status == "failed":
                what = f"could not be audited: {outcome.error}"
            else:
                what = f"{outcome.keys} key(s)" + (
                    " (unchanged since the last run)" if outcome.status == "unchanged" else ""
                )
                if outcome.unreadable:
                    what += (
                        f"; INCOMPLETE: {outcome.unreadable} object(s) could not be read or scanned"
                    )
                if outcome.note:
                    what += f"; {outcome.note}"
            self._clear()
            line = f"kimi-secret-scan audit: [{self.done}/{self.total}] {outcome.name}: {what}"
            self.stream.write(redact_text(printable(line)) + "\n")
            self._draw()

    def _clear(self) -> None:
        if self.live:
            self.stream.write("\r\x1b[K")

    def _draw(self) -> None:
        if not self.live:
            return
        parts = []
        for name, (phase, current, total) in sorted(self.active.items()):
            amount = f" {current / total:.0%}" if total else (f" {current:,.0f}" if current else "")
            parts.append(f"{name}: {phase}{amount}")
        head = f"audit {self.done}/{self.total}" + (
            f", {self.failed} failed" if self.failed else ""
        )
        width = shutil.get_terminal_size((100, 20)).columns - 1
        line = " | ".join([head, *parts])
        self.stream.write("\r" + redact_text(printable(line))[:width] + "\x1b[K")
        self.stream.flush()

    def close(self) -> None:
        with self.lock:
            self._clear()
            self.stream.flush()


def wants_live(stream: TextIO | None = None) -> bool:
    """Progress on a terminal, never in CI (where stderr is a log)."""
    return not os.environ.get("CI") and Progress.wanted(stream)


def output_path(outdir: Path, target: Target) -> Path:
    return outdir / f"{target.slug}.json"


def run(jobs: list[Job], workers: int, display: Display) -> list[Outcome]:
    """Audit every job in `workers` processes; outcomes in completion order."""
    ctx = multiprocessing.get_context("spawn")  # no fork of a parent holding threads
    queue = ctx.Queue()

    def pump() -> None:
        while True:
            message = queue.get()
            if message is None:
                return
            display.update(*message)

    reader = threads.start(pump)
    outcomes: list[Outcome] = []
    with tempfile.TemporaryDirectory(prefix="kimi-secret-scan-audit-") as temp_dir:
        _run_pool(ctx, queue, jobs, workers, display, outcomes, temp_dir, reader)
    return outcomes


def _run_pool(
    ctx: Any,
    queue: Any,
    jobs: list[Job],
    workers: int,
    display: Display,
    outcomes: list[Outcome],
    temp_dir: str,
    reader: threading.Thread,
) -> None:
    blocking = hasattr(signal, "pthread_sigmask")
    if blocking:  # the workers start with SIGINT blocked (see _init)
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        pool = ctx.Pool(max(1, min(workers, len(jobs) or 1)), _init, (queue, temp_dir), 1)
    except BaseException:
        if blocking:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
        raise
    try:
        if blocking:  # a Ctrl-C that came meanwhile is raised here, where the pool is stopped
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
        for outcome in pool.imap_unordered(work, jobs):
            outcomes.append(outcome)
            display.finished(outcome)
        # close + join, not terminate (what `with Pool` does): a worker killed while its
        # queue feeder holds the queue's shared lock would leave every later put waiting.
        pool.close()
        pool.join()
    except BaseException:
        pool.terminate()
        raise
    finally:
        queue.put(None)
        reader.join(timeout=5)
        queue.close()
        queue.cancel_join_thread()  # never wait at exit for a message nobody will read
        display.close()


def outcome_dict(outcome: Outcome) -> dict[str, Any]:
    return asdict(outcome)
