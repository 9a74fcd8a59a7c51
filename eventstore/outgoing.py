"""Turns a domain event into the Kafka record that stores it: key, Avro value, headers."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from eventstore.codec import EventCodec
from eventstore.envelope import Envelope, Headers
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


class EventRecordFactory:
    """Maps, encodes and envelopes events; the one place that knows all three stages."""

    def __init__(self, codec: EventCodec, mapper: EventMapper, source: str) -> None:
        self._codec = codec
        self._mapper = mapper
        self._source = source

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
            event_id=str(uuid.uuid4()),
            event_type=event_type,
            source=self._source,
            time=datetime.now(UTC),
            aggregate_type=stream.aggregate_type,
            aggregate_id=stream.aggregate_id,
            aggregate_version=version,
            schema_version=encoded.schema_version,
            correlation_id=correlation_id,
            causation_id=causation_id,
            traceparent=traceparent,
        )
        return OutgoingEvent(
            stream.aggregate_id.encode(), encoded.payload, envelope.to_headers(), envelope
        )
