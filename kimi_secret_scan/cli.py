"""The command line: a click group, the options every scan shares, and exit codes.

Exit codes: 0 nothing found, 1 findings, 2 the scan could not be done.
"""

from __future__ import annotations

import functools
import importlib
import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

import click

from kimi_secret_scan import __version__, inert, record, repo_paths, suppressions
from kimi_secret_scan.config import DEFAULT_MAX_FILE_SIZE, Config, discovered_file
from kimi_secret_scan.content import Content, Skipped
from kimi_secret_scan.errors import ExitCode, ScanError
from kimi_secret_scan.filters import DEFAULT_FILTERS, Filter
from kimi_secret_scan.finding import Confidence
from kimi_secret_scan.formats import FORMAT_NAMES, ReportTarget, parse_target, stdout_conflict
from kimi_secret_scan.redaction import hidden_in, redact_text
from kimi_secret_scan.reports import FORMATS
from kimi_secret_scan.reports.text import shown_path, summary
from kimi_secret_scan.result import ScanResult
from kimi_secret_scan.scan import scan
from kimi_secret_scan.settings import DEFAULT_SETTINGS, DetectorSettings

F = TypeVar("F", bound=Callable[..., Any])

# A command's own renderer for a format, given the format and whether to colour; None for
# the common ScanResult renderers (history renders its text and JSON from its groups).
OwnRenderer = Callable[[str, bool], "str | None"]


