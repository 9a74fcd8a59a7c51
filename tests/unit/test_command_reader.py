"""Any bytes on a command topic read as a typed command or `MalformedMessage`, nothing else."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contexts.inventory.aggregates import STOCK
from contexts.inventory.stock.commands import Restock
from contexts.sales.aggregates import ORDER
from contexts.sales.order.commands import PlaceOrder
from contexts.sales.order.events import OrderItem
from eventstore.mapper import EventMapper, to_plain
from producers.command_reader import CommandReader, reader_for
from producers.messages import CommandMessage, MalformedMessage
from skald.registry import CONTEXTS

MAPPER = EventMapper(cls for c in CONTEXTS for cls in (*c.event_classes, *c.command_classes))
STOCK_READER = CommandReader(STOCK, MAPPER)
ORDER_READER = CommandReader(ORDER, MAPPER)
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _record(command: object, key: str | None = None) -> tuple[bytes, bytes, list[Any]]:
    aggregate = STOCK if isinstance(command, Restock) else ORDER
    message = CommandMessage(
        command_type=MAPPER.event_type(command),
        aggregate_id=key or aggregate.aggregate_id(command),
        payload=MAPPER.to_record(command),
        correlation_id="c-1",
        reply_to="replies",
    )
    return message.aggregate_id.encode(), message.value(), message.headers()


def _with_payload(payload: Any, key: bytes = b"SKU-1") -> tuple[bytes, bytes, list[Any]]:
    _, _, headers = _record(Restock("SKU-1", 1, NOW))
    return key, json.dumps(payload).encode(), headers


def test_a_good_command_reads_back_equal() -> None:
    order = PlaceOrder("o-1", "cust-1", (OrderItem("S-1", "Beans ☕😀", 2, 1250),), NOW, None)
    message, command = ORDER_READER.read(*_record(order))
    assert command == order
    assert message.aggregate_id == "o-1"


GOOD = {"sku": "SKU-1", "quantity": 3, "at": "2026-01-01T00:00:00+00:00"}

BAD_PAYLOADS = {
    "quantity as a string": {**GOOD, "quantity": "3"},
    "quantity as a bool": {**GOOD, "quantity": True},
    "quantity as a float": {**GOOD, "quantity": 1.5},
    "missing field": {"sku": "SKU-1", "at": GOOD["at"]},
    "unknown field": {**GOOD, "coupon": "FREE"},
    "time not a time": {**GOOD, "at": "yesterday"},
    "NUL in a string": {**GOOD, "sku": "SKU-1\x00"},
    "names another aggregate": {**GOOD, "sku": "SKU-2"},
    "not an object": [1, 2, 3],
}


@pytest.mark.parametrize("payload", BAD_PAYLOADS.values(), ids=BAD_PAYLOADS.keys())
def test_a_wrong_payload_is_malformed(payload: Any) -> None:
    with pytest.raises(MalformedMessage):
        STOCK_READER.read(*_with_payload(payload))


def test_truncated_json_an_unknown_type_and_a_bad_reply_topic_are_malformed() -> None:
    key, value, headers = _record(Restock("SKU-1", 1, NOW))
    with pytest.raises(MalformedMessage, match=r"command c-1: "):
        STOCK_READER.read(key, value[: len(value) // 2], headers)
    unknown = [
        (k, b"inventory.stock.Steal" if k == "skald_command_type" else v) for k, v in headers
    ]
    with pytest.raises(MalformedMessage, match="not a stock command"):
        STOCK_READER.read(key, value, unknown)
    odd_reply = [(k, b"no such topic!" if k == "skald_reply_to" else v) for k, v in headers]
    with pytest.raises(MalformedMessage, match="not a topic name"):
        STOCK_READER.read(key, value, odd_reply)
    with pytest.raises(MalformedMessage):
        STOCK_READER.read(b"\xff\xfe", value, headers)  # a key that is not UTF-8
    with pytest.raises(MalformedMessage):
        STOCK_READER.read(key, b"[" * 100_000, headers)  # nesting past any recursion limit
    with pytest.raises(MalformedMessage, match="over the record limit"):
        STOCK_READER.read(key, b" " * 1_000_001, headers)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=20,
)
header_names = st.sampled_from(
    ["skald_command_type", "skald_correlation_id", "skald_reply_to", "skald_expected_version"]
)


@settings(max_examples=300, deadline=None)
@given(
    key=st.none() | st.binary(max_size=80),
    value=st.none() | st.binary(max_size=300),
    headers=st.lists(st.tuples(header_names, st.none() | st.binary(max_size=40)), max_size=6),
)
def test_random_bytes_never_raise_anything_but_malformed(
    key: bytes | None, value: bytes | None, headers: list[tuple[str, bytes | None]]
) -> None:
    with contextlib.suppress(MalformedMessage):  # anything else fails the test
        STOCK_READER.read(key, value, headers)


@settings(max_examples=300, deadline=None)
@given(payload=st.dictionaries(st.sampled_from(["sku", "quantity", "at", "x"]), json_values))
def test_random_json_in_a_valid_envelope_reads_typed_or_malformed(payload: dict[str, Any]) -> None:
    try:
        _, command = STOCK_READER.read(*_with_payload(payload))
    except MalformedMessage:
        return
    assert isinstance(command, Restock)  # read: then every field has its declared type
    assert isinstance(command.quantity, int) and not isinstance(command.quantity, bool)
    assert isinstance(command.at, datetime) and command.sku == "SKU-1"


def test_the_reader_reads_what_the_api_and_the_saga_write() -> None:
    restock = Restock("SKU-1", 7, NOW)
    plain = json.dumps(to_plain(restock), default=str).encode()  # the saga's escaping
    _, _, headers = _record(restock)
    assert STOCK_READER.read(b"SKU-1", plain, headers)[1] == restock


def test_every_aggregate_type_gets_its_reader() -> None:
    for context in CONTEXTS:
        for aggregate in context.aggregates:
            reader = reader_for(aggregate, MAPPER)
            assert reader is reader_for(aggregate, MAPPER)  # built once
