"""Turns Kafka messages into ProjectedEvents: route on `ce_type`, decode, map to dataclasses.

Mapping uses the mapper's converter, compiled once per event class.
"""

from __future__ import annotations

from confluent_kafka import Message

from eventstore.codec import DecodeError, EventCodec
from eventstore.envelope import Envelope, EnvelopeError
from eventstore.mapper import EventMapper, converter
from eventstore.position import Position
from projections.model import ProjectedEvent, RawRecord


class UndecodableEvent(Exception):
    """A message routed to this projection whose envelope or body can't be read."""


class EventDecoder:
    """Decodes the event types a sink handles; everything else is skipped by header."""

    def __init__(self, codec: EventCodec, mapper: EventMapper, handled: set[type]) -> None:
        self._codec = codec
        self._classes = {mapper.event_type_of_class(cls): cls for cls in handled}

    def handles(self, message: Message) -> bool:
        """Whether the message's `ce_type` is one we project (no body decoding)."""
        for name, value in message.headers() or []:  # type: ignore[str-unpack]
            if name == "ce_type":
                text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
                return text in self._classes
        return False

    def decode(self, message: Message) -> ProjectedEvent:
        """The event, or UndecodableEvent saying why not."""
        topic, partition, offset = message.topic(), message.partition(), message.offset()
        assert topic is not None and partition is not None and offset is not None
        return self.decode_raw(self.raw(message), Position(topic, partition, offset))

    @staticmethod
    def raw(message: Message) -> RawRecord:
        """The message's bytes, as kept in a dead letter."""
        return RawRecord(message.key(), message.value(), message.headers())

    def decode_raw(self, raw: RawRecord, position: Position) -> ProjectedEvent:
        """Decode stored bytes (a dead letter's) as if they had just been consumed."""
        try:
            envelope = Envelope.from_headers(raw.headers)
            event_type, record = self._codec.decode(raw.value or b"")
            cls = self._classes[event_type]
            event = converter(cls)(record)
        except (DecodeError, EnvelopeError) as error:
            raise UndecodableEvent(str(error)) from error
        except KeyError as error:
            raise UndecodableEvent(f"{error} is not an event this projection handles") from None
        except (TypeError, ValueError) as error:
            raise UndecodableEvent(f"record does not fit {event_type}: {error}") from error
        return ProjectedEvent(event, envelope, position, raw)