def color_wanted() -> bool:
    """Colour on standard output: never under NO_COLOR (no-color.org), always under
    FORCE_COLOR (force-color.org; "0" and empty mean unset), else only on a terminal."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR", "0") not in ("", "0"):
        return True
    return sys.stdout.isatty()


def write_output(path: str, text: str, *, whole_keys: bool) -> None:
    """Write a report file: the one writer behind --output and --report FORMAT:PATH.
    `whole_keys`: the text may hold keys whole (--show-secrets), for a writer that then
    makes the file private."""
    from kimi_secret_scan import outfile

    outfile.write(path, text, whole_keys=whole_keys)


@record.mutable
@dataclass(init=False, repr=False, eq=False)
class ResultSink:
    """Set as the click context object by `baseline create|update|audit`: the scanning
    command it runs hands its results here instead of reporting them."""

    config: Config
    results: list[ScanResult] = field(default_factory=list)

    def __init__(self, config: Config, results: list[ScanResult] | None = None) -> None:
        self.config = config
        self.results = [] if results is None else results


@record.mutable
@dataclass(init=False, repr=False, eq=False)
class ScanOptions:
    """What every scanning command shares: how to filter, render and where to write.

    Commands get one as `opts`, build their source's items, and call
    `opts.report(opts.scan(mode, scope, items))`. The project configuration and baseline
    are already in `filters`, `settings`, `min_confidence` and `output_format`.
    """

    output_format: str = "text"
    output_file: str | None = None
    show_secrets: bool = False
    filters: list[Filter] = field(default_factory=lambda: list(DEFAULT_FILTERS))
    settings: DetectorSettings = DEFAULT_SETTINGS
    # Findings below this confidence are reported but do not fail the run.
    min_confidence: Confidence = Confidence.LOW
    config: Config | None = None
    sink: ResultSink | None = None
    # What the command line said, for the gates (gate.py): a file named with --config, and
    # a --max-file-size given (None: not given). The project configuration is the change's
    # own in a gate, so these decide what a gate trusts.
    config_given: bool = False
    max_file_size_option: int | None = None
    # --min-confidence given on the command line (else a gate takes the base side's).
    min_confidence_given: bool = False
    # Gates: fail (exit 1) on a finding hidden by a suppression the scanned change added.
    fail_new_suppressions: bool = False
    # --verify: ask the issuing service about each distinct key before reporting.
    verify: bool = False
    # --report FORMAT[:PATH], each one more report of the same result.
    reports: list[ReportTarget] = field(default_factory=list)
    # --format or --output given on the command line: that report is written beside --report.
    main_report_asked: bool = False
    verbose: bool = False
    quiet: bool = False
    # --allow-missing-lfs (the commands that read commits): an LFS object not in this clone
    # is said, not a failure (sources/lfs.py).
    allow_missing_lfs: bool = False

    def __init__(
        self,
        output_format: str = "text",
        output_file: str | None = None,
        show_secrets: bool = False,
        filters: list[Filter] | None = None,
        settings: DetectorSettings = DEFAULT_SETTINGS,
        min_confidence: Confidence = Confidence.LOW,
        config: Config | None = None,
        sink: ResultSink | None = None,
        config_given: bool = False,
        max_file_size_option: int | None = None,
        min_confidence_given: bool = False,
        fail_new_suppressions: bool = False,
        verify: bool = False,
        reports: list[ReportTarget] | None = None,
        main_report_asked: bool = False,
        verbose: bool = False,
        quiet: bool = False,
        allow_missing_lfs: bool = False,
    ) -> None:
        self.output_format = output_format
        self.output_file = output_file
        self.show_secrets = show_secrets
        self.filters = list(DEFAULT_FILTERS) if filters is None else filters
        self.settings = settings
        self.min_confidence = min_confidence
        self.config = config
        self.sink = sink
        self.config_given = config_given
        self.max_file_size_option = max_file_size_option
        self.min_confidence_given = min_confidence_given
        self.fail_new_suppressions = fail_new_suppressions
        self.verify = verify
        self.reports = [] if reports is None else reports
        self.main_report_asked = main_report_asked
        self.verbose = verbose
        self.quiet = quiet
        self.allow_missing_lfs = allow_missing_lfs

    def scan(
        self,
        mode: str,
        scope: str,
        items: Iterable[Content | Skipped],
        unread_containers: Callable[[str], bool] | None = None,
    ) -> ScanResult:
        return scan(
            mode,
            scope,
            items,
            self.filters,
            self.settings,
            unread_containers=unread_containers,
            trusted="the project's configuration",
            min_confidence=self.min_confidence,
        )

    def targets(self) -> list[ReportTarget]:
        """The reports of this run: --format/--output is one, each --report another; with
        neither, text on standard output."""
        if self.reports and not self.main_report_asked:
            return list(self.reports)
        return [ReportTarget(self.output_format, self.output_file), *self.reports]

    def report(
        self,
        result: ScanResult,
        own: OwnRenderer | None = None,
        tail: str | None = None,
        printed: Iterable[str] = (),
    ) -> int:
        """Render every report of the run from this one result, write each, and turn the
        result into the exit code. `tail` is the summary line said on stderr when no report
        reached the terminal (default: the text summary); `printed`: other repository text
        `own` renders (ref names), for the net."""
        if self.sink is not None:
            self.sink.results.append(result)
            return ExitCode.CLEAN
        self.verify_keys(result)
        targets = self.targets()
        # The net under every format: the scan's keys, and those the detectors find in the
        # names and texts the reports print, in every spelling and escape (redaction.py).
        net = None if self.show_secrets else hidden_in(result, printed)
        readable_on_stdout = False
        text_on_stdout = any(t.path is None and t.format == "text" for t in targets)
        for target in targets:
            color = target.to_stdout and target.format == "text" and color_wanted()
            if self.quiet and target.format == "text":
                text: str | None = quiet_text(result, self.show_secrets, color)
            else:
                text = own(target.format, color) if own is not None else None
            if text is None:
                text = FORMATS[target.format](result, self.show_secrets, color)
            text = valid_utf8(text)
            if target.format == "github" and target.path is None and text_on_stdout:
                # The text report on the same stream ends with the same summary line.
                head, _, last = text.rstrip("\n").rpartition("\n")
                if last == summary(result):
                    text = head + "\n" if head else ""
            if net is not None:
                text = redact_text(text, net)  # a path can be named after a key
            if target.path is not None:
                write_output(target.path, text, whole_keys=self.show_secrets)
            else:
                readable_on_stdout = readable_on_stdout or target.format in ("text", "github")
                click.echo(text, nl=False, color=color)
        if self.verbose:
            self.list_allowed(result)
        if not readable_on_stdout and not self.quiet and any(t.path for t in targets):
            click.echo(redact_text(tail if tail is not None else summary(result)), err=True)
        failing = [f for f in result.findings if f.confidence >= self.min_confidence]
        below = len(result.findings) - len(failing)
        if below and not self.quiet:
            click.echo(
                f"kimi-secret-scan: {below} of {len(result.findings)} findings "
                f"below the minimum confidence ({self.min_confidence}): reported, not failing",
                err=True,
            )
        hidden = len(result.new_suppressions)
        if hidden:
            verdict = "failing" if self.fail_new_suppressions else "reported, not failing"
            click.echo(
                f"kimi-secret-scan: {hidden} finding{'' if hidden == 1 else 's'} hidden by "
                f"suppressions this change added: {verdict}",
                err=True,
            )
        new_fail = bool(hidden) and self.fail_new_suppressions
        return outcome(bool(failing) or new_fail, result.stats.skipped)

    def verify_keys(self, result: ScanResult) -> None:
        """--verify: attach each key's verdict to its findings and say the counts in one
        line on stderr. Verdicts never change the exit code. The client (ssl, http.client)
        is imported only here, so a hook run without --verify never loads it."""
        if not self.verify or self.sink is not None or not result.findings:
            return
        if all(f.verification is not None for f in result.findings):
            return  # already verified (history reports some formats through report())
        from kimi_secret_scan import verify

        verdicts = verify.verify_findings(result.findings)
        found = []
        for f in result.findings:
            verdict = verdicts.get(f.secret_sha256)
            kind = verify.confirmed_kind(f.key_kind, verdict)
            found.append(replace(f, verification=verdict, key_kind=kind))
        result.findings = found
        click.echo(redact_text(verify.notice(verdicts)), err=True)

    def list_allowed(self, result: ScanResult) -> None:
        """--verbose: each finding a suppression allowed, redacted, and what allowed it."""
        for allowed in result.stats.allowed:
            f = allowed.finding
            where = f"{f.commit.sha[:12]}:" if f.commit else ""
            line = (
                f"kimi-secret-scan: allowed {where}{shown_path(f.path)}:{f.line}:{f.column} "
                f"{f.shown_secret(False)} ({f.rule.id}) by {allowed.by}"
            )
            click.echo(redact_text(valid_utf8(line)), err=True)


def quiet_text(result: ScanResult, show_secrets: bool, color: bool) -> str:
    """--quiet text: each finding's block, without the plan, the skips and the summary."""
    from kimi_secret_scan.reports.text import finding_lines

    lines: list[str] = []
    for f in result.findings:
        lines.extend(finding_lines(f, show_secrets, color))
    return "".join(line + "\n" for line in lines)


