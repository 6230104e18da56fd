"""The command line: a click group, the options every scan shares, and exit codes.

Exit codes: 0 nothing found, 1 findings, 2 the scan could not be done.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import click

from kimi_secret_scan import __version__
from kimi_secret_scan.content import Content, Skipped
from kimi_secret_scan.errors import ExitCode, ScanError
from kimi_secret_scan.filters import DEFAULT_FILTERS, Filter
from kimi_secret_scan.reports import FORMATS
from kimi_secret_scan.reports.text import summary
from kimi_secret_scan.scan import ScanResult, scan
from kimi_secret_scan.settings import DEFAULT_SETTINGS, DetectorSettings

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class ScanOptions:
    """What every scanning command shares: how to filter, render and where to write.

    Commands get one as `opts`, build their source's items, and call
    `opts.report(opts.scan(mode, scope, items))`.
    """

    output_format: str = "text"
    output_file: str | None = None
    show_secrets: bool = False
    filters: list[Filter] = field(default_factory=lambda: list(DEFAULT_FILTERS))
    settings: DetectorSettings = DEFAULT_SETTINGS

    def scan(self, mode: str, scope: str, items: Iterable[Content | Skipped]) -> ScanResult:
        return scan(mode, scope, items, self.filters, self.settings)

    def report(self, result: ScanResult) -> int:
        """Render, write, and turn the result into the exit code."""
        use_color = (
            self.output_file is None
            and self.output_format == "text"
            and sys.stdout.isatty()
            and not os.environ.get("NO_COLOR")
        )
        text = FORMATS[self.output_format](result, self.show_secrets, use_color)
        if self.output_file:
            try:
                Path(self.output_file).write_text(text, encoding="utf-8")
            except OSError as exc:
                raise ScanError(f"cannot write {self.output_file}: {exc.strerror}") from None
            click.echo(summary(result), err=True)
        else:
            click.echo(text, nl=False, color=use_color)
        return ExitCode.FINDINGS if result.findings else ExitCode.CLEAN


def scan_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add the shared options; the command receives them as one `opts: ScanOptions`."""

    @functools.wraps(command)
    def wrapper(
        *args: Any, output_format: str, output_file: str | None, show_secrets: bool, **kwargs: Any
    ) -> Any:
        opts = ScanOptions(output_format, output_file, show_secrets)
        return command(*args, opts=opts, **kwargs)

    options = [
        click.option(
            "--format",
            "output_format",
            type=click.Choice(sorted(FORMATS)),
            default="text",
            show_default=True,
            help="Output format.",
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
    ]
    decorated: Callable[..., Any] = wrapper
    for option in reversed(options):
        decorated = option(decorated)
    return decorated


def handle_errors(command: F) -> F:
    """ScanError → one line on stderr and exit 2. No traceback, and no key in the message."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            code = command(*args, **kwargs)
        except ScanError as exc:
            click.echo(f"kimi-secret-scan: error: {exc}", err=True)
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


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kimi-secret-scan")
def main() -> None:
    """Find Kimi / Moonshot AI API keys before they are committed, in CI, and in history.

    Exit codes: 0 nothing found, 1 keys found, 2 the scan could not be done.
    """


def _register() -> None:
    from kimi_secret_scan.commands import ci, commit_msg, files, pre_push, pre_receive, staged
    from kimi_secret_scan.commands import range as range_

    for module in (staged, files, commit_msg, range_, ci, pre_push, pre_receive):
        main.add_command(module.command)


_register()
