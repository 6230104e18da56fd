"""Patterns compiled on first use.

A hook run over clean files asks most of the detectors' patterns nothing (cheap `bytes`
prefilters decide first), yet compiling them all at import cost ~10 ms of every run. A
module keeps its `NAME = lazy(rb"...")` line; the pattern is compiled the first time one of
its methods or attributes is read, after which the methods are the compiled pattern's own
(an instance attribute each: no indirection left on the hot path).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, AnyStr, cast

if TYPE_CHECKING:
    import regex  # only annotations here: importing it costs a hook run ~5 ms


_METHODS = (
    "search",
    "match",
    "fullmatch",
    "finditer",
    "findall",
    "sub",
    "subn",
    "split",
    "splititer",
    "scanner",
)


class _LazyPattern:
    def __init__(
        self, pattern: str | bytes, flags: int, compile: Callable[..., Any] | None = None
    ) -> None:
        self._source = pattern
        self._flags = flags
        self._compile = compile
        self._compiled: Any = None

    def __getattr__(self, name: str) -> Any:
        # Called only for names not yet set on the instance: the first use of a method, or
        # any other attribute of the compiled pattern (`.pattern`, `.groups`).
        if name.startswith("__"):
            raise AttributeError(name)
        compiled = self._compiled
        if compiled is None:
            compile = self._compile
            if compile is None:
                # `regex` imported at the first compile, not with this module: a hook run
                # that compiles none of its patterns never pays its import (~5 ms).
                import regex

                compile = regex.compile
            compiled = self._compiled = compile(self._source, self._flags)
            for method in _METHODS:
                if hasattr(compiled, method):  # `re` has no splititer
                    setattr(self, method, getattr(compiled, method))
        return getattr(compiled, name)


def lazy(pattern: AnyStr, flags: int = 0) -> regex.Pattern[AnyStr]:
    """A pattern that behaves as `regex.compile(pattern, flags)` and compiles when first used."""
    return cast("regex.Pattern[AnyStr]", _LazyPattern(pattern, flags))


def lazy_re(pattern: AnyStr, flags: int = 0) -> re.Pattern[AnyStr]:
    """As `lazy`, for a pattern of the standard library's `re` (its syntax and speed)."""
    return cast("re.Pattern[AnyStr]", _LazyPattern(pattern, flags, re.compile))