def valid_utf8(text: str) -> str:
    """A report as valid UTF-8: a file name that is not UTF-8 (Linux allows any bytes)
    reaches us with its bytes as surrogates, which no encoder accepts; they become U+FFFD,
    as git shows them, in every format, on stdout and in --output files alike."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return text


def outcome(failing: bool, skipped: Iterable[Skipped]) -> int:
    """The exit code: 1 with findings; else 2 when something could not be read or scanned
    (said in one line), since content that was not read may hold a key; else 0. With
    findings and something unread, the exit is 1 and the line still says incomplete."""
    unread = [s for s in skipped if s.unreadable]
    if unread:
        first = unread[0]
        more = f" and {len(unread) - 1} more" if len(unread) > 1 else ""
        tail = "" if failing else "; not reporting clean"
        line = (
            f"kimi-secret-scan: {'warning' if failing else 'error'}: the scan is incomplete: "
            f"{inert.path(first.path)}{more} could not be read or scanned "
            f"({inert.text(first.reason)}){tail}"
        )
        click.echo(redact_text(line), err=True)  # the path may be named after a key
    if failing:
        return ExitCode.FINDINGS
    return ExitCode.ERROR if unread else ExitCode.CLEAN


def configure(
    output_format: str | None = None,
    output_file: str | None = None,
    show_secrets: bool = False,
    config_file: str | None = None,
    use_config: bool = True,
    baseline_file: str | None = None,
    use_baseline: bool = True,
    min_confidence: str | None = None,
    sink: ResultSink | None = None,
    reports: tuple[str, ...] = (),
    verbose: bool = False,
    quiet: bool = False,
) -> ScanOptions:
    """ScanOptions from the command line and the project configuration (the command line
    wins). Under a ResultSink the sink's configuration is used and no baseline applies."""
    # `--output -` is standard output, as `--report FORMAT:-` is (click's convention): not a
    # file named `-` in the current directory, often the work tree being scanned.
    main_report_asked = output_format is not None or output_file is not None
    output_file = None if output_file == "-" else output_file
    if show_secrets:
        _whole_keys_outside_work_trees(output_format, output_file, reports)
    config = sink.config if sink else suppressions.load_config(config_file, use_config)
    use_baseline = use_baseline and sink is None
    baseline = suppressions.baseline_filter(config, baseline_file) if use_baseline else None
    opts = ScanOptions(
        output_format=output_format or config.format or "text",
        output_file=output_file,
        show_secrets=show_secrets,
        filters=suppressions.filters_for(config, baseline),
        settings=config.settings,
        min_confidence=(
            Confidence.parse(min_confidence) if min_confidence else config.min_confidence
        ),
        min_confidence_given=min_confidence is not None,
        config=config,
        sink=sink,
        reports=report_targets(reports, output_file),
        main_report_asked=main_report_asked,
        verbose=verbose,
        quiet=quiet,
    )
    conflict = stdout_conflict(opts.targets())
    if conflict:
        raise click.UsageError(conflict)
    return opts


