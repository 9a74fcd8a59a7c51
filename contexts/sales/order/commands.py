"""Order commands: what a caller asks the order aggregate to do."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from contexts.sales.order.events import OrderItem


@dataclass(frozen=True, slots=True)
class PlaceOrder:
    """Place a new order; the caller chose its id and the time."""

    order_id: str
    customer_id: str
    items: tuple[OrderItem, ...]
    placed_at: datetime


OrderCommand = PlaceOrder
