"""The `orders` table (one row per order, as it stands) and `customer_order_summary`."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, Index, Integer, MetaData, Table, Text
from sqlalchemy.dialects.postgresql import JSONB

from contexts.sales.read_models import order_state
from contexts.sales.topics import ORDER_EVENTS
from projections.model import PostgresProjection, Rollup, Row, RowFold

metadata = MetaData()
orders = Table(
    "orders",
    metadata,
    Column("order_id", Text, primary_key=True),
    Column("customer_id", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("items", JSONB, nullable=False),
    Column("total_cents", BigInteger, nullable=False),
    Column("version", Integer, nullable=False),
    Column("placed_at", DateTime(timezone=True), nullable=False),
    Column("confirmed_at", DateTime(timezone=True)),
    Column("cancelled_at", DateTime(timezone=True)),
    Column("cancel_reason", Text),
    Column("shipped_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
# A customer's orders, newest first, paged by (placed_at, order_id).
Index(None, orders.c.customer_id, orders.c.placed_at, orders.c.order_id)

STATUSES = ("placed", "confirmed", "shipped", "cancelled")


def _counter(name: str) -> Column[int]:
    return Column(name, BigInteger, nullable=False, server_default="0")


customer_order_summary = Table(
    "customer_order_summary",
    metadata,
    Column("customer_id", Text, primary_key=True),
    _counter("orders"),
    *(_counter(status) for status in STATUSES),
    _counter("total_cents"),  # of orders not cancelled
)


def summary_contribution(row: Row) -> tuple[str, dict[str, int]]:
    """What one order adds to its customer's summary."""
    cancelled = row["status"] == "cancelled"
    return row["customer_id"], {
        "orders": 1,
        row["status"]: 1,
        "total_cents": 0 if cancelled else int(row["total_cents"]),
    }


projection = PostgresProjection(
    name="sales.orders",
    topics=(ORDER_EVENTS,),
    metadata=metadata,
    folds=(RowFold(orders, order_state.order_id, order_state.HANDLERS),),
    rollups=(Rollup(customer_order_summary, orders, summary_contribution),),
)
