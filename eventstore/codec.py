"""Avro single-object encoding (marker, CRC-64-AVRO fingerprint, body) with fastavro.

Readers resolve the writer's schema by fingerprint against `schemas/` and read with the
newest version of the same event type, so old events decode under the current schema
(Avro schema resolution).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any, Protocol

from fastavro import schemaless_reader, schemaless_writer

from eventstore.schemas import SchemaError, SchemaRepository

SINGLE_OBJECT_MARKER = b"\xc3\x01"
_HEADER_LENGTH = len(SINGLE_OBJECT_MARKER) + 8


class DecodeError(Exception):
    """Bytes that are not a decodable event."""


@dataclass(frozen=True, slots=True)
class Encoded:
    """An encoded event body and the identity of the schema it was written with."""

    payload: bytes
    event_type: str
    schema_version: int


class EventCodec(Protocol):
    """Turns event records (plain dicts) into bytes and back."""

    def encode(self, event_type: str, record: dict[str, Any]) -> Encoded: ...

    def decode(self, payload: bytes) -> tuple[str, dict[str, Any]]: ...


class SingleObjectCodec:
    """The registry-free framing: Avro single-object encoding against local schemas."""

    def __init__(self, schemas: SchemaRepository) -> None:
        self._schemas = schemas

    def encode(self, event_type: str, record: dict[str, Any]) -> Encoded:
        """Encode with the newest schema of the event type."""
        schema = self._schemas.latest(event_type)
        buffer = io.BytesIO()
        buffer.write(SINGLE_OBJECT_MARKER)
        buffer.write(schema.fingerprint)
        try:
            schemaless_writer(buffer, schema.parsed, record, strict_allow_default=True)
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            raise SchemaError(f"{event_type}: record does not match its schema: {error}") from error
        return Encoded(buffer.getvalue(), event_type, schema.version)

    def decode(self, payload: bytes) -> tuple[str, dict[str, Any]]:
        """Decode with the writer's schema, resolved to the newest reader schema."""
        if len(payload) < _HEADER_LENGTH or not payload.startswith(SINGLE_OBJECT_MARKER):
            raise DecodeError("not Avro single-object encoded (bad marker)")
        try:
            writer = self._schemas.by_fingerprint(payload[2:_HEADER_LENGTH])
            reader = self._schemas.latest(writer.event_type)
            record = schemaless_reader(
                io.BytesIO(payload[_HEADER_LENGTH:]), writer.parsed, reader.parsed
            )
        except SchemaError as error:
            raise DecodeError(str(error)) from error
        except Exception as error:  # fastavro raises assorted errors on corrupt bodies
            raise DecodeError(f"{writer.event_type}: corrupt Avro body: {error}") from error
        if not isinstance(record, dict):
            raise DecodeError(f"{writer.event_type}: body is not a record")
        return writer.event_type, record
