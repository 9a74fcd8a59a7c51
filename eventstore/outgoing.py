"""Turns a domain event into the Kafka record that stores it: key, Avro value, headers."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from eventstore.codec import EventCodec
from eventstore.envelope import Envelope, Headers, HeaderTemplate
from eventstore.mapper import EventMapper


@dataclass(frozen=True, slots=True)
class Stream:
    """Where an aggregate's events live: its topic and its key."""

    topic: str
    aggregate_type: str
    aggregate_id: str


@dataclass(frozen=True, slots=True)
class OutgoingEvent:
    """An event ready to produce."""

    key: bytes
    value: bytes
    headers: Headers
    envelope: Envelope


# Version 4 (random) and the RFC 4122 variant, set in a 128-bit integer.
_V4_CLEAR = ~(0xF000 << 64 | 0xC000 << 48)
_V4_SET = 0x4000 << 64 | 0x8000 << 48


def random_event_id() -> str:
    """A random (version 4) UUID as text: `str(uuid.uuid4())` in half its time."""
    number = int.from_bytes(os.urandom(16)) & _V4_CLEAR | _V4_SET
    text = f"{number:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def utc_now() -> datetime:
    return datetime.now(UTC)


class EventRecordFactory:
    """Maps, encodes and envelopes events; the one place that knows all three stages."""

    def __init__(
        self,
        codec: EventCodec,
        mapper: EventMapper,
        source: str,
        new_id: Callable[[], str] = random_event_id,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._codec = codec
        self._mapper = mapper
        self._source = source
        self._new_id = new_id
        self._clock = clock
        # (event type, schema version, aggregate type) -> headers encoded once: bounded by
        # the number of types, however many aggregates there are.
        self._templates: dict[tuple[str, int, str], HeaderTemplate] = {}

    def build(
        self,
        stream: Stream,
        event: object,
        version: int,
        correlation_id: str,
        causation_id: str,
        traceparent: str | None = None,
    ) -> OutgoingEvent:
        """The record for `event` as version `version` of the stream."""
        event_type = self._mapper.event_type(event)
        encoded = self._codec.encode(event_type, self._mapper.to_record(event))
        envelope = Envelope(
            event_id=self._new_id(),
            event_type=event_type,
            source=self._source,
            time=self._clock(),
            aggregate_type=stream.aggregate_type,
            aggregate_id=stream.aggregate_id,
            aggregate_version=version,
            schema_version=encoded.schema_version,
            correlation_id=correlation_id,
            causation_id=causation_id,
            traceparent=traceparent,
        )
        shape = (event_type, encoded.schema_version, stream.aggregate_type)
        template = self._templates.get(shape)
        if template is None:
            template = self._templates[shape] = HeaderTemplate.of(envelope)
        return OutgoingEvent(
            stream.aggregate_id.encode(), encoded.payload, template.headers(envelope), envelope
        )
