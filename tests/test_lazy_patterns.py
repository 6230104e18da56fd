"""Every pattern a module compiles on first use (lazy_regex) compiles, and behaves as the
pattern compiled at once would: a typo in one would otherwise surface only in the run that
first needs it (a finding's redaction, an escape in a name)."""

from __future__ import annotations

import importlib
import pkgutil
import re

import regex

import kimi_secret_scan
from kimi_secret_scan.lazy_regex import _LazyPattern, lazy, lazy_re


def _lazy_patterns() -> list[tuple[str, _LazyPattern]]:
    found = []
    for info in pkgutil.walk_packages(kimi_secret_scan.__path__, "kimi_secret_scan."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if isinstance(value, _LazyPattern):
                found.append((f"{info.name}.{name}", value))
    return found


def test_every_lazy_pattern_compiles() -> None:
    patterns = _lazy_patterns()
    assert len(patterns) > 20
    for name, pattern in patterns:
        assert pattern.pattern is not None, name  # compiles it (any error names it)
        assert callable(pattern.search), name


def test_a_lazy_pattern_is_its_engines_pattern() -> None:
    text = "a sk-kimi-x sk-y"
    for make, engine in ((lazy, regex), (lazy_re, re)):
        lazy_one = make(r"sk-(\w+)")
        compiled = engine.compile(r"sk-(\w+)")
        assert lazy_one.findall(text) == compiled.findall(text)
        assert lazy_one.sub("-", text) == compiled.sub("-", text)
        assert [m.span() for m in lazy_one.finditer(text)] == [
            m.span() for m in compiled.finditer(text)
        ]
        assert lazy_one.groups == 1