def _whole_keys_outside_work_trees(
    output_format: str | None, output_file: str | None, reports: tuple[str, ...]
) -> None:
    """--show-secrets: a report file holding keys whole is refused inside a git work tree
    (the scanned one, or any other), where it is one `git add -A` from being committed, as
    the replacements file is. Checked before the scan. SARIF never holds a key whole."""
    paths: list[tuple[str | None, str | None]] = [(output_format, output_file)]
    for value in reports:
        kind, _, given = value.partition(":")
        paths.append((kind, None if given in ("", "-") else given))
    from kimi_secret_scan import outfile

    for name, path in paths:
        if path is None or name == "sarif":
            continue
        around = outfile.work_tree_around(os.path.dirname(os.path.abspath(path)))
        if around is not None:
            raise ScanError(
                f"refusing to write {path} with --show-secrets inside the git work tree "
                f"{around}: it would hold the keys whole, one `git add -A` from being "
                "committed; write it outside every work tree, or leave out --show-secrets"
            )


def report_targets(values: tuple[str, ...], output_file: str | None) -> list[ReportTarget]:
    """--report values, checked: known formats, one path per file, one document on stdout."""
    try:
        targets = [parse_target(value) for value in values]
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="'--report'") from None
    paths = [t.path for t in targets if t.path] + ([output_file] if output_file else [])
    for path in paths:
        if paths.count(path) > 1:
            raise click.BadParameter(f"two reports would write {path}", param_hint="'--report'")
    return targets


