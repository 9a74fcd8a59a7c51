"""Avro single-object encoding (marker, CRC-64-AVRO fingerprint, body) with fastavro.

Readers resolve the writer's schema by fingerprint against `schemas/` and read with the
newest version of the same event type, so old events decode under the current schema
(Avro schema resolution plus registered upcasters).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any, Protocol

from fastavro import parse_schema, schemaless_writer

from eventstore.schemas import EventSchema, SchemaError, SchemaRepository
from eventstore.upcasting import UpcastError, Upcasters, read_as_latest

SINGLE_OBJECT_MARKER = b"\xc3\x01"
_HEADER_LENGTH = len(SINGLE_OBJECT_MARKER) + 8


class DecodeError(Exception):
    """Bytes that are not a decodable event."""


@dataclass(slots=True)  # not frozen, as `Envelope`: one is made per event written
class Encoded:
    """An encoded event body and the identity of the schema it was written with."""

    payload: bytes
    event_type: str
    schema_version: int


class EventCodec(Protocol):
    """Turns event records (plain dicts) into bytes and back.

    `encode` writes with the newest schema of the event type and raises `SchemaError` when
    the record does not fit it. `decode` returns the record as the newest version of its
    type, whatever version wrote it, or raises `DecodeError` with a message. Readers route
    on `event_type_of`: the fingerprint or schema id already identifies the type.
    """

    def encode(self, event_type: str, record: dict[str, Any]) -> Encoded: ...

    def decode(self, payload: bytes) -> tuple[str, dict[str, Any]]: ...

    def event_type_of(self, payload: bytes | None) -> str | None:
        """The event type the framing's schema identity names, without reading the body;
        None when it names no schema known yet (then `decode` says why, or learns it)."""
        ...


@dataclass(frozen=True, slots=True)
class TypeWriter:
    """What encoding records of one schema needs, worked out once per codec and event type."""

    schema: EventSchema
    prefix: bytes  # the framing before the Avro body
    # fastavro's write-ready form: handed a schema without its parse marker, fastavro
    # re-parses it for every record (about half of an event's encoding time).
    writable: Any

    @classmethod
    def of(cls, schema: EventSchema, prefix: bytes) -> TypeWriter:
        return cls(schema, prefix, parse_schema(schema.parsed))

    def encode(self, record: dict[str, Any]) -> Encoded:
        """The prefix and the Avro binary body of `record`, or a `SchemaError`."""
        buffer = io.BytesIO()
        buffer.write(self.prefix)
        try:
            schemaless_writer(buffer, self.writable, record, strict_allow_default=True)
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            raise SchemaError(
                f"{self.schema.event_type}: record does not match its schema: {error}"
            ) from error
        return Encoded(buffer.getvalue(), self.schema.event_type, self.schema.version)


def read_body(
    body: bytes, writer: EventSchema, schemas: SchemaRepository, upcasters: Upcasters
) -> dict[str, Any]:
    """The body read as the newest version of its event type, or a `DecodeError`."""
    try:
        return read_as_latest(body, writer, schemas, upcasters)
    except (UpcastError, SchemaError) as error:
        raise DecodeError(str(error)) from error


class SingleObjectCodec:
    """The registry-free framing: Avro single-object encoding against local schemas."""

    def __init__(self, schemas: SchemaRepository, upcasters: Upcasters | None = None) -> None:
        self._schemas = schemas
        self._upcasters = upcasters or Upcasters()
        self._writers: dict[str, TypeWriter] = {}  # event type -> its newest schema's writer

    def encode(self, event_type: str, record: dict[str, Any]) -> Encoded:
        """Encode with the newest schema of the event type."""
        writer = self._writers.get(event_type)
        if writer is None:
            writer = self._writers[event_type] = self._writer(self._schemas.latest(event_type))
        return writer.encode(record)

    def encode_as(self, schema: EventSchema, record: dict[str, Any]) -> Encoded:
        """Encode with a given schema version (tests and migrations write old versions)."""
        return self._writer(schema).encode(record)

    @staticmethod
    def _writer(schema: EventSchema) -> TypeWriter:
        return TypeWriter.of(schema, SINGLE_OBJECT_MARKER + schema.fingerprint)

    def event_type_of(self, payload: bytes | None) -> str | None:
        """The type of the schema whose fingerprint frames the payload, if we have it."""
        if payload is None or not payload.startswith(SINGLE_OBJECT_MARKER):
            return None
        writer = self._schemas.find_fingerprint(payload[2:_HEADER_LENGTH])
        return writer.event_type if writer is not None else None

    def decode(self, payload: bytes) -> tuple[str, dict[str, Any]]:
        """Decode with the writer's schema, brought up to the newest version."""
        if len(payload) < _HEADER_LENGTH or not payload.startswith(SINGLE_OBJECT_MARKER):
            raise DecodeError("not Avro single-object encoded (bad marker)")
        writer = self._schemas.find_fingerprint(payload[2:_HEADER_LENGTH])
        if writer is None:
            raise DecodeError(
                f"unknown schema fingerprint {payload[2:_HEADER_LENGTH].hex()}: "
                "no schema under schemas/ has it"
            )
        body = payload[_HEADER_LENGTH:]
        return writer.event_type, read_body(body, writer, self._schemas, self._upcasters)
