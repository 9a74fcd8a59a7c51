"""Reads a command record as strictly as the API reads a request.

Anything may sit on a command topic: a producer's bug, an old client, a hand-typed
`kafka-console-producer` line. The command processor hands a record here and gets back a
typed command, or `MalformedMessage` saying why not (it then refuses or skips the record);
nothing a record holds can make it raise anything else.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from pydantic import TypeAdapter, ValidationError

from eventstore.aggregate import AggregateType
from eventstore.envelope import RawHeaders
from eventstore.kafka_config import MAX_MESSAGE_BYTES
from eventstore.mapper import EventMapper
from producers.messages import CommandMessage, MalformedMessage
from producers.validation import ID_PATTERN as ID_RULE
from producers.validation import TEXT_PATTERN as TEXT_RULE

ID_PATTERN = re.compile(ID_RULE)
TEXT_PATTERN = re.compile(TEXT_RULE)


class CommandReader:
    """Typed commands of one aggregate type from Kafka records."""

    def __init__(self, aggregate: AggregateType[Any], mapper: EventMapper) -> None:
        self._aggregate = aggregate
        self._mapper = mapper
        classes = {mapper.event_type_of_class(c): c for c in aggregate.command_classes}
        self._adapters: dict[str, TypeAdapter[Any]] = {
            n: TypeAdapter(c) for n, c in classes.items()
        }
        self._fields = {
            name: {f.name for f in dataclasses.fields(c)} for name, c in classes.items()
        }

    def read(
        self, key: bytes | None, value: bytes | None, headers: RawHeaders
    ) -> tuple[CommandMessage, object]:
        """The envelope and the typed command; `MalformedMessage` for anything else."""
        if value is not None and len(value) > MAX_MESSAGE_BYTES:
            raise MalformedMessage(f"command body of {len(value)} bytes, over the record limit")
        try:
            message = CommandMessage.parse(key, value, headers)
        except (ValueError, RecursionError) as error:  # RecursionError: absurdly nested JSON
            raise MalformedMessage(str(error)) from None
        adapter = self._adapters.get(message.command_type)
        if adapter is None:
            raise MalformedMessage(f"{message.command_type!r} is not a {self._name} command")
        unknown = set(message.payload) - self._fields[message.command_type]
        if unknown:
            raise MalformedMessage(f"unknown fields {sorted(unknown)}")
        # The API's rules hold here too: what one projection refuses, none should receive.
        if not ID_PATTERN.fullmatch(message.aggregate_id):
            raise MalformedMessage(f"aggregate id {message.aggregate_id!r} breaks the id rules")
        try:
            storable = _storable(message.payload)
        except RecursionError:
            storable = False
        if not storable:
            raise MalformedMessage(
                "a string holds control characters (NUL, ...), or nests too deep"
            )
        try:
            # Strict: "3" is not a quantity, true is not a number; JSON's ISO strings are times.
            adapter.validate_json(value or b"", strict=True)
            # Built by the mapper, as every command always was: the check above only vets.
            command = self._mapper.from_record(message.command_type, message.payload)
            owner = self._aggregate.aggregate_id(command)
        except (ValidationError, TypeError, ValueError) as error:
            raise MalformedMessage(_summary(error)) from None
        if owner != message.aggregate_id:
            raise MalformedMessage(f"keyed {message.aggregate_id!r} but names {owner!r}")
        return message, command

    @property
    def _name(self) -> str:
        return self._aggregate.name


def _storable(value: object) -> bool:
    """No string anywhere in `value` holds a character the stores refuse (NUL and kin)."""
    if isinstance(value, str):
        return TEXT_PATTERN.fullmatch(value) is not None
    if isinstance(value, dict):
        return all(_storable(k) and _storable(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_storable(item) for item in value)
    return True


def _summary(error: Exception) -> str:
    if isinstance(error, ValidationError):
        return "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}"
            for e in error.errors(include_url=False)
        )
    return str(error)


_READERS: dict[tuple[int, int], tuple[object, object, CommandReader]] = {}


def reader_for(aggregate: AggregateType[Any], mapper: EventMapper) -> CommandReader:
    """One reader per aggregate type and mapper (adapters are built once). Keyed by identity:
    an aggregate type's state may hold unhashable values; the entry keeps both alive."""
    key = (id(aggregate), id(mapper))
    if key not in _READERS:
        _READERS[key] = (aggregate, mapper, CommandReader(aggregate, mapper))
    return _READERS[key][2]