def scan_options(
    command: Callable[..., Any], *, unparsed_config: bool = False
) -> Callable[..., Any]:
    """Add the shared options; the command receives them as one `opts: ScanOptions`.

    `unparsed_config` (history): a configuration found at the root that cannot be read
    does not stop the command here; it runs with the defaults and receives
    `unparsed_config=(path, error)` (else None), and decides: a repository's own file does
    not apply to an audit of it, so it is not parsed for it either."""

    @functools.wraps(command)
    def wrapper(
        *args: Any,
        output_format: str | None,
        output_file: str | None,
        show_secrets: bool,
        config_file: str | None,
        no_config: bool,
        baseline_file: str | None,
        no_baseline: bool,
        min_confidence: str | None,
        verify: bool,
        reports: tuple[str, ...],
        verbose: bool,
        quiet: bool,
        **kwargs: Any,
    ) -> Any:
        if verbose and quiet:
            raise click.UsageError("--verbose and --quiet exclude each other")
        if config_file and no_config:
            raise click.UsageError("--config and --no-config exclude each other")
        if baseline_file and no_baseline:
            raise click.UsageError("--baseline and --no-baseline exclude each other")
        context = click.get_current_context(silent=True)
        sink = context.find_object(ResultSink) if context else None
        unparsed: tuple[Path, ScanError] | None = None
        configured = functools.partial(
            configure,
            output_format,
            output_file,
            show_secrets,
            baseline_file=baseline_file,
            use_baseline=not no_baseline,
            min_confidence=min_confidence,
            sink=sink,
            reports=reports,
            verbose=verbose,
            quiet=quiet,
        )
        try:
            try:
                opts = configured(config_file, not no_config)
            except ScanError as exc:
                found = None
                if unparsed_config and config_file is None and not no_config and sink is None:
                    found = discovered_file(repo_paths.find_root())
                if found is None:
                    raise
                opts = configured(None, False)  # the file left out unread: said by the command
                unparsed = (found, exc)
            if verify:
                from kimi_secret_scan import verify as verifier

                verifier.transport()  # a misused test address is refused before scanning
                opts.verify = True
        except ScanError as exc:
            # It may also quote a path or git's words about the repository: made inert.
            message = inert.unstyled(redact_text(str(exc)))
            click.echo(f"kimi-secret-scan: error: {message}", err=True)
            sys.exit(ExitCode.ERROR)
        opts.config_given = config_file is not None
        if unparsed_config:
            kwargs["unparsed_config"] = unparsed
        opts.allow_missing_lfs = bool(kwargs.pop("allow_missing_lfs", False))
        opts.max_file_size_option = kwargs.get("max_file_size")
        if "max_file_size" in kwargs and kwargs["max_file_size"] is None:
            config = opts.config
            kwargs["max_file_size"] = config.max_file_size if config else DEFAULT_MAX_FILE_SIZE
        return command(*args, opts=opts, **kwargs)

    options = [
        click.option(
            "--format",
            "output_format",
            type=click.Choice(sorted(FORMAT_NAMES)),
            default=None,
            help="Output format (default: the configured one, else text).",
        ),
        click.option(
            "--output",
            "output_file",
            type=click.Path(dir_okay=False, writable=True),
            help="Write the report to this file instead of standard output (`-`: standard output).",
        ),
        click.option(
            "--report",
            "reports",
            multiple=True,
            metavar="FORMAT[:PATH]",
            help="One more report of the same scan, to PATH or standard output; repeatable "
            f"({', '.join(FORMAT_NAMES)}). With --report, the default text report is "
            "printed only when asked for (--report text, or --format/--output).",
        ),
        click.option(
            "--verbose",
            "-v",
            is_flag=True,
            help="Also list, on stderr, each finding that a baseline, comment or the "
            "configuration allowed (redacted), and what allowed it.",
        ),
        click.option(
            "--quiet",
            "-q",
            is_flag=True,
            help="Print only the findings: no plan, summary or notes (errors still print).",
        ),
        click.option(
            "--show-secrets",
            is_flag=True,
            help="Print keys whole. Without it every output holds keys redacted.",
        ),
        click.option(
            "--config",
            "config_file",
            type=click.Path(dir_okay=False),
            help="Read the configuration from this file instead of .kimi-secret-scan.toml "
            "or pyproject.toml at the repository root.",
        ),
        click.option("--no-config", is_flag=True, help="Ignore the project configuration."),
        click.option(
            "--baseline",
            "baseline_file",
            type=click.Path(dir_okay=False),
            help="Do not report the keys this baseline lists (default: the configured "
            "baseline, else .kimi-secret-scan-baseline.toml at the root when present).",
        ),
        click.option("--no-baseline", is_flag=True, help="Report baselined keys too."),
        click.option(
            "--min-confidence",
            type=click.Choice(["low", "medium", "high"]),
            default=None,
            help="Findings below this confidence are reported but do not fail the run "
            "(default: the configured one, else low).",
        ),
        click.option(
            "--verify",
            is_flag=True,
            help="Ask the service that issued each key found whether it still works: one "
            "HTTPS request per distinct key, key in the Authorization header, only to "
            "api.moonshot.cn / api.moonshot.ai or api.kimi.com (10 s at most). Never "
            "changes the exit code. See docs/verify.md.",
        ),
    ]
    decorated: Callable[..., Any] = wrapper
    for option in reversed(options):
        decorated = option(decorated)
    return decorated


