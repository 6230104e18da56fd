"""Detector settings a project can extend through its configuration."""

from __future__ import annotations

from dataclasses import dataclass

from kimi_secret_scan.unpack import DEFAULT_LIMITS, Limits


@dataclass(frozen=True)
class DetectorSettings:
    # Words that, near an sk- token, tie it to Kimi (added to "kimi" and "moonshot").
    context_words: tuple[str, ...] = ()
    # Variable or setting names that hold a Kimi key (added to names containing kimi/moonshot).
    variable_names: tuple[str, ...] = ()
    # How far containers (zip, tar, gzip, SQLite…) are unpacked: config keys max-unpack*.
    limits: Limits = DEFAULT_LIMITS


DEFAULT_SETTINGS = DetectorSettings()
