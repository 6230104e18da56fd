"""Dataclasses whose methods are not generated at import.

`@dataclass` writes a class's `__init__`, `__repr__`, `__eq__`, `__hash__`, `__setattr__`
and `__delattr__` as source text and compiles each one when its module is imported: ~300 µs
for a frozen class, ~7 ms of every pre-commit hook run for the 25 classes it loads (issue
14). A class of the hook's path keeps `@dataclass(init=False, repr=False, eq=False)`, so
that its fields, `dataclasses.replace`, `fields` and mypy work as before, writes its
`__init__` by hand (tests/test_record.py checks it against the fields), and takes the rest
from `frozen` or `mutable` below: the same equality, hash, repr and refused assignment as
the dataclass options it had, from functions written once.

    @record.frozen
    @dataclass(init=False, repr=False, eq=False)
    class Span:
        start: int
        end: int

        def __init__(self, start: int, end: int) -> None:
            record.assign(self, start=start, end=end)

A method the class defines itself (a `__repr__` that redacts) is kept.
"""

from __future__ import annotations

from dataclasses import FrozenInstanceError, fields
from operator import attrgetter
from typing import Any, TypeVar

T = TypeVar("T", bound=type)


def assign(obj: object, **values: Any) -> None:
    """Set the fields of a frozen record from its `__init__` (its `__setattr__` refuses)."""
    obj.__dict__.update(values)


def _repr(self: object) -> str:
    shown = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in fields(self) if f.repr)  # type: ignore[arg-type]
    return f"{type(self).__qualname__}({shown})"


def _compared(cls: type) -> Any:
    """The tuple of the fields equality compares (dataclass: those with compare=True)."""
    names = [f.name for f in fields(cls) if f.compare]
    if len(names) == 1:
        get = attrgetter(names[0])
        return lambda obj: (get(obj),)
    if not names:
        return lambda obj: ()
    return attrgetter(*names)


def _methods(key: Any) -> dict[str, Any]:
    def __eq__(self: object, other: object) -> Any:
        if other.__class__ is self.__class__:
            return key(self) == key(other)
        return NotImplemented

    def __repr__(self: object) -> str:
        return _repr(self)

    return {"__eq__": __eq__, "__repr__": __repr__}


def _install(cls: type, methods: dict[str, Any]) -> None:
    for name, method in methods.items():
        if name not in cls.__dict__:  # as dataclass does, keep what the class defines
            if method is not None:
                method.__qualname__ = f"{cls.__qualname__}.{name}"
            setattr(cls, name, method)


def frozen(cls: T) -> T:
    """What dataclass(frozen=True) adds beside `__init__`: equality and hash over the
    compared fields, the dataclass repr, and a FrozenInstanceError on assignment."""
    key = _compared(cls)
    methods = _methods(key)
    names = frozenset(f.name for f in fields(cls))
    owner: type = cls

    def __hash__(self: object) -> int:
        return hash(key(self))

    def __setattr__(self: object, name: str, value: Any) -> None:
        if type(self) is owner or name in names:
            raise FrozenInstanceError(f"cannot assign to field {name!r}")
        super(owner, self).__setattr__(name, value)  # type: ignore[arg-type]

    def __delattr__(self: object, name: str) -> None:
        if type(self) is owner or name in names:
            raise FrozenInstanceError(f"cannot delete field {name!r}")
        super(owner, self).__delattr__(name)  # type: ignore[arg-type]

    methods.update(__hash__=__hash__, __setattr__=__setattr__, __delattr__=__delattr__)
    _install(cls, methods)
    return cls


def mutable(cls: T) -> T:
    """What a plain @dataclass adds beside `__init__`: equality over the compared fields,
    the dataclass repr, and no hash (an object that can change is not a dict key)."""
    methods = _methods(_compared(cls))
    methods["__hash__"] = None
    _install(cls, methods)
    return cls
