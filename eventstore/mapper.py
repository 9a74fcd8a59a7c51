"""Maps domain event dataclasses to plain records (dicts) and back, by registered type name.

Mapping is separate from encoding: the codec only sees dicts, the domain only dataclasses.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Iterable, Mapping
from datetime import datetime
from enum import Enum
from typing import Any, TypeVar

T = TypeVar("T")


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


_FIELD_NAMES: dict[type, tuple[str, ...] | None] = {}


def _field_names(cls: type) -> tuple[str, ...] | None:
    """A dataclass's field names (None for other types); cached: this is the hot path."""
    if cls not in _FIELD_NAMES:
        is_dataclass = dataclasses.is_dataclass(cls)
        _FIELD_NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls)) if is_dataclass else None
    return _FIELD_NAMES[cls]


def to_plain(value: Any) -> Any:
    """Dataclasses, tuples and mappings as plain dicts and lists, recursively."""
    kind = type(value)
    if kind in _SCALARS:
        return value
    names = _field_names(kind)
    if names is not None:
        return {name: to_plain(getattr(value, name)) for name in names}
    if isinstance(value, list | tuple):
        return [to_plain(item) for item in value]
    if isinstance(value, Mapping):
        return {key: to_plain(item) for key, item in value.items()}
    return value


def from_plain(annotation: Any, value: Any) -> Any:
    """Rebuild a value of type `annotation` (dataclasses, tuples, enums, times) from plain data."""
    origin = typing.get_origin(annotation)
    if dataclasses.is_dataclass(annotation) and isinstance(annotation, type):
        hints = typing.get_type_hints(annotation)
        fields = {f.name for f in dataclasses.fields(annotation)}
        return annotation(**{k: from_plain(hints[k], v) for k, v in value.items() if k in fields})
    if origin in (list, tuple):
        (item_type, *_rest) = typing.get_args(annotation)
        items = [from_plain(item_type, item) for item in value]
        return tuple(items) if origin is tuple else items
    if origin in (typing.Union, types.UnionType) and value is not None:
        (first, *_rest) = [a for a in typing.get_args(annotation) if a is not type(None)]
        return from_plain(first, value)
    if origin in (dict, Mapping) and isinstance(value, dict):
        _key_type, value_type = typing.get_args(annotation)
        return {key: from_plain(value_type, item) for key, item in value.items()}
    if annotation is datetime and isinstance(value, str):
        return datetime.fromisoformat(value)  # JSON carries times as ISO-8601 text
    if isinstance(annotation, type) and issubclass(annotation, Enum) and isinstance(value, str):
        return annotation(value)
    return value
