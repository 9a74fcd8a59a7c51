"""The order decider, given / when / then."""

from __future__ import annotations

from datetime import UTC, datetime

from contexts.sales.order import decider as order
from contexts.sales.order.commands import PlaceOrder
from contexts.sales.order.events import OrderItem, OrderPlaced
from tests.unit.decider_spec import Decider, spec

given = spec(Decider(order.INITIAL, order.evolve, order.decide))

AT = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)
BEANS = OrderItem(sku="SKU-1", name="Espresso beans", quantity=2, unit_price_cents=1250)
MUG = OrderItem(sku="SKU-2", name="Mug", quantity=1, unit_price_cents=800)
PLACE = PlaceOrder(order_id="o-1", customer_id="c-1", items=(BEANS, MUG), placed_at=AT)
PLACED = OrderPlaced(
    order_id="o-1", customer_id="c-1", items=(BEANS, MUG), total_cents=3300, placed_at=AT
)


def test_placing_a_new_order_totals_its_items() -> None:
    given([]).when(PLACE).then([PLACED])


def test_placing_the_same_order_again_changes_nothing() -> None:
    given([PLACED]).when(PLACE).then([])


def test_a_different_order_under_a_taken_id_is_refused() -> None:
    other = PlaceOrder(order_id="o-1", customer_id="c-2", items=(MUG,), placed_at=AT)
    given([PLACED]).when(other).raises(order.OrderAlreadyPlaced, match="o-1")


def test_an_order_needs_items() -> None:
    empty = PlaceOrder(order_id="o-1", customer_id="c-1", items=(), placed_at=AT)
    given([]).when(empty).raises(order.InvalidOrder, match="at least one item")


def test_quantities_must_be_positive() -> None:
    zero = OrderItem(sku="SKU-1", name="Beans", quantity=0, unit_price_cents=1)
    bad = PlaceOrder(order_id="o-1", customer_id="c-1", items=(zero,), placed_at=AT)
    given([]).when(bad).raises(order.InvalidOrder)


def test_prices_must_not_be_negative() -> None:
    negative = OrderItem(sku="SKU-1", name="Beans", quantity=1, unit_price_cents=-1)
    bad = PlaceOrder(order_id="o-1", customer_id="c-1", items=(negative,), placed_at=AT)
    given([]).when(bad).raises(order.InvalidOrder)


def test_evolve_records_the_placed_order_and_counts_versions() -> None:
    state = order.evolve(order.INITIAL, PLACED)
    assert state.status is order.OrderStatus.PLACED
    assert (state.customer_id, state.total_cents, state.version) == ("c-1", 3300, 1)


def test_evolve_ignores_unknown_events() -> None:
    assert order.evolve(order.INITIAL, object()) == order.INITIAL
