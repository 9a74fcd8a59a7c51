"""Stock commands."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Restock:
    """Add units of a SKU."""

    COMMAND_TYPE = "inventory.stock.Restock"

    sku: str
    quantity: int
    at: datetime


@dataclass(frozen=True, slots=True)
class ReserveStock:
    """Set units aside for an order."""

    COMMAND_TYPE = "inventory.stock.ReserveStock"

    sku: str
    order_id: str
    quantity: int
    at: datetime


@dataclass(frozen=True, slots=True)
class ReleaseStock:
    """Give an order's reservation back."""

    COMMAND_TYPE = "inventory.stock.ReleaseStock"

    sku: str
    order_id: str
    at: datetime


@dataclass(frozen=True, slots=True)
class ShipStock:
    """The order's reserved units leave the warehouse: on hand shrinks, the reservation ends."""

    COMMAND_TYPE = "inventory.stock.ShipStock"

    sku: str
    order_id: str
    at: datetime


StockCommand = Restock | ReserveStock | ReleaseStock | ShipStock
COMMAND_CLASSES: tuple[type, ...] = (Restock, ReserveStock, ReleaseStock, ShipStock)
