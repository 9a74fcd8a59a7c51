"""Order commands: what a caller asks the order aggregate to do. Time arrives as data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from contexts.sales.order.events import OrderItem


@dataclass(frozen=True, slots=True)
class PlaceOrder:
    """Place a new order."""

    COMMAND_TYPE = "sales.order.PlaceOrder"

    order_id: str
    customer_id: str
    items: tuple[OrderItem, ...]
    at: datetime
    # A payment instruction, not a sales fact: the fulfillment saga reads it from this
    # command, so no card token is kept in the event log forever. None: the card on file.
    payment_token: str | None = None


@dataclass(frozen=True, slots=True)
class ConfirmOrder:
    """Confirm a placed order."""

    COMMAND_TYPE = "sales.order.ConfirmOrder"

    order_id: str
    at: datetime


@dataclass(frozen=True, slots=True)
class CancelOrder:
    """Cancel an order that has not shipped."""

    COMMAND_TYPE = "sales.order.CancelOrder"

    order_id: str
    reason: str
    at: datetime


@dataclass(frozen=True, slots=True)
class MarkOrderShipped:
    """Record that a confirmed order shipped."""

    COMMAND_TYPE = "sales.order.MarkOrderShipped"

    order_id: str
    at: datetime


OrderCommand = PlaceOrder | ConfirmOrder | CancelOrder | MarkOrderShipped
COMMAND_CLASSES: tuple[type, ...] = (PlaceOrder, ConfirmOrder, CancelOrder, MarkOrderShipped)
