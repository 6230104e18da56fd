"""Errors that stop a scan. Their messages never contain a key."""

from __future__ import annotations


class ScanError(Exception):
    """The scan could not be done (exit code 2). The message is one line, for a person."""


class ExitCode:
    CLEAN = 0
    FINDINGS = 1
    ERROR = 2
