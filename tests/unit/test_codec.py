"""Avro single-object encoding against the schemas in `schemas/`."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from contexts.payments.payment import events as payment_events
from contexts.payments.payment.events import PaymentDeclined
from contexts.payments.payment.upcasters import UPCASTERS
from contexts.sales.order.events import EVENT_CLASSES, OrderItem, OrderPlaced
from eventstore.codec import SINGLE_OBJECT_MARKER, DecodeError, SingleObjectCodec
from eventstore.mapper import EventMapper, converter
from eventstore.schemas import SchemaError, SchemaRepository, load_schema_file
from eventstore.upcasting import Upcaster, Upcasters
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
    return SingleObjectCodec(schemas, Upcasters(UPCASTERS))


ALL_EVENTS = EventMapper((*EVENT_CLASSES, *payment_events.EVENT_CLASSES))
V1_PLACED: dict[str, Any] = {
    "order_id": "o-1",
    "customer_id": "c-1",
    "items": [{"sku": "SKU-1", "name": "Beans", "quantity": 2, "unit_price_cents": 1250}],
    "total_cents": 2500,
    "placed_at": datetime(2026, 11, 27, 9, 30, tzinfo=UTC),
}
V1_DECLINED: dict[str, Any] = {
    "order_id": "o-9",
    "amount_cents": 4200,
    "reason": "card declined by issuer",
    "declined_at": datetime(2026, 11, 27, 10, tzinfo=UTC),
}


def test_an_event_survives_encode_and_decode(codec: SingleObjectCodec) -> None:
    mapper = EventMapper(EVENT_CLASSES)
    encoded = codec.encode(OrderPlaced.EVENT_TYPE, mapper.to_record(PLACED))
    event_type, record = codec.decode(encoded.payload)
    assert mapper.from_record(event_type, record) == PLACED
    assert encoded.schema_version == 2


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


def test_v1_order_placed_reads_as_v2_with_the_default_currency(
    codec: SingleObjectCodec, schemas: SchemaRepository
) -> None:
    written = codec.encode_as(schemas.version(OrderPlaced.EVENT_TYPE, 1), V1_PLACED)
    assert written.schema_version == 1
    event_type, record = codec.decode(written.payload)
    event = ALL_EVENTS.from_record(event_type, record)
    assert isinstance(event, OrderPlaced)
    assert event.currency == "EUR"
    assert event.items == (OrderItem("SKU-1", "Beans", 2, 1250),)


def test_v1_payment_declined_is_upcast_to_v2(
    codec: SingleObjectCodec, schemas: SchemaRepository
) -> None:
    written = codec.encode_as(schemas.version(PaymentDeclined.EVENT_TYPE, 1), V1_DECLINED)
    event = ALL_EVENTS.from_record(*codec.decode(written.payload))
    assert event == PaymentDeclined(
        "o-9", 4200, "issuer_declined", "card declined by issuer", V1_DECLINED["declined_at"]
    )


def test_an_unknown_v1_reason_keeps_its_text_under_code_unknown(
    codec: SingleObjectCodec, schemas: SchemaRepository
) -> None:
    v1 = schemas.version(PaymentDeclined.EVENT_TYPE, 1)
    written = codec.encode_as(v1, {**V1_DECLINED, "reason": "velocity limit"})
    _type, record = codec.decode(written.payload)
    assert (record["decline_code"], record["message"]) == ("unknown", "velocity limit")


def test_without_its_upcaster_a_v1_payment_declined_is_a_clean_decode_error(
    schemas: SchemaRepository,
) -> None:
    codec = SingleObjectCodec(schemas)  # no upcasters registered
    written = codec.encode_as(schemas.version(PaymentDeclined.EVENT_TYPE, 1), V1_DECLINED)
    with pytest.raises(DecodeError, match=r"cannot read v1 as v2 .* needs an upcaster"):
        codec.decode(written.payload)


def test_a_failing_upcaster_is_a_clean_decode_error(schemas: SchemaRepository) -> None:
    def broken(record: dict[str, object]) -> dict[str, object]:
        raise KeyError("reason")

    codec = SingleObjectCodec(schemas, Upcasters([Upcaster(PaymentDeclined.EVENT_TYPE, 1, broken)]))
    written = codec.encode_as(schemas.version(PaymentDeclined.EVENT_TYPE, 1), V1_DECLINED)
    with pytest.raises(DecodeError, match=r"upcaster v1 -> v2 failed: KeyError"):
        codec.decode(written.payload)


def test_an_upcaster_output_that_misses_the_schema_is_a_clean_decode_error(
    schemas: SchemaRepository,
) -> None:
    upcaster = Upcaster(PaymentDeclined.EVENT_TYPE, 1, lambda record: {"order_id": "o-9"})
    codec = SingleObjectCodec(schemas, Upcasters([upcaster]))
    written = codec.encode_as(schemas.version(PaymentDeclined.EVENT_TYPE, 1), V1_DECLINED)
    with pytest.raises(DecodeError, match=r"upcaster output does not match v2"):
        codec.decode(written.payload)


def test_the_fingerprint_names_the_event_type_without_reading_the_body(
    codec: SingleObjectCodec, schemas: SchemaRepository
) -> None:
    payload = codec.encode(OrderPlaced.EVENT_TYPE, EventMapper(EVENT_CLASSES).to_record(PLACED))
    assert codec.event_type_of(payload.payload) == OrderPlaced.EVENT_TYPE
    # Only the frame is read: a body cut off after it still names its type.
    assert codec.event_type_of(payload.payload[:10]) == OrderPlaced.EVENT_TYPE
    old = codec.encode_as(schemas.version(OrderPlaced.EVENT_TYPE, 1), V1_PLACED)
    assert codec.event_type_of(old.payload) == OrderPlaced.EVENT_TYPE


@pytest.mark.parametrize(
    "payload", [None, b"", b"junk", b"\x00\x01" + bytes(8), SINGLE_OBJECT_MARKER + bytes(8)]
)
def test_a_frame_naming_no_known_schema_names_no_type(
    codec: SingleObjectCodec, payload: bytes | None
) -> None:
    assert codec.event_type_of(payload) is None


def test_the_newest_version_reads_without_resolution_and_old_ones_still_resolve(
    codec: SingleObjectCodec, schemas: SchemaRepository
) -> None:
    mapper = EventMapper(EVENT_CLASSES)
    new = codec.encode(OrderPlaced.EVENT_TYPE, mapper.to_record(PLACED))
    old = codec.encode_as(schemas.version(OrderPlaced.EVENT_TYPE, 1), V1_PLACED)
    for _ in range(2):  # the second time from the cached, parsed schemas
        assert mapper.from_record(*codec.decode(new.payload)) == PLACED
        assert codec.decode(old.payload)[1]["currency"] == "EUR"


def test_records_with_exactly_missing_or_extra_fields_convert_alike() -> None:
    record = EventMapper(EVENT_CLASSES).to_record(PLACED)
    convert = converter(OrderPlaced)
    missing = {k: v for k, v in record.items() if k != "currency"}  # defaulted: "EUR"
    assert convert(record) == convert(missing) == convert({**record, "extra": 1}) == PLACED
    assert convert({**record, "currency": "SEK"}).currency == "SEK"
