"""`sales.stats`: hourly sales per SKU, projected from the stream aggregate's state topic.

Each record is a (SKU, hour) bucket's full current value, so the read model keeps the newest
value per key; the projection runtime gives it generations, checkpoints, replay and
read-your-writes. Queries: hourly sales in a range, top products over the last hours.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, DateTime, Engine, MetaData, Table, Text, func, select

from contexts.sales.stats.topics import SKU_HOURLY
from projections.model import PostgresProjection, Row, StateTable

metadata = MetaData()
sku_hourly = Table(
    "sales_hourly_sku_sales",
    metadata,
    Column("sku", Text, primary_key=True),
    Column("hour", DateTime(timezone=True), primary_key=True),
    Column("revenue_cents", BigInteger, nullable=False),
    Column("units", BigInteger, nullable=False),
    Column("orders", BigInteger, nullable=False),
)


def _bucket_key(key: str) -> Row:
    sku, _, hour = key.rpartition("|")
    return {"sku": sku, "hour": datetime.fromisoformat(hour)}


def _bucket_row(key: str, bucket: dict[str, Any]) -> Row:
    return {**bucket, **_bucket_key(key)}


projection = PostgresProjection(
    name="sales.stats",
    topics=(SKU_HOURLY.name,),
    metadata=metadata,
    states=(StateTable(sku_hourly, SKU_HOURLY.name, _bucket_row, _bucket_key),),
    linger_ms=500,  # hourly buckets
)


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
