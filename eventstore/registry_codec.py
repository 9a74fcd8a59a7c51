"""Confluent wire format (magic byte 0, 4-byte big-endian schema id, Avro body).

Used when a schema registry is configured. Subjects follow the RecordNameStrategy: one topic
carries many event types, so the subject is the record's full name (the event type), not
`<topic>-value`. Writers register the newest local schema of the event type; readers fetch
the writer's schema by id and read it as the newest local version (resolution + upcasters).
Ids are cached both ways, so the registry is asked once per schema and process.

A registry that can't be reached raises `RegistryUnavailable`, not `DecodeError`: an outage
is retried by the caller, never skipped as a poison message.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any, cast

from confluent_kafka.schema_registry import Schema, SchemaRegistryClient, SchemaRegistryError
from fastavro.schema import parse_schema

from eventstore.codec import DecodeError, Encoded, TypeWriter, read_body
from eventstore.schemas import EventSchema, SchemaError, SchemaRepository, crc64_fingerprint
from eventstore.upcasting import Upcasters

MAGIC_BYTE = 0
_HEADER = struct.Struct(">bI")  # magic byte, schema id (big-endian unsigned 32 bits)


class RegistryUnavailable(Exception):
    """The schema registry could not answer; try again later."""


class RegistryCodec:
    """The registry framing, against a Confluent-compatible schema registry."""

    def __init__(
        self,
        client: SchemaRegistryClient,
        schemas: SchemaRepository,
        upcasters: Upcasters | None = None,
        url: str = "",
    ) -> None:
        self._client = client
        self._schemas = schemas
        self._upcasters = upcasters or Upcasters()
        self._url = url
        self._ids: dict[bytes, int] = {}  # local schema fingerprint -> registry id
        self._writers: dict[int, EventSchema] = {}  # registry id -> writer schema
        self._encoders: dict[str, TypeWriter] = {}  # event type -> newest schema, id framed

    def encode(self, event_type: str, record: dict[str, Any]) -> Encoded:
        """Encode with the newest local schema, registered under the event type."""
        encoder = self._encoders.get(event_type)
        if encoder is None:
            schema = self._schemas.latest(event_type)
            prefix = _HEADER.pack(MAGIC_BYTE, self.schema_id(schema))
            encoder = self._encoders[event_type] = TypeWriter.of(schema, prefix)
        return encoder.encode(record)

    def schema_id(self, schema: EventSchema) -> int:
        """The registry id of a local schema, registering it on first use."""
        if schema.fingerprint not in self._ids:
            text = json.dumps(json.loads(schema.path.read_text()))
            try:
                schema_id = self._client.register_schema(schema.event_type, Schema(text, "AVRO"))
            except Exception as error:
                raise self._unavailable(
                    f"cannot register {schema.event_type} v{schema.version}", error
                ) from error
            self._ids[schema.fingerprint] = schema_id
            self._writers[schema_id] = schema
        return self._ids[schema.fingerprint]

    def event_type_of(self, payload: bytes | None) -> str | None:
        """The type of the schema id framing the payload, if fetched before (never asks the
        registry: routing must not wait on it; `decode` fetches)."""
        if payload is None or len(payload) < _HEADER.size or payload[0] != MAGIC_BYTE:
            return None
        writer = self._writers.get(_HEADER.unpack_from(payload)[1])
        return writer.event_type if writer is not None else None

    def decode(self, payload: bytes) -> tuple[str, dict[str, Any]]:
        """Decode with the writer's schema from the registry, read as the newest version."""
        if len(payload) < _HEADER.size or payload[0] != MAGIC_BYTE:
            raise DecodeError("not Confluent wire format (bad magic byte)")
        _magic, schema_id = _HEADER.unpack_from(payload)
        writer = self._writer(schema_id)
        body = payload[_HEADER.size :]
        return writer.event_type, read_body(body, writer, self._schemas, self._upcasters)

    def _writer(self, schema_id: int) -> EventSchema:
        if schema_id not in self._writers:
            self._writers[schema_id] = self._fetch(schema_id)
        return self._writers[schema_id]

    def _fetch(self, schema_id: int) -> EventSchema:
        """The writer schema for an id: the local copy when there is one."""
        try:
            text = self._client.get_schema(schema_id).schema_str
        except SchemaRegistryError as error:
            if error.http_status_code == 404:
                raise DecodeError(f"unknown schema id {schema_id} in the registry") from error
            raise self._unavailable(f"cannot fetch schema id {schema_id}", error) from error
        except Exception as error:
            raise self._unavailable(f"cannot fetch schema id {schema_id}", error) from error
        try:
            parsed = cast(dict[str, Any], parse_schema(json.loads(text or ""), _write_hint=False))
            fingerprint = crc64_fingerprint(parsed)
        except (ValueError, TypeError, KeyError) as error:
            raise DecodeError(
                f"schema id {schema_id} is not a valid Avro schema: {error}"
            ) from error
        local = self._schemas.find_fingerprint(fingerprint)
        if local is not None:
            return local
        try:
            self._schemas.latest(parsed["name"])
        except SchemaError as error:
            raise DecodeError(f"schema id {schema_id}: {error}") from error
        # A writer schema we don't have (a newer producer): Avro resolution alone reads it.
        return EventSchema(parsed["name"], 0, parsed, fingerprint, Path(f"registry:{schema_id}"))

    def _unavailable(self, what: str, error: Exception) -> RegistryUnavailable:
        where = f" at {self._url}" if self._url else ""
        return RegistryUnavailable(
            f"schema registry{where}: {what}: {error.__class__.__name__}: {error}"
        )
