"""The order decider, given / when / then."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from contexts.sales.order import decider as order
from contexts.sales.order.commands import CancelOrder, ConfirmOrder, MarkOrderShipped, PlaceOrder
from contexts.sales.order.events import (
    OrderCancelled,
    OrderConfirmed,
    OrderItem,
    OrderPlaced,
    OrderShipped,
)
from tests.unit.decider_spec import Decider, spec

given = spec(Decider(order.INITIAL, order.evolve, order.decide))

AT = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)
BEANS = OrderItem(sku="SKU-1", name="Espresso beans", quantity=2, unit_price_cents=1250)
MUG = OrderItem(sku="SKU-2", name="Mug", quantity=1, unit_price_cents=800)
PLACE = PlaceOrder(order_id="o-1", customer_id="c-1", items=(BEANS, MUG), at=AT)
PLACED = OrderPlaced("o-1", "c-1", (BEANS, MUG), 3300, AT)
CONFIRMED = OrderConfirmed("o-1", AT, (BEANS, MUG))  # what was confirmed
CANCELLED = OrderCancelled("o-1", "changed my mind", AT)
SHIPPED = OrderShipped("o-1", AT)
CONFIRM = ConfirmOrder("o-1", AT)
CANCEL = CancelOrder("o-1", "changed my mind", AT)
SHIP = MarkOrderShipped("o-1", AT)


def test_placing_a_new_order_totals_its_items() -> None:
    given([]).when(PLACE).then([PLACED])


def test_placing_the_same_order_again_changes_nothing() -> None:
    given([PLACED]).when(PLACE).then([])


def test_a_different_order_under_a_taken_id_is_refused() -> None:
    other = PlaceOrder(order_id="o-1", customer_id="c-2", items=(MUG,), at=AT)
    given([PLACED]).when(other).raises(order.OrderAlreadyPlaced, match="o-1")


def test_an_order_needs_items() -> None:
    given([]).when(PlaceOrder("o-1", "c-1", (), AT)).raises(order.InvalidOrder, match="item")


@pytest.mark.parametrize("bad", [OrderItem("S", "N", 0, 1), OrderItem("S", "N", 1, -1)])
def test_quantities_are_positive_and_prices_not_negative(bad: OrderItem) -> None:
    given([]).when(PlaceOrder("o-1", "c-1", (bad,), AT)).raises(order.InvalidOrder)


def test_a_placed_order_can_be_confirmed_once() -> None:
    given([PLACED]).when(CONFIRM).then([CONFIRMED])
    given([PLACED, CONFIRMED]).when(CONFIRM).then([])


def test_a_v1_confirmation_without_items_still_confirms() -> None:
    given([PLACED, OrderConfirmed("o-1", AT)]).when(CONFIRM).then([])
    given([PLACED, OrderConfirmed("o-1", AT)]).when(SHIP).then([SHIPPED])


def test_placed_or_confirmed_orders_can_be_cancelled_once() -> None:
    given([PLACED]).when(CANCEL).then([CANCELLED])
    given([PLACED, CONFIRMED]).when(CANCEL).then([CANCELLED])
    given([PLACED, CANCELLED]).when(CANCEL).then([])


def test_only_confirmed_orders_ship_and_only_once() -> None:
    given([PLACED, CONFIRMED]).when(SHIP).then([SHIPPED])
    given([PLACED, CONFIRMED, SHIPPED]).when(SHIP).then([])
    given([PLACED]).when(SHIP).raises(order.OrderTransitionForbidden, match="placed")


def test_shipped_orders_cannot_be_cancelled_and_cancelled_ones_not_confirmed() -> None:
    given([PLACED, CONFIRMED, SHIPPED]).when(CANCEL).raises(order.OrderTransitionForbidden)
    given([PLACED, CANCELLED]).when(CONFIRM).raises(order.OrderTransitionForbidden)


@pytest.mark.parametrize("command", [CONFIRM, CANCEL, SHIP], ids=lambda c: type(c).__name__)
def test_commands_on_a_missing_order_are_refused(command: object) -> None:
    given([]).when(command).raises(order.OrderNotFound, match="o-1")


def test_evolve_ignores_unknown_events() -> None:
    assert order.evolve(order.INITIAL, object()) == order.INITIAL
