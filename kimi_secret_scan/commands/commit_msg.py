"""`kimi-secret-scan commit-msg FILE`: the commit message (the commit-msg hook)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click

from kimi_secret_scan import gate_limits
from kimi_secret_scan.cli import (
    ScanOptions,
    handle_errors,
    new_suppressions_option,
    scan_options,
)
from kimi_secret_scan.sources.message import (
    below_cut,
    commit_identities,
    in_commit_encoding,
    read_message,
)


@click.command("commit-msg")
@click.argument("message_file", type=click.Path(readable=False))
@new_suppressions_option
@scan_options
@handle_errors
def command(message_file: str, no_new_suppressions: bool, opts: ScanOptions) -> int:
    """Scan a commit message file (as the commit-msg hook passes it), and the author and
    committer the commit will record."""
    cwd = Path.cwd()
    config = opts.config
    head = None
    if config is not None and config.source is not None:
        # A configuration file the commit under way edits: its limits are the change's
        # (`min-confidence = "high"` would pass a medium key in the message); HEAD's apply.
        from kimi_secret_scan import gate

        trusted = head = gate.head_config_if_staged(config, opts.config_given)
        if trusted is not None:
            opts.settings = dataclasses.replace(opts.settings, limits=trusted.settings.limits)
            if not opts.min_confidence_given:
                opts.min_confidence = trusted.min_confidence
    message = read_message(message_file)
    items = [
        message,
        *in_commit_encoding(message, cwd),
        *below_cut(message_file, cwd, opts.settings),
        *commit_identities(cwd),
    ]
    # A gate: a message that is a container not wholly unpacked fails it, as in staged; and
    # what the change's own suppressions (a staged configuration, an allow comment in the
    # message) hide is said, as in staged.
    must_unpack = gate_limits.must_unpack(head or opts.config)
    hidden = None
    if opts.sink is None:
        hidden = gate_limits.watched(opts, config.root if config is not None else cwd)
        opts.filters = hidden.filters()
    result = opts.scan("commit-msg", "commit message", items, unread_containers=must_unpack)
    if hidden is not None:
        result.new_suppressions = hidden.found
        opts.fail_new_suppressions = hidden.fails(no_new_suppressions)
    return opts.report(result)
