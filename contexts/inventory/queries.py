"""Reads of the inventory read models."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, select

from contexts.inventory.read_models.stock_levels import stock_levels


def get_stock_level(engine: Engine, sku: str) -> dict[str, Any] | None:
    """On hand, reserved and available units of a SKU, or None if never stocked."""
    with engine.connect() as conn:
        row = conn.execute(select(stock_levels).where(stock_levels.c.sku == sku)).mappings().first()
    if row is None:
        return None
    return {**row, "available": row["on_hand"] - row["reserved"]}
