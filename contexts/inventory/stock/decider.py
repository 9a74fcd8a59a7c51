"""The stock decider: units on hand, reservations per order. Pure.

The state holds only open reservations: shipping consumes one (on hand shrinks with it) and a
release gives one back, so a SKU's state stays the size of its open orders however many it
has served (its snapshot is rewritten every batch).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from contexts.inventory.stock.commands import (
    ReleaseStock,
    ReserveStock,
    Restock,
    ShipStock,
    StockCommand,
)
from contexts.inventory.stock.events import (
    StockEvent,
    StockReleased,
    StockReserved,
    StockRestocked,
    StockShipped,
)


@dataclass(frozen=True, slots=True)
class Stock:
    """Units in the warehouse and the open reservations (order id -> units)."""

    on_hand: int = 0
    reservations: Mapping[str, int] = field(default_factory=dict)

    @property
    def available(self) -> int:
        """Units that can still be reserved."""
        return self.on_hand - sum(self.reservations.values())


INITIAL = Stock()


class StockError(Exception):
    """A command the stock's current state forbids."""


class InsufficientStock(StockError):
    """Fewer units available than asked for."""


class InvalidQuantity(StockError):
    """Quantities are positive whole units."""


class ReservationMismatch(StockError):
    """The order already holds a reservation of a different size."""


def evolve(state: Stock, event: object) -> Stock:
    """The state after one more event; unknown events leave it unchanged."""
    match event:
        case StockRestocked(quantity=quantity):
            return replace(state, on_hand=state.on_hand + quantity)
        case StockReserved(order_id=order_id, quantity=quantity):
            return replace(state, reservations={**state.reservations, order_id: quantity})
        case StockReleased(order_id=order_id):
            return replace(state, reservations=_without(state.reservations, order_id))
        case StockShipped(order_id=order_id, quantity=quantity):
            reservations = _without(state.reservations, order_id)
            return replace(state, on_hand=state.on_hand - quantity, reservations=reservations)
        case _:
            return state


def decide(state: Stock, command: StockCommand) -> list[StockEvent]:
    """The events a command produces in a state, or a domain error."""
    match command:
        case Restock(sku=sku, quantity=quantity, at=at):
            _positive(quantity)
            return [StockRestocked(sku, quantity, at)]
        case ReserveStock(sku=sku, order_id=order_id, quantity=quantity, at=at):
            _positive(quantity)
            held = state.reservations.get(order_id)
            if held == quantity:
                return []  # already reserved: a repeated request changes nothing
            if held is not None:
                raise ReservationMismatch(f"order {order_id} already holds {held} of {sku}")
            if quantity > state.available:
                raise InsufficientStock(f"{sku}: {quantity} requested, {state.available} available")
            return [StockReserved(sku, order_id, quantity, at)]
        case ReleaseStock(sku=sku, order_id=order_id, at=at):
            if order_id not in state.reservations:
                return []
            return [StockReleased(sku, order_id, state.reservations[order_id], at)]
        case ShipStock(sku=sku, order_id=order_id, at=at):
            if order_id not in state.reservations:
                return []  # shipped already (or never reserved): a repeat changes nothing
            return [StockShipped(sku, order_id, state.reservations[order_id], at)]


def _without(reservations: Mapping[str, int], order_id: str) -> dict[str, int]:
    return {k: v for k, v in reservations.items() if k != order_id}


def _positive(quantity: int) -> None:
    if quantity <= 0:
        raise InvalidQuantity(f"quantity must be positive, got {quantity}")
