"""The `orders` table: one row per order, as it stands now."""

from __future__ import annotations

import dataclasses

from sqlalchemy import BigInteger, Column, Connection, DateTime, Integer, MetaData, Table, Text
from sqlalchemy.dialects.postgresql import JSONB, insert

from contexts.sales.order.events import OrderPlaced
from contexts.sales.topics import ORDER_EVENTS
from eventstore.envelope import Envelope
from projections.model import PostgresProjection

metadata = MetaData()
orders = Table(
    "orders",
    metadata,
    Column("order_id", Text, primary_key=True),
    Column("customer_id", Text, nullable=False, index=True),
    Column("status", Text, nullable=False),
    Column("items", JSONB, nullable=False),
    Column("total_cents", BigInteger, nullable=False),
    Column("version", Integer, nullable=False),
    Column("placed_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)


def on_order_placed(conn: Connection, event: OrderPlaced, envelope: Envelope) -> None:
    """Insert the order; a row already at this version or later stays as it is."""
    statement = insert(orders).values(
        order_id=event.order_id,
        customer_id=event.customer_id,
        status="placed",
        items=[dataclasses.asdict(item) for item in event.items],
        total_cents=event.total_cents,
        version=envelope.aggregate_version,
        placed_at=event.placed_at,
        updated_at=envelope.time,
    )
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=[orders.c.order_id],
            set_={c.name: statement.excluded[c.name] for c in orders.columns if not c.primary_key},
            where=orders.c.version < statement.excluded.version,
        )
    )


projection = PostgresProjection(
    name="sales.orders",
    topics=(ORDER_EVENTS,),
    metadata=metadata,
    handlers={OrderPlaced: on_order_placed},
)
