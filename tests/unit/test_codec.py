"""Avro single-object encoding against the schemas in `schemas/`."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from contexts.sales.order.events import EVENT_CLASSES, OrderItem, OrderPlaced
from eventstore.codec import SINGLE_OBJECT_MARKER, DecodeError, SingleObjectCodec
from eventstore.mapper import EventMapper
from eventstore.schemas import SchemaError, SchemaRepository, load_schema_file
from skald.settings import REPO_ROOT

PLACED = OrderPlaced(
    order_id="o-1",
    customer_id="c-1",
    items=(OrderItem("SKU-1", "Beans", 2, 1250),),
    total_cents=2500,
    placed_at=datetime(2026, 11, 27, 9, 30, 1, 250_000, tzinfo=UTC),
)


@pytest.fixture(scope="module")
def schemas() -> SchemaRepository:
    return SchemaRepository.from_directory(REPO_ROOT / "schemas")


@pytest.fixture(scope="module")
def codec(schemas: SchemaRepository) -> SingleObjectCodec:
    return SingleObjectCodec(schemas)


def test_an_event_survives_encode_and_decode(codec: SingleObjectCodec) -> None:
    mapper = EventMapper(EVENT_CLASSES)
    encoded = codec.encode(OrderPlaced.EVENT_TYPE, mapper.to_record(PLACED))
    event_type, record = codec.decode(encoded.payload)
    assert mapper.from_record(event_type, record) == PLACED
    assert encoded.schema_version == 1


def test_the_frame_is_marker_then_crc64_fingerprint(
    codec: SingleObjectCodec, schemas: SchemaRepository
) -> None:
    payload = codec.encode(OrderPlaced.EVENT_TYPE, EventMapper(EVENT_CLASSES).to_record(PLACED))
    assert payload.payload[:2] == SINGLE_OBJECT_MARKER
    assert payload.payload[2:10] == schemas.latest(OrderPlaced.EVENT_TYPE).fingerprint


def test_a_record_that_breaks_its_schema_is_refused(codec: SingleObjectCodec) -> None:
    with pytest.raises(SchemaError, match="OrderPlaced"):
        codec.encode(OrderPlaced.EVENT_TYPE, {"order_id": "o-1"})


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"", "bad marker"),
        (b'{"json": true}', "bad marker"),
        (SINGLE_OBJECT_MARKER + b"\x00" * 8 + b"\x02", "unknown schema fingerprint"),
    ],
)
def test_undecodable_bytes_raise_decode_error(
    codec: SingleObjectCodec, payload: bytes, reason: str
) -> None:
    with pytest.raises(DecodeError, match=reason):
        codec.decode(payload)


def test_a_truncated_body_raises_decode_error(codec: SingleObjectCodec) -> None:
    payload = codec.encode(OrderPlaced.EVENT_TYPE, EventMapper(EVENT_CLASSES).to_record(PLACED))
    with pytest.raises(DecodeError, match="corrupt"):
        codec.decode(payload.payload[:14])


def test_schema_file_name_must_match_the_record(tmp_path: Path) -> None:
    path = tmp_path / "OrderShipped.v1.avsc"
    path.write_text(json.dumps({"type": "record", "name": "Other", "fields": []}))
    with pytest.raises(SchemaError, match="declares record 'Other'"):
        load_schema_file(path)


def test_commands_and_states_survive_a_json_round_trip() -> None:
    import json as json_module

    from contexts.inventory.stock.commands import COMMAND_CLASSES, ReserveStock
    from contexts.inventory.stock.decider import Stock
    from contexts.sales.order.decider import Order, OrderStatus

    mapper = EventMapper(COMMAND_CLASSES)
    command = ReserveStock("SKU-1", "o-1", 3, datetime(2026, 11, 27, 9, tzinfo=UTC))
    record = json_module.loads(json_module.dumps(mapper.to_record(command), default=str))
    assert mapper.from_record("inventory.stock.ReserveStock", record) == command
    stock = Stock(on_hand=5, reservations={"o-1": 3})
    mapper.register(Stock, "state.stock")
    assert mapper.from_record("state.stock", mapper.to_record(stock)) == stock
    order = Order(OrderStatus.PLACED, "c-1", PLACED.items, 2500)
    mapper.register(Order, "state.order")
    assert mapper.from_record("state.order", mapper.to_record(order)) == order
