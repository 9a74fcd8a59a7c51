"""Upcasters: explicit steps from version N to N+1 of an event record, where Avro can't.

Avro schema resolution covers added fields with defaults, removals, promotions and aliased
renames. A change it cannot express (a field split in two, a value recomputed) is a new
schema version plus an upcaster registered for `(event type, from_version)`. Reading applies
the chain: Avro resolution up to the next upcaster, the upcaster, and so on to the newest
version. An aggregate package declares its upcasters in `upcasters.py` as `UPCASTERS`.
"""

from __future__ import annotations

import importlib
import importlib.util
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from fastavro import parse_schema, schemaless_reader, schemaless_writer
from fastavro.read import SchemaResolutionError

from eventstore.schemas import EventSchema, SchemaRepository

Record = dict[str, Any]


class UpcastError(Exception):
    """An old record could not be brought up to the newest version of its schema."""


@dataclass(frozen=True, slots=True)
class Upcaster:
    """Turns a record of `event_type` version `from_version` into version `from_version + 1`."""

    event_type: str
    from_version: int
    function: Callable[[Record], Record]

    @property
    def to_version(self) -> int:
        return self.from_version + 1


class Upcasters:
    """The registered upcasters, at most one per (event type, from_version)."""

    def __init__(self, upcasters: Iterable[Upcaster] = ()) -> None:
        self._by_key: dict[tuple[str, int], Upcaster] = {}
        for upcaster in upcasters:
            key = (upcaster.event_type, upcaster.from_version)
            if key in self._by_key:
                raise ValueError(f"two upcasters for {key[0]} v{key[1]}")
            self._by_key[key] = upcaster
        self._boundaries: dict[tuple[str, int, int], list[int]] = {}

    @classmethod
    def discover(cls, event_classes: Iterable[type]) -> Upcasters:
        """Collect `UPCASTERS` from the `upcasters` module beside each event class's module."""
        packages = {c.__module__.rpartition(".")[0] for c in event_classes}
        found: list[Upcaster] = []
        for package in sorted(p for p in packages if p):
            module_name = f"{package}.upcasters"
            if importlib.util.find_spec(module_name) is not None:
                found += importlib.import_module(module_name).UPCASTERS
        return cls(found)

    def __iter__(self) -> Iterator[Upcaster]:
        return iter(self._by_key.values())

    def covers(self, event_type: str, from_version: int) -> bool:
        """Whether an upcaster takes `event_type` from `from_version` to the next version."""
        return (event_type, from_version) in self._by_key

    def boundaries(self, event_type: str, start: int, stop: int) -> list[int]:
        """The versions in [start, stop) that leave through an upcaster, in order."""
        span = (event_type, start, stop)
        if span not in self._boundaries:  # asked for every event read: computed once per span
            self._boundaries[span] = sorted(
                v for t, v in self._by_key if t == event_type and start <= v < stop
            )
        return self._boundaries[span]

    def upcast(self, event_type: str, from_version: int, record: Record) -> Record:
        """Apply the one upcaster registered for this step."""
        try:
            upcaster = self._by_key[(event_type, from_version)]
        except KeyError:
            raise UpcastError(f"{event_type}: no upcaster from v{from_version}") from None
        try:
            return upcaster.function(dict(record))
        except Exception as error:  # an upcaster bug must surface as a clean decode failure
            raise UpcastError(
                f"{event_type}: upcaster v{from_version} -> v{upcaster.to_version} failed: "
                f"{error.__class__.__name__}: {error}"
            ) from error


def read_as_latest(
    body: bytes, writer: EventSchema, schemas: SchemaRepository, upcasters: Upcasters
) -> Record:
    """Decode an Avro body written with `writer` as the newest version of its event type.

    A writer schema that `schemas` lacks (from a registry, by a newer producer) is read by
    Avro resolution alone: upcasters only know local versions.
    """
    event_type = writer.event_type
    latest = schemas.latest(event_type)
    if writer.fingerprint == latest.fingerprint:
        return _resolve(body, writer, latest)  # the common case: nothing to bring up
    if schemas.find_fingerprint(writer.fingerprint) is None:
        return _resolve(body, writer, latest)
    source = writer
    for boundary in upcasters.boundaries(event_type, writer.version, latest.version):
        before = schemas.version(event_type, boundary)
        record = _resolve(body, source, before)
        source = schemas.version(event_type, boundary + 1)
        body = _encode(upcasters.upcast(event_type, boundary, record), source)
    return _resolve(body, source, latest)


# Schemas in fastavro's read-ready form, by (type, version, fingerprint). Handed a schema
# without fastavro's parse marker, `schemaless_reader` parses writer and reader again for
# every record: a third of an event's decoding time.
_READABLE: dict[tuple[str, int, bytes], Any] = {}


def _readable(schema: EventSchema) -> Any:
    key = (schema.event_type, schema.version, schema.fingerprint)
    found = _READABLE.get(key)
    if found is None:
        found = _READABLE[key] = parse_schema(schema.parsed)
    return found


def _resolve(body: bytes, writer: EventSchema, reader: EventSchema) -> Record:
    # The same schema needs no resolution: no reader schema skips fastavro's matching.
    same = writer.fingerprint == reader.fingerprint
    try:
        record = schemaless_reader(
            io.BytesIO(body), _readable(writer), None if same else _readable(reader)
        )
    except SchemaResolutionError as error:
        raise UpcastError(
            f"{writer.event_type}: cannot read v{writer.version} as v{reader.version} "
            f"({error}); a change Avro cannot resolve needs an upcaster"
        ) from error
    except Exception as error:  # fastavro raises assorted errors on bodies it can't read
        raise UpcastError(
            f"{writer.event_type}: corrupt Avro body (v{writer.version}): "
            f"{error.__class__.__name__}: {error}"
        ) from error
    if not isinstance(record, dict):
        raise UpcastError(f"{writer.event_type}: body is not a record")
    return record


def _encode(record: Record, schema: EventSchema) -> bytes:
    buffer = io.BytesIO()
    try:
        schemaless_writer(buffer, schema.parsed, record, strict_allow_default=True)
    except Exception as error:
        raise UpcastError(
            f"{schema.event_type}: upcaster output does not match v{schema.version}: {error}"
        ) from error
    return buffer.getvalue()