# The commands that read commits or the index (staged, range, ci, pre-push, pre-receive,
# history): see sources/lfs.py. Taken by scan_options into `opts.allow_missing_lfs`.
lfs_option = click.option(
    "--allow-missing-lfs",
    is_flag=True,
    help="Accept that a Git LFS object not in this clone is not scanned: listed as skipped, "
    "exit 0 when the rest is clean (default: exit 2, since the content may hold a key). "
    "See docs/odd-repositories.md.",
)


# The gates' own (range, ci, pre-push, pre-receive): see gate.py.
new_suppressions_option = click.option(
    "--no-new-suppressions",
    "no_new_suppressions",
    is_flag=True,
    help="Fail (exit 1) when a finding is hidden by a suppression the scanned change "
    "itself added: configuration, baseline entry or inline allow comment (default: "
    '`new-suppressions` in the base side\'s configuration, else "report": listed, not failing).',
)


# Every scanning command has it; unset, the configured `max-file-size` applies (scan_options).
max_size_option = click.option(
    "--max-file-size",
    type=click.IntRange(min=0),
    default=None,
    metavar="BYTES",
    help="Skip files and blobs larger than this, listing each as skipped (default: "
    "`max-file-size` in the configuration, else 104857600, i.e. 100 MiB).",
)


class Terminated(KeyboardInterrupt):
    """SIGTERM (`timeout`, a cancelled CI job, `kill`), raised where the scan is, so that it
    stops as Ctrl-C stops it: history's worker processes killed (not left running, holding
    the job's output pipes), temporary files that hold keys removed."""


def _terminated(signum: int, frame: Any) -> None:
    raise Terminated


def _stop_on_sigterm() -> None:
    import signal

    try:
        if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
            signal.signal(signal.SIGTERM, _terminated)
    except ValueError:  # not the main thread (the CLI called from a test's thread)
        pass


