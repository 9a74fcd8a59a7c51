"""The stats read models in PostgreSQL, fed from the aggregates' event-carried state topics.

Each record is a key's full current value, so applying it is an upsert: redelivery and replay
write the same row again. Queries: hourly sales in a range, top products over the last hours.
"""

from __future__ import annotations

import json
import threading
from datetime import datetime
from typing import Any

from confluent_kafka import Message
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Engine,
    MetaData,
    Table,
    Text,
    func,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import insert

from processors import state_follower
from processors.stats.topics import SKU_HOURLY, STOCK_CURRENT
from skald.services import Services

metadata = MetaData()
sku_hourly = Table(
    "stats_sku_hourly",
    metadata,
    Column("sku", Text, primary_key=True),
    Column("hour", DateTime(timezone=True), primary_key=True),
    Column("revenue_cents", BigInteger, nullable=False),
    Column("units", BigInteger, nullable=False),
    Column("orders", BigInteger, nullable=False),
)
stock_current = Table(
    "stats_stock",
    metadata,
    Column("sku", Text, primary_key=True),
    Column("on_hand", BigInteger, nullable=False),
    Column("reserved", BigInteger, nullable=False),
    Column("available", BigInteger, nullable=False),
)


def setup(engine: Engine, schema: str) -> None:
    """Create the schema and tables if missing (idempotent)."""
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        metadata.create_all(conn, checkfirst=True)


def apply(engine: Engine, messages: list[Message], hourly_topic: str) -> None:
    """Upsert the newest value of every key in `messages`."""
    newest: dict[tuple[str, bytes], dict[str, Any]] = {}
    for message in messages:
        newest[(message.topic() or "", message.key() or b"")] = json.loads(message.value() or b"")
    with engine.begin() as conn:
        for (topic, _), row in newest.items():
            table, keys = (
                (sku_hourly, ["sku", "hour"]) if topic == hourly_topic else (stock_current, ["sku"])
            )
            if table is sku_hourly:
                row = {**row, "hour": datetime.fromisoformat(row["hour"])}
            upsert = insert(table).values(row)
            conn.execute(upsert.on_conflict_do_update(index_elements=keys, set_=row))


def sales(engine: Engine, start: datetime, end: datetime, sku: str | None) -> list[dict[str, Any]]:
    """Hourly buckets with `start <= hour < end`, optionally of one SKU, by hour then SKU."""
    query = select(sku_hourly).where(sku_hourly.c.hour >= start, sku_hourly.c.hour < end)
    if sku:
        query = query.where(sku_hourly.c.sku == sku)
    with engine.connect() as conn:
        rows = conn.execute(query.order_by(sku_hourly.c.hour, sku_hourly.c.sku)).mappings()
        return [dict(row) for row in rows]


def top_products(engine: Engine, since: datetime, limit: int) -> list[dict[str, Any]]:
    """SKUs by revenue over the hourly buckets since `since` (a sliding sum of tumbling hours)."""
    revenue = func.sum(sku_hourly.c.revenue_cents).label("revenue_cents")
    query = (
        select(sku_hourly.c.sku, revenue, func.sum(sku_hourly.c.units).label("units"))
        .where(sku_hourly.c.hour >= since)
        .group_by(sku_hourly.c.sku)
        .order_by(revenue.desc(), sku_hourly.c.sku)
        .limit(limit)
    )
    with engine.connect() as conn:
        return [dict(row) for row in conn.execute(query).mappings()]


def stock(engine: Engine, sku: str) -> dict[str, Any] | None:
    """One SKU's current stock as the stream aggregate published it, or None."""
    with engine.connect() as conn:
        row = conn.execute(select(stock_current).where(stock_current.c.sku == sku)).mappings()
        found = row.first()
    return None if found is None else dict(found)


def follow(services: Services, stop: threading.Event) -> None:
    """Feed the tables from the state topics until `stop` is set (one group for all workers)."""
    settings = services.settings
    setup(services.engine, settings.pg_schema)
    hourly_topic = settings.topic(SKU_HOURLY.name)

    def write(batch: list[Message]) -> None:
        apply(services.engine, batch, hourly_topic)

    topics = [hourly_topic, settings.topic(STOCK_CURRENT.name)]
    state_follower.follow(settings, "skald.stats-view", topics, write, stop)


def start(services: Services) -> threading.Event:
    """Run `follow` on a daemon thread; set the returned event to stop it."""
    return state_follower.start("stats-view", lambda stop: follow(services, stop))
