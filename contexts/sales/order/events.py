"""Order events: the storage contract, mirrored field by field in `schemas/sales/order/`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class OrderItem:
    """One SKU on an order."""

    sku: str
    name: str
    quantity: int
    unit_price_cents: int


@dataclass(frozen=True, slots=True)
class OrderPlaced:
    """A customer placed an order."""

    EVENT_TYPE = "sales.order.OrderPlaced"

    order_id: str
    customer_id: str
    items: tuple[OrderItem, ...]
    total_cents: int
    placed_at: datetime
    currency: str = "EUR"  # schema v2; v1 orders read as euros


@dataclass(frozen=True, slots=True)
class OrderConfirmed:
    """Stock and payment are secured; the order will ship."""

    EVENT_TYPE = "sales.order.OrderConfirmed"

    order_id: str
    confirmed_at: datetime
    # Schema v2: what was confirmed, so a consumer counting confirmed sales needs no copy of
    # the OrderPlaced; v1 confirmations read with none.
    items: tuple[OrderItem, ...] = ()


@dataclass(frozen=True, slots=True)
class OrderCancelled:
    """The order will not be fulfilled."""

    EVENT_TYPE = "sales.order.OrderCancelled"

    order_id: str
    reason: str
    cancelled_at: datetime


@dataclass(frozen=True, slots=True)
class OrderShipped:
    """The order left the warehouse."""

    EVENT_TYPE = "sales.order.OrderShipped"

    order_id: str
    shipped_at: datetime


OrderEvent = OrderPlaced | OrderConfirmed | OrderCancelled | OrderShipped
EVENT_CLASSES: tuple[type, ...] = (OrderPlaced, OrderConfirmed, OrderCancelled, OrderShipped)
