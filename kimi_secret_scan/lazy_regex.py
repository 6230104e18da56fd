"""Patterns compiled on first use.

A hook run over clean files asks most of the detectors' patterns nothing (cheap `bytes`
prefilters decide first), yet compiling them all at import cost ~10 ms of every run. A
module keeps its `NAME = lazy(rb"...")` line; the pattern is compiled the first time one of
its methods or attributes is read, after which the methods are the compiled pattern's own
(an instance attribute each: no indirection left on the hot path).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
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


def is_re(pattern: object) -> bool:
    """Is `pattern` the standard library's (`re.compile`d or `lazy_re`), not `regex`'s?"""
    if isinstance(pattern, _LazyPattern):
        return pattern._compile is re.compile
    return isinstance(pattern, re.Pattern)


def finditer_bounded(
    pattern: regex.Pattern[bytes] | re.Pattern[bytes], data: bytes, timeout: float
) -> Iterator[regex.Match[bytes] | re.Match[bytes]]:
    """`pattern.finditer(data)`, with `timeout` where the engine takes one (`regex`'s).

    A `re` pattern runs without: only patterns that cannot backtrack without bound (an
    alternation of literals, bounded classes) are made `re` patterns, because `re` compiles
    them 3 to 9 times faster (a hook run that finds a key compiles a dozen of them) and its
    literal-prefix search is faster too.
    """
    if is_re(pattern):
        return cast("re.Pattern[bytes]", pattern).finditer(data)
    matches: Iterator[regex.Match[bytes]] = cast("regex.Pattern[bytes]", pattern).finditer(
        data, timeout=timeout
    )
    return matches
