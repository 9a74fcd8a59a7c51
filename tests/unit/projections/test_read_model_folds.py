"""The read models' pure folds and the `--from` parser, without any service."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from contexts.sales.order.events import OrderConfirmed, OrderItem, OrderPlaced, OrderShipped
from contexts.sales.read_models import order_state
from contexts.sales.read_models.orders import summary_contribution
from eventstore.envelope import Envelope
from eventstore.mapper import converter
from projections.positions import BadStartPosition, _explicit

AT = datetime(2026, 1, 1, tzinfo=UTC)


def _envelope(version: int) -> Envelope:
    return Envelope("e", "x", "s", AT, "order", "o-1", version, 1, "c", "c")


def test_status_follows_the_newest_version_even_when_an_old_event_is_redriven() -> None:
    placed = OrderPlaced("o-1", "cust", (OrderItem("S", "n", 2, 5),), 10, AT)
    row = order_state.on_placed(None, placed, _envelope(1))
    shipped = order_state.on_shipped(row, OrderShipped("o-1", AT), _envelope(3))
    late = order_state.on_confirmed(shipped, OrderConfirmed("o-1", AT), _envelope(2))
    assert (late["status"], late["version"], late["confirmed_at"]) == ("shipped", 3, AT)
    assert summary_contribution(late) == ("cust", {"orders": 1, "shipped": 1, "total_cents": 10})


def test_a_later_event_without_its_order_is_refused() -> None:
    with pytest.raises(order_state.OrderNotPlaced):
        order_state.on_confirmed(None, OrderConfirmed("o-1", AT), _envelope(2))


def test_the_compiled_converter_rebuilds_nested_dataclasses() -> None:
    record = {
        "order_id": "o",
        "customer_id": "c",
        "items": [{"sku": "S", "name": "n", "quantity": 1, "unit_price_cents": 2}],
        "total_cents": 2,
        "placed_at": AT,
    }
    event = converter(OrderPlaced)(record)
    assert event.items == (OrderItem("S", "n", 1, 2),)


def test_explicit_start_positions() -> None:
    marks = {("t", 0): (0, 100), ("t", 1): (10, 100)}
    assert _explicit("1:40", ["t"], marks) == {("t", 1): 40}
    assert _explicit("1:3", ["t"], marks) == {("t", 1): 10}  # below the first retained
    with pytest.raises(BadStartPosition, match="ends at offset 100"):
        _explicit("0:101", ["t"], marks)
    with pytest.raises(BadStartPosition):
        _explicit("5:1", ["t"], marks)
    with pytest.raises(BadStartPosition):
        _explicit("x", ["t"], marks)
