"""Detector settings a project can extend through its configuration."""

from __future__ import annotations

from dataclasses import dataclass

from kimi_secret_scan import record
from kimi_secret_scan.unpack import DEFAULT_LIMITS, Limits


@record.frozen
@dataclass(init=False, repr=False, eq=False)
class DetectorSettings:
    """What the configuration tells the detectors."""

    # Words that, near an sk- token, tie it to Kimi (added to "kimi" and "moonshot").
    context_words: tuple[str, ...] = ()
    # Variable or setting names that hold a Kimi key (added to names containing kimi/moonshot).
    variable_names: tuple[str, ...] = ()
    # How far containers (zip, tar, gzip, SQLite…) are unpacked: config keys max-unpack*.
    limits: Limits = DEFAULT_LIMITS

    def __init__(
        self,
        context_words: tuple[str, ...] = (),
        variable_names: tuple[str, ...] = (),
        limits: Limits = DEFAULT_LIMITS,
    ) -> None:
        record.assign(
            self,
            context_words=context_words,
            variable_names=variable_names,
            limits=limits,
        )


DEFAULT_SETTINGS = DetectorSettings()
