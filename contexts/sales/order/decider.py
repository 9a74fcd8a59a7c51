"""The order decider: state, initial state, evolve, decide. Pure: no I/O, clock or ids.

none ──place──► placed ──confirm──► confirmed ──ship──► shipped
                  │                    │
                  └──────cancel────────┴──► cancelled
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from contexts.sales.order.commands import (
    CancelOrder,
    ConfirmOrder,
    MarkOrderShipped,
    OrderCommand,
    PlaceOrder,
)
from contexts.sales.order.events import (
    OrderCancelled,
    OrderConfirmed,
    OrderEvent,
    OrderItem,
    OrderPlaced,
    OrderShipped,
)


class OrderStatus(StrEnum):
    """Where an order stands."""

    NONE = "none"
    PLACED = "placed"
    CONFIRMED = "confirmed"
    SHIPPED = "shipped"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class Order:
    """What the decider needs to know about one order."""

    status: OrderStatus = OrderStatus.NONE
    customer_id: str = ""
    items: tuple[OrderItem, ...] = ()
    total_cents: int = 0


INITIAL = Order()


class OrderError(Exception):
    """A command the order's current state forbids."""


class OrderNotFound(OrderError):
    """The command targets an order that was never placed."""


class OrderAlreadyPlaced(OrderError):
    """The order id is taken by a different order."""


class InvalidOrder(OrderError):
    """An order that breaks a business rule."""


class OrderTransitionForbidden(OrderError):
    """The order's status does not allow this command."""


def evolve(state: Order, event: object) -> Order:
    """The state after one more event; unknown events leave it unchanged."""
    match event:
        case OrderPlaced(customer_id=customer_id, items=items, total_cents=total):
            return Order(OrderStatus.PLACED, customer_id, items, total)
        case OrderConfirmed():
            return replace(state, status=OrderStatus.CONFIRMED)
        case OrderCancelled():
            return replace(state, status=OrderStatus.CANCELLED)
        case OrderShipped():
            return replace(state, status=OrderStatus.SHIPPED)
        case _:
            return state


def decide(state: Order, command: OrderCommand) -> list[OrderEvent]:
    """The events a command produces in a state, or a domain error."""
    if not isinstance(command, PlaceOrder) and state.status is OrderStatus.NONE:
        raise OrderNotFound(f"order {command.order_id} does not exist")
    match command:
        case PlaceOrder():
            return _place(state, command)
        case ConfirmOrder():
            if state.status is OrderStatus.CONFIRMED:
                return []
            _require(state, command, OrderStatus.PLACED)
            return [OrderConfirmed(command.order_id, command.at, state.items)]
        case CancelOrder():
            if state.status is OrderStatus.CANCELLED:
                return []
            _require(state, command, OrderStatus.PLACED, OrderStatus.CONFIRMED)
            return [OrderCancelled(command.order_id, command.reason, command.at)]
        case MarkOrderShipped():
            if state.status is OrderStatus.SHIPPED:
                return []
            _require(state, command, OrderStatus.CONFIRMED)
            return [OrderShipped(command.order_id, command.at)]


def _require(state: Order, command: OrderCommand, *allowed: OrderStatus) -> None:
    if state.status not in allowed:
        verb = type(command).__name__
        raise OrderTransitionForbidden(
            f"cannot {verb} order {command.order_id}: it is {state.status}"
        )


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
    return [OrderPlaced(command.order_id, command.customer_id, command.items, total, command.at)]
