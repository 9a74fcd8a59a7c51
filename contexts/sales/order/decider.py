"""The order decider: state, initial state, evolve, decide. Pure: no I/O, clock or ids."""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from contexts.sales.order.commands import OrderCommand, PlaceOrder
from contexts.sales.order.events import OrderEvent, OrderItem, OrderPlaced


class OrderStatus(StrEnum):
    """Where an order stands."""

    NONE = "none"
    PLACED = "placed"


@dataclass(frozen=True, slots=True)
class Order:
    """What the decider needs to know about one order."""

    status: OrderStatus = OrderStatus.NONE
    customer_id: str = ""
    items: tuple[OrderItem, ...] = ()
    total_cents: int = 0
    version: int = 0


INITIAL = Order()


class OrderError(Exception):
    """A command the order's current state forbids."""


class OrderAlreadyPlaced(OrderError):
    """The order id is taken by a different order."""


class InvalidOrder(OrderError):
    """An order that breaks a business rule."""


def evolve(state: Order, event: object) -> Order:
    """The state after one more event; unknown events leave it unchanged."""
    match event:
        case OrderPlaced(customer_id=customer_id, items=items, total_cents=total):
            return replace(
                state,
                status=OrderStatus.PLACED,
                customer_id=customer_id,
                items=items,
                total_cents=total,
                version=state.version + 1,
            )
        case _:
            return state


def decide(state: Order, command: OrderCommand) -> list[OrderEvent]:
    """The events a command produces in a state, or a domain error."""
    match command:
        case PlaceOrder():
            return _place(state, command)
    raise TypeError(f"unknown command {command!r}")  # pragma: no cover - exhaustive match


def _place(state: Order, command: PlaceOrder) -> list[OrderEvent]:
    if state.status is not OrderStatus.NONE:
        if (state.customer_id, state.items) == (command.customer_id, command.items):
            return []  # the same order placed twice: nothing new happened
        raise OrderAlreadyPlaced(f"order {command.order_id} already exists")
    if not command.items:
        raise InvalidOrder("an order needs at least one item")
    if any(item.quantity <= 0 or item.unit_price_cents < 0 for item in command.items):
        raise InvalidOrder("quantities must be positive and prices not negative")
    total = sum(item.quantity * item.unit_price_cents for item in command.items)
    return [
        OrderPlaced(
            order_id=command.order_id,
            customer_id=command.customer_id,
            items=command.items,
            total_cents=total,
            placed_at=command.placed_at,
        )
    ]
