"""State records decode without Kafka: key text, JSON-object values, tombstones."""

from __future__ import annotations

import pytest

from eventstore.position import Position
from projections.decoding import StateDecoder, UndecodableEvent
from projections.model import RawRecord
from projections.postgres.storage import MAX_IDENTIFIER, generation_schema

AT = Position("ns.stock.state", 0, 7)
decoder = StateDecoder({"ns.stock.state": "stock.state"})


def test_a_json_object_decodes_with_its_logical_state_and_key() -> None:
    state = decoder.decode_raw(RawRecord(b"w1|a", b'{"on_hand": 3}', None), AT)
    assert (state.state, state.key, state.value, state.position) == (
        "stock.state",
        "w1|a",
        {"on_hand": 3},
        AT,
    )


def test_a_tombstone_has_no_value() -> None:
    assert decoder.decode_raw(RawRecord(b"w1|a", None, None), AT).value is None


@pytest.mark.parametrize("value", [b"[1, 2]", b"3", b"not json", b"\xff\xfe"])
def test_anything_but_a_json_object_is_undecodable(value: bytes) -> None:
    with pytest.raises(UndecodableEvent):
        decoder.decode_raw(RawRecord(b"k", value, None), AT)


def test_generation_schemas_fit_postgres_identifiers_and_stay_distinct() -> None:
    long = generation_schema("n" * 60, "sales.order-history", 12)
    assert len(long.encode()) <= MAX_IDENTIFIER and long.endswith("_g12")
    assert generation_schema("t1", "a.b", 1) != generation_schema("t1", "a_b", 1)
    assert generation_schema("t1", "sales.orders", 2).startswith("t1_sales_orders_")
