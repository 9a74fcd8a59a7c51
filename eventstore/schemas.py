"""Loads the versioned Avro schemas in `schemas/` and finds them by name or fingerprint.

Layout: `schemas/<context>/<aggregate>/<EventName>.v<N>.avsc`. The record's full name
(`namespace.name`) is the event type; N is its schema version.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from fastavro.schema import fingerprint, parse_schema, to_parsing_canonical_form

_FILE_NAME = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)\.v(?P<version>[1-9][0-9]*)\.avsc$")


class SchemaError(Exception):
    """A schema file is malformed, misplaced or missing."""


@dataclass(frozen=True, slots=True)
class EventSchema:
    """One version of one event type's Avro schema."""

    event_type: str
    version: int
    parsed: dict[str, Any]
    fingerprint: bytes
    path: Path


def crc64_fingerprint(parsed: dict[str, Any]) -> bytes:
    """The CRC-64-AVRO fingerprint of a parsed schema, as the 8 little-endian bytes."""
    return bytes.fromhex(fingerprint(to_parsing_canonical_form(parsed), "CRC-64-AVRO"))


def load_schema_file(path: Path) -> EventSchema:
    """Parse one `.avsc` file, checking its file name matches the record it declares."""
    match = _FILE_NAME.match(path.name)
    if match is None:
        raise SchemaError(f"{path}: expected a file name like OrderPlaced.v1.avsc")
    try:
        raw = json.loads(path.read_text())
        parsed = cast(dict[str, Any], parse_schema(raw, _write_hint=False))
    except (ValueError, TypeError, KeyError) as error:
        raise SchemaError(f"{path}: {error}") from error
    if raw.get("name") != match["name"]:
        raise SchemaError(
            f"{path}: declares record {raw.get('name')!r}, file says {match['name']!r}"
        )
    return EventSchema(
        event_type=parsed["name"],
        version=int(match["version"]),
        parsed=parsed,
        fingerprint=crc64_fingerprint(parsed),
        path=path,
    )


class SchemaRepository:
    """Every event schema under a directory, indexed by type, version and fingerprint."""

    def __init__(self, schemas: list[EventSchema]) -> None:
        self._by_type: dict[str, dict[int, EventSchema]] = {}
        self._by_fingerprint: dict[bytes, EventSchema] = {}
        self._latest: dict[str, EventSchema] = {}  # asked once per event read or written
        for schema in sorted(schemas, key=lambda s: (s.event_type, s.version)):
            versions = self._by_type.setdefault(schema.event_type, {})
            if schema.version in versions:
                raise SchemaError(
                    f"{schema.event_type} v{schema.version} is declared twice: "
                    f"{versions[schema.version].path} and {schema.path}"
                )
            versions[schema.version] = schema
            self._latest[schema.event_type] = schema  # sorted: the last one is the newest
            # Identical versions share a fingerprint; the oldest one names it.
            self._by_fingerprint.setdefault(schema.fingerprint, schema)

    @classmethod
    def from_directory(cls, root: Path) -> SchemaRepository:
        """Load every `*.avsc` below `root`."""
        if not root.is_dir():
            raise SchemaError(f"schema directory {root} does not exist")
        return cls([load_schema_file(path) for path in sorted(root.rglob("*.avsc"))])

    def latest(self, event_type: str) -> EventSchema:
        """The newest version of an event type's schema: what writers use."""
        try:
            return self._latest[event_type]
        except KeyError:
            raise SchemaError(f"no schema for event type {event_type!r}") from None

    def versions(self, event_type: str) -> list[EventSchema]:
        """Every version of an event type's schema, oldest first."""
        versions = self._by_type.get(event_type, {})
        return [versions[number] for number in sorted(versions)]

    def version(self, event_type: str, number: int) -> EventSchema:
        """One version of an event type's schema."""
        try:
            return self._by_type[event_type][number]
        except KeyError:
            raise SchemaError(f"no schema for {event_type} v{number}") from None

    def find_fingerprint(self, fingerprint_bytes: bytes) -> EventSchema | None:
        """The local schema with this fingerprint, if there is one."""
        return self._by_fingerprint.get(fingerprint_bytes)

    def by_fingerprint(self, fingerprint_bytes: bytes) -> EventSchema:
        """The schema an event was written with."""
        try:
            return self._by_fingerprint[fingerprint_bytes]
        except KeyError:
            raise SchemaError(f"unknown schema fingerprint {fingerprint_bytes.hex()}") from None

    def event_types(self) -> list[str]:
        """All known event types."""
        return sorted(self._by_type)
