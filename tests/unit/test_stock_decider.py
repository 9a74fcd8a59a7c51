"""The stock decider, given / when / then, plus a property over random command runs."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import reduce

from hypothesis import given as for_all
from hypothesis import strategies as st

from contexts.inventory.stock import decider as stock
from contexts.inventory.stock.commands import ReleaseStock, ReserveStock, Restock, ShipStock
from contexts.inventory.stock.events import (
    StockReleased,
    StockReserved,
    StockRestocked,
    StockShipped,
)
from tests.unit.decider_spec import Decider, spec

DECIDER = Decider(stock.INITIAL, stock.evolve, stock.decide)
given = spec(DECIDER)
AT = datetime(2026, 11, 27, tzinfo=UTC)
TEN = StockRestocked("SKU-1", 10, AT)


def test_restocking_adds_units() -> None:
    given([]).when(Restock("SKU-1", 10, AT)).then([TEN])
    given([]).when(Restock("SKU-1", 0, AT)).raises(stock.InvalidQuantity)


def test_reserving_takes_from_what_is_available() -> None:
    given([TEN]).when(ReserveStock("SKU-1", "o-1", 4, AT)).then(
        [StockReserved("SKU-1", "o-1", 4, AT)]
    )
    held = StockReserved("SKU-1", "o-1", 8, AT)
    given([TEN, held]).when(ReserveStock("SKU-1", "o-2", 3, AT)).raises(
        stock.InsufficientStock, match="3 requested, 2 available"
    )


def test_a_repeated_reservation_changes_nothing_but_a_different_one_is_refused() -> None:
    held = StockReserved("SKU-1", "o-1", 4, AT)
    given([TEN, held]).when(ReserveStock("SKU-1", "o-1", 4, AT)).then([])
    given([TEN, held]).when(ReserveStock("SKU-1", "o-1", 5, AT)).raises(stock.ReservationMismatch)


def test_releasing_gives_the_reservation_back_once() -> None:
    held = StockReserved("SKU-1", "o-1", 4, AT)
    released = StockReleased("SKU-1", "o-1", 4, AT)
    given([TEN, held]).when(ReleaseStock("SKU-1", "o-1", AT)).then([released])
    given([TEN, held, released]).when(ReleaseStock("SKU-1", "o-1", AT)).then([])


commands = st.lists(
    st.one_of(
        st.builds(Restock, st.just("S"), st.integers(1, 5), st.just(AT)),
        st.builds(
            ReserveStock, st.just("S"), st.sampled_from("abc"), st.integers(1, 5), st.just(AT)
        ),
        st.builds(ReleaseStock, st.just("S"), st.sampled_from("abc"), st.just(AT)),
    ),
    max_size=40,
)


@for_all(commands)
def test_available_stock_never_goes_negative(run: list[object]) -> None:
    def step(state: stock.Stock, command: object) -> stock.Stock:
        try:
            events = stock.decide(state, command)  # type: ignore[arg-type]
        except stock.StockError:
            return state
        return reduce(stock.evolve, events, state)

    final = reduce(step, run, stock.INITIAL)
    assert final.available >= 0
    assert final.on_hand == sum(c.quantity for c in run if isinstance(c, Restock))


def test_shipping_consumes_the_reservation_and_the_units_once() -> None:
    held = StockReserved("SKU-1", "o-1", 4, AT)
    shipped = StockShipped("SKU-1", "o-1", 4, AT)
    given([TEN, held]).when(ShipStock("SKU-1", "o-1", AT)).then([shipped])
    given([TEN, held, shipped]).when(ShipStock("SKU-1", "o-1", AT)).then([])  # a repeat
    given([TEN]).when(ShipStock("SKU-1", "o-9", AT)).then([])  # nothing reserved, nothing moves
    after = reduce(stock.evolve, [TEN, held, shipped], stock.INITIAL)
    assert after.on_hand == 6 and after.available == 6 and dict(after.reservations) == {}


def test_state_holds_only_open_reservations_however_many_orders_it_served() -> None:
    events: list[object] = [StockRestocked("SKU-1", 1_000_000, AT)]
    for n in range(10_000):
        events.append(StockReserved("SKU-1", f"o-{n}", 1, AT))
        events.append(
            StockShipped("SKU-1", f"o-{n}", 1, AT)
            if n % 2
            else StockReleased("SKU-1", f"o-{n}", 1, AT)
        )
    events.append(StockReserved("SKU-1", "open", 2, AT))
    state = reduce(stock.evolve, events, stock.INITIAL)
    assert dict(state.reservations) == {"open": 2}
    assert state.on_hand == 1_000_000 - 5_000 and state.available == 1_000_000 - 5_002
