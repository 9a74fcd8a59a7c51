"""Turns Kafka messages into what sinks apply: events (routed on `ce_type`, Avro-decoded,
mapped to dataclasses) and state records (UTF-8 key, JSON-object value), by topic.

The projector asks a `Decoder`; `decoder_for` builds the one a projection needs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Protocol

from confluent_kafka import Message

from eventstore.codec import DecodeError, EventCodec
from eventstore.envelope import Envelope, EnvelopeError, header_value
from eventstore.mapper import EventMapper, converter
from eventstore.position import Position
from projections.model import Projected, ProjectedEvent, ProjectedState, RawRecord


class UndecodableEvent(Exception):
    """A message routed to this projection whose envelope or body can't be read."""


class Decoder(Protocol):
    """Decodes the records a projection consumes; failures raise UndecodableEvent."""

    def handles(self, message: Message) -> bool:
        """Whether to decode the message at all (others are skipped, never dead-lettered)."""

    def decode(self, message: Message) -> Projected:
        """The decoded record, or UndecodableEvent saying why not."""

    def decode_raw(self, raw: RawRecord, position: Position) -> Projected:
        """Decode stored bytes (a dead letter's) as if they had just been consumed."""

    def raw(self, message: Message) -> RawRecord:
        """The message's bytes, as kept in a dead letter."""


def raw_record(message: Message) -> RawRecord:
    return RawRecord(message.key(), message.value(), message.headers())


def position_of(message: Message) -> Position:
    topic, partition, offset = message.topic(), message.partition(), message.offset()
    assert topic is not None and partition is not None and offset is not None
    return Position(topic, partition, offset)


class EventDecoder:
    """Decodes the event types a sink handles; everything else is skipped undecoded."""

    def __init__(self, codec: EventCodec, mapper: EventMapper, handled: set[type]) -> None:
        self._codec = codec
        classes = {mapper.event_type_of_class(cls): cls for cls in handled}
        self._converters = {event_type: converter(cls) for event_type, cls in classes.items()}

    def handles(self, message: Message) -> bool:
        """Whether the message is an event type we project, read from the schema identity
        that frames its body (fingerprint or schema id): no header list, no body decoding.

        A body whose framing names no schema we know is routed on its `ce_type` header
        instead, so a broken event of ours is dead-lettered rather than skipped.
        """
        event_type = self._codec.event_type_of(message.value())
        if event_type is None:
            event_type = header_value(message.headers(), "ce_type")
        return event_type in self._converters

    def decode(self, message: Message) -> ProjectedEvent:
        """The event, or UndecodableEvent saying why not."""
        return self.decode_raw(self.raw(message), position_of(message))

    @staticmethod
    def raw(message: Message) -> RawRecord:
        """The message's bytes, as kept in a dead letter."""
        return raw_record(message)

    def decode_raw(self, raw: RawRecord, position: Position) -> ProjectedEvent:
        """Decode stored bytes (a dead letter's) as if they had just been consumed."""
        try:
            envelope = Envelope.from_headers(raw.headers)
            event_type, record = self._codec.decode(raw.value or b"")
            event = self._converters[event_type](record)
        except (DecodeError, EnvelopeError) as error:
            raise UndecodableEvent(str(error)) from error
        except KeyError as error:
            raise UndecodableEvent(f"{error} is not an event this projection handles") from None
        except (TypeError, ValueError) as error:
            raise UndecodableEvent(f"record does not fit {event_type}: {error}") from error
        return ProjectedEvent(event, envelope, position, raw)


class StateDecoder:
    """Decodes state records: key = UTF-8 text, value = a JSON object or None (tombstone).

    `topics` maps each consumed (namespaced) state topic to its StateTable's logical topic.
    """

    def __init__(self, topics: Mapping[str, str]) -> None:
        self._topics = dict(topics)

    def reads(self, topic: str | None) -> bool:
        return topic in self._topics

    def handles(self, message: Message) -> bool:
        return self.reads(message.topic())

    def decode(self, message: Message) -> ProjectedState:
        return self.decode_raw(self.raw(message), position_of(message))

    @staticmethod
    def raw(message: Message) -> RawRecord:
        return raw_record(message)

    def decode_raw(self, raw: RawRecord, position: Position) -> ProjectedState:
        state = self._topics.get(position.topic)
        if state is None:
            raise UndecodableEvent(f"{position.topic} is not a state topic of this projection")
        try:
            key = (raw.key or b"").decode("utf-8")
        except UnicodeDecodeError as error:
            raise UndecodableEvent(f"state key is not UTF-8: {error}") from None
        if raw.value is None:
            return ProjectedState(state, key, None, position, raw)
        try:
            value = json.loads(raw.value)
        except ValueError as error:  # JSONDecodeError and UnicodeDecodeError
            raise UndecodableEvent(f"state value is not JSON: {error}") from None
        if not isinstance(value, dict):
            raise UndecodableEvent(f"state value is a JSON {type(value).__name__}, not an object")
        return ProjectedState(state, key, value, position, raw)


class TopicDecoder:
    """State topics to the state decoder, every other topic to the event decoder."""

    def __init__(self, events: EventDecoder, states: StateDecoder) -> None:
        self._events = events
        self._states = states

    def handles(self, message: Message) -> bool:
        return self._states.handles(message) or self._events.handles(message)

    def decode(self, message: Message) -> Projected:
        return self.decode_raw(self.raw(message), position_of(message))

    @staticmethod
    def raw(message: Message) -> RawRecord:
        return raw_record(message)

    def decode_raw(self, raw: RawRecord, position: Position) -> Projected:
        if self._states.reads(position.topic):
            return self._states.decode_raw(raw, position)
        return self._events.decode_raw(raw, position)


def decoder_for(
    codec: EventCodec,
    mapper: EventMapper,
    handled: set[type],
    state_topics: Mapping[str, str] | None = None,
) -> Decoder:
    """The decoder of a projection: its event types, plus its state topics if it has any
    (namespaced topic -> the StateTable's logical topic)."""
    events = EventDecoder(codec, mapper, handled)
    if not state_topics:
        return events
    return TopicDecoder(events, StateDecoder(state_topics))