def handle_errors(command: F) -> F:
    """ScanError → one line on stderr and exit 2. No traceback, and no key in the message."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            code = command(*args, **kwargs)
        except ScanError as exc:
            # The message may quote what the user typed (a revision, a path): a key too.
            # It may also quote a path or git's words about the repository: made inert.
            message = inert.unstyled(redact_text(str(exc)))
            click.echo(f"kimi-secret-scan: error: {message}", err=True)
            sys.exit(ExitCode.ERROR)
        except Terminated:
            click.echo("kimi-secret-scan: terminated", err=True)
            sys.exit(143)
        except KeyboardInterrupt:
            click.echo("kimi-secret-scan: interrupted", err=True)
            sys.exit(130)
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except Exception as exc:
            # The message of an unexpected error may hold content we read: print its type only.
            if os.environ.get("KIMI_SECRET_SCAN_DEBUG"):
                raise
            click.echo(
                f"kimi-secret-scan: internal error ({type(exc).__name__}); nothing was "
                "reported as clean. Set KIMI_SECRET_SCAN_DEBUG=1 for the traceback.",
                err=True,
            )
            sys.exit(ExitCode.ERROR)
        sys.exit(code)

    return wrapper  # type: ignore[return-value]


# Command name → module under kimi_secret_scan.commands. Commands are imported only when
# run: the pre-commit hook pays for its own imports, not for the history or CI machinery.
_COMMANDS = {
    "staged": "staged",
    "files": "files",
    "commit-msg": "commit_msg",
    "history": "history",
    "range": "range",
    "ci": "ci",
    "pre-push": "pre_push",
    "pre-receive": "pre_receive",
    "baseline": "baseline",
    "audit": "audit",
    "merge": "merge",
}


def option_like_files(argv: Iterable[str]) -> list[str]:
    """The arguments before `--` that look like options and name a file here.

    click reads `--help`, `-q` or `--config=x.toml` as options wherever they stand, so a
    file of that name handed over as a path (pre-commit appends the staged names after
    its arguments, a shell glob expands `*` to them) would change what the command does
    (`--help` exits 0 having scanned nothing). Such a word is refused rather than guessed."""
    found = []
    for arg in argv:
        if arg == "--":
            break
        if len(arg) > 1 and arg.startswith("-") and os.path.lexists(arg):
            found.append(arg)
    return found


class _LazyGroup(click.Group):
    def main(self, *args: Any, **kwargs: Any) -> Any:
        """Click's own usage errors quote what was typed: redact keys in them too."""
        _stop_on_sigterm()
        argv = kwargs.get("args", args[0] if args else None)
        clash = option_like_files(sys.argv[1:] if argv is None else argv)
        if clash:
            name = redact_text(shown_path(clash[0]))
            click.echo(
                f"kimi-secret-scan: `{name}` is an option and also a file here: as a path it "
                f"would be read as that option, so nothing was scanned. Write the file as "
                f"`./{name}`, or put `--` before the file names (the pre-commit hook "
                "passes them after `--`; a hook `args:` of your own must end with `--`).",
                err=True,
            )
            sys.exit(ExitCode.ERROR)
        if kwargs.get("standalone_mode", True) is False:
            return super().main(*args, **kwargs)
        kwargs["standalone_mode"] = False
        try:
            code = super().main(*args, **kwargs)
        except click.ClickException as exc:
            # `message` is declared Final in click's stubs; it is a plain attribute.
            setattr(exc, "message", redact_text(exc.message))  # noqa: B010
            exc.show()
            sys.exit(exc.exit_code)
        except click.exceptions.Abort as exc:
            # Ctrl-C or SIGTERM outside a command's handle_errors (while the shared options
            # load the configuration, which runs git): click turns it into Abort, which
            # exited 1, the code for "keys found". It is the same interruption.
            if isinstance(exc.__cause__, Terminated):
                click.echo("kimi-secret-scan: terminated", err=True)
                sys.exit(143)
            if isinstance(exc.__cause__, KeyboardInterrupt):
                click.echo("kimi-secret-scan: interrupted", err=True)
                sys.exit(130)
            click.echo("Aborted!", err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*_COMMANDS, *(n for n in super().list_commands(ctx) if n not in _COMMANDS)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in _COMMANDS:
            module = importlib.import_module(f"kimi_secret_scan.commands.{_COMMANDS[cmd_name]}")
            self.add_command(module.command, cmd_name)
        return super().get_command(ctx, cmd_name)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kimi-secret-scan")
def main() -> None:
    """Find Kimi / Moonshot AI API keys before they are committed, in CI, and in history.

    Exit codes: 0 nothing found, 1 keys found, 2 the scan could not be done.
    """


def all_commands() -> dict[str, click.Command]:
    """Every command, loaded."""
    with click.Context(main) as ctx:
        found = {name: main.get_command(ctx, name) for name in main.list_commands(ctx)}
    return {name: cmd for name, cmd in found.items() if cmd is not None}
