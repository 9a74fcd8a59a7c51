"""Stock events, mirrored field by field in `schemas/inventory/stock/`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class StockRestocked:
    """Units arrived for a SKU."""

    EVENT_TYPE = "inventory.stock.StockRestocked"

    sku: str
    quantity: int
    restocked_at: datetime


@dataclass(frozen=True, slots=True)
class StockReserved:
    """Units of a SKU were set aside for an order."""

    EVENT_TYPE = "inventory.stock.StockReserved"

    sku: str
    order_id: str
    quantity: int
    reserved_at: datetime


@dataclass(frozen=True, slots=True)
class StockReleased:
    """An order's reservation was given back."""

    EVENT_TYPE = "inventory.stock.StockReleased"

    sku: str
    order_id: str
    quantity: int
    released_at: datetime


@dataclass(frozen=True, slots=True)
class StockShipped:
    """An order's reserved units were shipped: they leave on hand and the reservation ends."""

    EVENT_TYPE = "inventory.stock.StockShipped"

    sku: str
    order_id: str
    quantity: int
    shipped_at: datetime


StockEvent = StockRestocked | StockReserved | StockReleased | StockShipped
EVENT_CLASSES: tuple[type, ...] = (StockRestocked, StockReserved, StockReleased, StockShipped)
