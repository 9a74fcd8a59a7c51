"""Maps domain event dataclasses to plain records (dicts) and back, by registered type name.

Mapping is separate from encoding: the codec only sees dicts, the domain only dataclasses.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from enum import Enum
from functools import cache
from typing import Any, TypeVar

T = TypeVar("T")
Converter = Callable[[Any], Any]


class UnknownEventType(Exception):
    """An event type that no registered dataclass maps to."""


class EventMapper:
    """A registry of message dataclasses (events, commands) keyed by their type name."""

    def __init__(self, event_classes: Iterable[type] = ()) -> None:
        self._by_type: dict[str, type] = {}
        self._by_class: dict[type, str] = {}
        for cls in event_classes:
            self.register(cls)

    def register(self, cls: type, event_type: str | None = None) -> None:
        """Register a dataclass under `event_type` (default: its EVENT_TYPE or COMMAND_TYPE)."""
        name = event_type or getattr(cls, "EVENT_TYPE", None) or cls.COMMAND_TYPE  # type: ignore[attr-defined]
        self._by_type[name] = cls
        self._by_class[cls] = name

    def event_type(self, event: object) -> str:
        """The registered type name of an event instance."""
        return self.event_type_of_class(type(event))

    def event_type_of_class(self, cls: type) -> str:
        """The registered type name of an event class."""
        try:
            return self._by_class[cls]
        except KeyError:
            raise UnknownEventType(f"{cls.__name__} is not a registered event") from None

    def to_record(self, event: object) -> dict[str, Any]:
        """A plain dict of the event, ready for the codec."""
        return typing.cast(dict[str, Any], to_plain(event))

    def from_record(self, event_type: str, record: dict[str, Any]) -> object:
        """Rebuild the event dataclass from a decoded record."""
        try:
            cls = self._by_type[event_type]
        except KeyError:
            raise UnknownEventType(f"no event class registered for {event_type!r}") from None
        return from_plain(cls, record)


_SCALARS = frozenset({str, int, float, bool, bytes, type(None), datetime})


# A dataclass's compiled `to_plain` (None for other types); filled once per type.
_MAKERS: dict[type, Converter | None] = {}


def to_plain(value: Any) -> Any:
    """Dataclasses, tuples and mappings as plain dicts and lists, recursively."""
    kind = type(value)
    if kind in _SCALARS:
        return value
    try:
        maker = _MAKERS[kind]
    except KeyError:
        maker = _MAKERS[kind] = _plain_maker(kind)
    if maker is not None:
        return maker(value)
    if isinstance(value, list | tuple):
        return [to_plain(item) for item in value]
    if isinstance(value, Mapping):
        return {key: to_plain(item) for key, item in value.items()}
    return value


def _plain_maker(cls: type) -> Converter | None:
    """`to_plain` for one dataclass as straight-line code, compiled once (it runs for every
    event written): a dict display reading each field once, with fields declared as scalars
    taken as they are (the declared types are trusted: mypy checks them)."""
    if not dataclasses.is_dataclass(cls):
        return None
    try:
        hints = typing.get_type_hints(cls)
    except (NameError, TypeError):
        hints = {}  # unresolvable forward references: every field takes the generic path
    entries = []
    for field in dataclasses.fields(cls):
        name = field.name
        value = f"value.{name}"
        if name not in hints or not _is_scalar(hints[name]):
            value = f"to_plain({value})"
        entries.append(f"{name!r}: {value}")
    source = f"def plain(value):\n    return {{{', '.join(entries)}}}\n"
    namespace: dict[str, Any] = {"to_plain": to_plain}
    exec(source, namespace)  # field names are identifiers: the source is only ours
    return typing.cast(Converter, namespace["plain"])


def _is_scalar(annotation: Any) -> bool:
    """Whether `to_plain` returns every value of this declared type unchanged."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return all(_is_scalar(arg) for arg in typing.get_args(annotation))
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return True
    return annotation in _SCALARS


def from_plain(annotation: Any, value: Any) -> Any:
    """Rebuild a value of type `annotation` (dataclasses, tuples, enums, times) from plain data."""
    return converter(annotation)(value)


@cache
def converter(annotation: Any) -> Converter:
    """A function that rebuilds a value of `annotation` from plain data, compiled once per
    type: resolving type hints per record would cost ~0.4 ms on a projector's hot path."""
    origin = typing.get_origin(annotation)
    if dataclasses.is_dataclass(annotation) and isinstance(annotation, type):
        return _dataclass_converter(annotation)
    if origin in (list, tuple):
        item = converter(typing.get_args(annotation)[0])
        if origin is tuple:
            return lambda value: tuple([item(v) for v in value])  # a list builds faster
        return lambda value: [item(v) for v in value]
    if origin in (typing.Union, types.UnionType):
        (first, *_rest) = [a for a in typing.get_args(annotation) if a is not type(None)]
        inner = converter(first)
        return lambda value: None if value is None else inner(value)
    if origin in (dict, Mapping):
        item = converter(typing.get_args(annotation)[1])
        return lambda value: {k: item(v) for k, v in value.items()}
    if annotation is datetime:
        return lambda value: datetime.fromisoformat(value) if isinstance(value, str) else value
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return annotation
    return _identity


def _identity(value: Any) -> Any:
    return value


def _dataclass_converter(cls: type) -> Converter:
    hints = typing.get_type_hints(cls)
    fields = {f.name: converter(hints[f.name]) for f in dataclasses.fields(cls) if f.init}
    plain = {name for name, convert in fields.items() if convert is _identity}
    exact = _exact_converter(cls, fields, plain)

    def convert(record: dict[str, Any]) -> Any:
        if record.keys() == fields.keys():
            return exact(record)  # a record read with the class's own schema: every field once
        return cls(
            **{k: (v if k in plain else fields[k](v)) for k, v in record.items() if k in fields}
        )

    return convert


def _exact_converter(cls: type, fields: dict[str, Converter], plain: set[str]) -> Converter:
    """The converter for a record with exactly the class's fields, as straight-line code (the
    way `dataclasses` writes `__init__`): no dict built per record, no per-field test. It runs
    for every event a projector reads."""
    namespace: dict[str, Any] = {"cls": cls}
    arguments = []
    for n, name in enumerate(fields):
        value = f"record[{name!r}]"
        if name not in plain:
            namespace[f"convert_{n}"] = fields[name]
            value = f"convert_{n}({value})"
        arguments.append(f"{name}={value}")
    source = f"def exact(record):\n    return cls({', '.join(arguments)})\n"
    exec(source, namespace)  # field names are identifiers: the source is only ours
    return typing.cast(Converter, namespace["exact"])
