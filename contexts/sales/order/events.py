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


OrderEvent = OrderPlaced
EVENT_CLASSES: tuple[type, ...] = (OrderPlaced,)
