"""The command line: a click group, the options every scan shares, and exit codes.

Exit codes: 0 nothing found, 1 findings, 2 the scan could not be done.
"""

from __future__ import annotations

import functools
import importlib
import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import click

from kimi_secret_scan import __version__, inert, suppressions
from kimi_secret_scan.config import DEFAULT_MAX_FILE_SIZE, Config
from kimi_secret_scan.content import Content, Skipped
from kimi_secret_scan.errors import ExitCode, ScanError
from kimi_secret_scan.filters import DEFAULT_FILTERS, Filter
from kimi_secret_scan.finding import Confidence
from kimi_secret_scan.redaction import redact_text
from kimi_secret_scan.reports import FORMATS
from kimi_secret_scan.reports.text import summary
from kimi_secret_scan.scan import ScanResult, scan
from kimi_secret_scan.settings import DEFAULT_SETTINGS, DetectorSettings

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class ResultSink:
    """Set as the click context object by `baseline create|update|audit`: the scanning
    command it runs hands its results here instead of reporting them."""

    config: Config
    results: list[ScanResult] = field(default_factory=list)


@dataclass
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

    def scan(self, mode: str, scope: str, items: Iterable[Content | Skipped]) -> ScanResult:
        return scan(mode, scope, items, self.filters, self.settings)

    def report(self, result: ScanResult) -> int:
        """Render, write, and turn the result into the exit code."""
        if self.sink is not None:
            self.sink.results.append(result)
            return ExitCode.CLEAN
        use_color = (
            self.output_file is None
            and self.output_format == "text"
            and sys.stdout.isatty()
            and not os.environ.get("NO_COLOR")
        )
        text = valid_utf8(FORMATS[self.output_format](result, self.show_secrets, use_color))
        if not self.show_secrets:
            text = redact_text(text)  # a path can be named after a key
        if self.output_file:
            from kimi_secret_scan import outfile

            outfile.write(self.output_file, text, whole_keys=self.show_secrets)
            click.echo(redact_text(summary(result)), err=True)
        else:
            click.echo(text, nl=False, color=use_color)
        failing = [f for f in result.findings if f.confidence >= self.min_confidence]
        below = len(result.findings) - len(failing)
        if below:
            click.echo(
                f"kimi-secret-scan: {below} of {len(result.findings)} findings "
                f"below the minimum confidence ({self.min_confidence}): reported, not failing",
                err=True,
            )
        return outcome(bool(failing), result.stats.skipped)


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
    """The exit code: 1 with findings; else 2 when something could not be read (said in
    one line), since content that was not read may hold a key; else 0."""
    if failing:
        return ExitCode.FINDINGS
    unread = [s for s in skipped if s.unreadable]
    if not unread:
        return ExitCode.CLEAN
    first = unread[0]
    more = f" and {len(unread) - 1} more" if len(unread) > 1 else ""
    click.echo(
        f"kimi-secret-scan: error: the scan is incomplete: {inert.path(first.path)}{more} "
        f"could not be read ({inert.text(first.reason)}); not reporting clean",
        err=True,
    )
    return ExitCode.ERROR


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
) -> ScanOptions:
    """ScanOptions from the command line and the project configuration (the command line
    wins). Under a ResultSink the sink's configuration is used and no baseline applies."""
    config = sink.config if sink else suppressions.load_config(config_file, use_config)
    use_baseline = use_baseline and sink is None
    baseline = suppressions.baseline_filter(config, baseline_file) if use_baseline else None
    return ScanOptions(
        output_format=output_format or config.format or "text",
        output_file=output_file,
        show_secrets=show_secrets,
        filters=suppressions.filters_for(config, baseline),
        settings=config.settings,
        min_confidence=(
            Confidence.parse(min_confidence) if min_confidence else config.min_confidence
        ),
        config=config,
        sink=sink,
    )


def scan_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add the shared options; the command receives them as one `opts: ScanOptions`."""

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
        **kwargs: Any,
    ) -> Any:
        if config_file and no_config:
            raise click.UsageError("--config and --no-config exclude each other")
        if baseline_file and no_baseline:
            raise click.UsageError("--baseline and --no-baseline exclude each other")
        context = click.get_current_context(silent=True)
        sink = context.find_object(ResultSink) if context else None
        try:
            opts = configure(
                output_format,
                output_file,
                show_secrets,
                config_file,
                not no_config,
                baseline_file,
                not no_baseline,
                min_confidence,
                sink,
            )
        except ScanError as exc:
            # It may also quote a path or git's words about the repository: made inert.
            message = inert.unstyled(redact_text(str(exc)))
            click.echo(f"kimi-secret-scan: error: {message}", err=True)
            sys.exit(ExitCode.ERROR)
        if "max_file_size" in kwargs and kwargs["max_file_size"] is None:
            config = opts.config
            kwargs["max_file_size"] = config.max_file_size if config else DEFAULT_MAX_FILE_SIZE
        return command(*args, opts=opts, **kwargs)

    options = [
        click.option(
            "--format",
            "output_format",
            type=click.Choice(sorted(FORMATS)),
            default=None,
            help="Output format (default: the configured one, else text).",
        ),
        click.option(
            "--output",
            "output_file",
            type=click.Path(dir_okay=False, writable=True),
            help="Write the report to this file instead of standard output.",
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
    ]
    decorated: Callable[..., Any] = wrapper
    for option in reversed(options):
        decorated = option(decorated)
    return decorated


# Every scanning command has it; unset, the configured `max-file-size` applies (scan_options).
max_size_option = click.option(
    "--max-file-size",
    type=click.IntRange(min=0),
    default=None,
    metavar="BYTES",
    help="Skip files and blobs larger than this, listing each as skipped (default: "
    "`max-file-size` in the configuration, else 104857600, i.e. 100 MiB).",
)


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
}


class _LazyGroup(click.Group):
    def main(self, *args: Any, **kwargs: Any) -> Any:
        """Click's own usage errors quote what was typed: redact keys in them too."""
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
        except click.exceptions.Abort:
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
