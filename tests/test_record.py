"""The records of kimi_secret_scan/record.py behave as the dataclasses they replace.

Each such class keeps `@dataclass(init=False, repr=False, eq=False)` and writes its
`__init__` by hand, so a field added to the class but not to `__init__` (or given another
default) would go unnoticed at import: these tests find every record class of the package
and hold its `__init__`, equality, hash, repr and frozenness to what `@dataclass` with the
class's old options generates.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil
from typing import Any

import pytest

import kimi_secret_scan
from kimi_secret_scan import record


def _record_classes() -> list[type]:
    found: dict[str, type] = {}
    for info in pkgutil.walk_packages(kimi_secret_scan.__path__, "kimi_secret_scan."):
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and value.__module__ == info.name
                and dataclasses.is_dataclass(value)
                and getattr(value.__eq__, "__module__", None) == record.__name__
            ):
                found[f"{info.name}.{value.__qualname__}"] = value
    return [found[name] for name in sorted(found)]


RECORDS = _record_classes()
FROZEN = [c for c in RECORDS if getattr(c.__setattr__, "__module__", None) == record.__name__]


class _Marker:
    """A distinct value per field, equal only to an equal marker, hashable."""

    def __init__(self, name: str, serial: int = 0) -> None:
        self.name = name
        self.serial = serial

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Marker) and (other.name, other.serial) == (self.name, self.serial)

    def __hash__(self) -> int:
        return hash((self.name, self.serial))

    def __repr__(self) -> str:
        return f"<{self.name}>"


def _init_fields(cls: type) -> list[dataclasses.Field[Any]]:
    return [f for f in dataclasses.fields(cls) if f.init]


def _build(cls: type, **override: Any) -> Any:
    values = {f.name: _Marker(f.name) for f in _init_fields(cls)}
    values.update(override)
    return cls(**values)


def test_the_hook_path_records_are_found() -> None:
    names = {c.__qualname__ for c in RECORDS}
    assert {"Finding", "Content", "Skipped", "Config", "ScanResult", "Span"} <= names
    assert len(RECORDS) >= 20


@pytest.mark.parametrize("cls", RECORDS, ids=lambda c: c.__qualname__)
def test_init_takes_the_fields_in_order_with_their_defaults(cls: type) -> None:
    # A hand-written __init__ calls no __post_init__, as dataclass's would: none allowed.
    assert not hasattr(cls, "__post_init__")
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]
    fields = _init_fields(cls)
    assert [p.name for p in params] == [f.name for f in fields]
    for param, field in zip(params, fields, strict=True):
        assert param.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD, field.name
        if field.default is not dataclasses.MISSING:
            assert param.default is field.default or param.default == field.default, field.name
        elif field.default_factory is not dataclasses.MISSING:
            # A factory's default is written `None` in the signature, made anew by __init__.
            assert param.default is None, field.name
        else:
            assert param.default is inspect.Parameter.empty, field.name
    # Every field set from its argument; a factory's default made anew for each instance.
    built = _build(cls)
    for field in fields:
        assert getattr(built, field.name).name == field.name
    required = {f.name: _Marker(f.name) for f in fields if param_required(cls, f.name)}
    first, second = cls(**required), cls(**required)
    for field in fields:
        if field.default_factory is not dataclasses.MISSING:
            made = getattr(first, field.name)
            assert made == field.default_factory()
            assert made is not getattr(second, field.name) or made == ()


def param_required(cls: type, name: str) -> bool:
    param = inspect.signature(cls.__init__).parameters[name]
    return param.default is inspect.Parameter.empty


@pytest.mark.parametrize("cls", RECORDS, ids=lambda c: c.__qualname__)
def test_equality_compares_the_compared_fields(cls: type) -> None:
    base = _build(cls)
    assert base == _build(cls)
    assert base != object()
    for field in _init_fields(cls):
        other = dataclasses.replace(base, **{field.name: _Marker(field.name, 1)})
        assert (base == other) is (not field.compare), field.name
    assert cls in FROZEN or cls.__hash__ is None  # a mutable record is no dict key


@pytest.mark.parametrize("cls", FROZEN, ids=lambda c: c.__qualname__)
def test_a_frozen_record_hashes_by_value_and_refuses_assignment(cls: type) -> None:
    base = _build(cls)
    assert hash(base) == hash(_build(cls))
    for field in dataclasses.fields(cls):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(base, field.name, 1)
        with pytest.raises(dataclasses.FrozenInstanceError):
            delattr(base, field.name)


@pytest.mark.parametrize("cls", RECORDS, ids=lambda c: c.__qualname__)
def test_repr_is_the_dataclass_repr_unless_the_class_writes_its_own(cls: type) -> None:
    if getattr(cls.__repr__, "__module__", None) != record.__name__:
        return  # its own repr (Finding's, which redacts the key)
    shown = ", ".join(f"{f.name}=<{f.name}>" for f in dataclasses.fields(cls) if f.repr)
    assert repr(_build(cls)) == f"{cls.__qualname__}({shown})"
