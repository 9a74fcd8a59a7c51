"""Avro single-object encoding (marker, CRC-64-AVRO fingerprint, body) with fastavro.

Readers resolve the writer's schema by fingerprint against `schemas/` and read with the
newest version of the same event type, so old events decode under the current schema
(Avro schema resolution plus registered upcasters).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any, Protocol

from fastavro import schemaless_writer

from eventstore.schemas import EventSchema, SchemaError, SchemaRepository
from eventstore.upcasting import UpcastError, Upcasters, read_as_latest

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
    """Turns event records (plain dicts) into bytes and back.

    `encode` writes with the newest schema of the event type and raises `SchemaError` when
    the record does not fit it. `decode` returns the record as the newest version of its
    type, whatever version wrote it, or raises `DecodeError` with a message.
    """

    def encode(self, event_type: str, record: dict[str, Any]) -> Encoded: ...

    def decode(self, payload: bytes) -> tuple[str, dict[str, Any]]: ...


def write_body(buffer: io.BytesIO, schema: EventSchema, record: dict[str, Any]) -> None:
    """Append the Avro binary body of `record` under `schema`."""
    try:
        schemaless_writer(buffer, schema.parsed, record, strict_allow_default=True)
    except (ValueError, TypeError, KeyError, AttributeError) as error:
        raise SchemaError(
            f"{schema.event_type}: record does not match its schema: {error}"
        ) from error


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

    def encode(self, event_type: str, record: dict[str, Any]) -> Encoded:
        """Encode with the newest schema of the event type."""
        return self.encode_as(self._schemas.latest(event_type), record)

    def encode_as(self, schema: EventSchema, record: dict[str, Any]) -> Encoded:
        """Encode with a given schema version (tests and migrations write old versions)."""
        buffer = io.BytesIO()
        buffer.write(SINGLE_OBJECT_MARKER)
        buffer.write(schema.fingerprint)
        write_body(buffer, schema, record)
        return Encoded(buffer.getvalue(), schema.event_type, schema.version)

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
