"""The `stock_levels` table: units on hand and reserved per SKU (available = the difference)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, Integer, MetaData, Table, Text

from contexts.inventory.aggregates import STOCK
from contexts.inventory.stock.events import (
    StockReleased,
    StockReserved,
    StockRestocked,
    StockShipped,
)
from eventstore.envelope import Envelope
from projections.model import PostgresProjection, Row, RowFold

metadata = MetaData()
stock_levels = Table(
    "stock_levels",
    metadata,
    Column("sku", Text, primary_key=True),
    Column("on_hand", BigInteger, nullable=False),
    Column("reserved", BigInteger, nullable=False),
    Column("version", Integer, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)


def _changed(row: Row | None, sku: str, envelope: Envelope, on_hand: int, reserved: int) -> Row:
    # Quantities are deltas, so a redriven old event still adds up; version only grows.
    old = row or {"on_hand": 0, "reserved": 0, "version": 0}
    return {
        "sku": sku,
        "on_hand": old["on_hand"] + on_hand,
        "reserved": old["reserved"] + reserved,
        "version": max(old["version"], envelope.aggregate_version),
        "updated_at": envelope.time,
    }


def on_restocked(row: Row | None, event: StockRestocked, envelope: Envelope) -> Row:
    return _changed(row, event.sku, envelope, event.quantity, 0)


def on_reserved(row: Row | None, event: StockReserved, envelope: Envelope) -> Row:
    return _changed(row, event.sku, envelope, 0, event.quantity)


def on_released(row: Row | None, event: StockReleased, envelope: Envelope) -> Row:
    return _changed(row, event.sku, envelope, 0, -event.quantity)


def on_shipped(row: Row | None, event: StockShipped, envelope: Envelope) -> Row:
    return _changed(row, event.sku, envelope, -event.quantity, -event.quantity)


projection = PostgresProjection(
    name="inventory.stock-levels",
    topics=(STOCK.events_topic,),
    metadata=metadata,
    folds=(
        RowFold(
            stock_levels,
            lambda event: str(event.sku),
            {
                StockRestocked: on_restocked,
                StockReserved: on_reserved,
                StockReleased: on_released,
                StockShipped: on_shipped,
            },
        ),
    ),
)
