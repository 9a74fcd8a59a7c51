"""Which records a projection decodes: routed on the body's schema identity, not headers."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from confluent_kafka import Message

from contexts.sales.order.events import EVENT_CLASSES, OrderConfirmed, OrderItem, OrderPlaced
from eventstore.codec import SINGLE_OBJECT_MARKER, SingleObjectCodec
from eventstore.envelope import Envelope
from eventstore.mapper import EventMapper
from eventstore.schemas import SchemaRepository
from projections.decoding import EventDecoder, UndecodableEvent
from skald.settings import REPO_ROOT

AT = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)
PLACED = OrderPlaced("o-1", "c-1", (OrderItem("SKU-1", "Beans", 2, 1250),), 2500, AT)
CONFIRMED = OrderConfirmed("o-1", AT)
CODEC = SingleObjectCodec(SchemaRepository.from_directory(REPO_ROOT / "schemas"))
MAPPER = EventMapper(EVENT_CLASSES)
DECODER = EventDecoder(CODEC, MAPPER, {OrderPlaced})  # projects placements only


def message(event: object, version: int = 1, value: bytes | None = None) -> Message:
    event_type = MAPPER.event_type(event)
    encoded = CODEC.encode(event_type, MAPPER.to_record(event))
    envelope = Envelope("e", event_type, "t", AT, "order", "o-1", version, 2, "c", "c")
    return Message(
        topic="ns.sales.order.events",
        partition=0,
        offset=7,
        key=b"o-1",
        value=encoded.payload if value is None else value,
        headers=envelope.to_headers(),
    )


def test_a_handled_type_is_routed_by_its_fingerprint_and_decoded() -> None:
    placed = message(PLACED)
    assert DECODER.handles(placed)
    decoded = DECODER.decode(placed)
    assert (decoded.event, decoded.envelope.aggregate_version) == (PLACED, 1)
    assert decoded.position.offset == 7


def test_another_type_is_skipped_whatever_its_headers_claim() -> None:
    confirmed = message(CONFIRMED, 2)
    lying = Message(value=confirmed.value(), headers=message(PLACED).headers())
    assert not DECODER.handles(confirmed)
    assert not DECODER.handles(lying)


@pytest.mark.parametrize("body", [b"", b"garbage", SINGLE_OBJECT_MARKER + bytes(8) + b"x"])
def test_a_body_of_no_known_schema_falls_back_to_ce_type_and_is_undecodable(body: bytes) -> None:
    broken = message(PLACED, value=body)
    assert DECODER.handles(broken)  # dead-lettered, never skipped in silence
    with pytest.raises(UndecodableEvent):
        DECODER.decode(broken)
    assert not DECODER.handles(message(CONFIRMED, value=body))
