"""Pure folds of the stream aggregates: hourly sales buckets per SKU."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any


def hour_of(moment: datetime) -> str:
    """The tumbling hour a moment falls in, as an ISO timestamp (UTC)."""
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0).isoformat()


def closed(hour: str, now: datetime, grace: timedelta) -> bool:
    """Whether an hour's window is closed: the hour ended more than `grace` ago.

    A closed hour's bucket leaves the table (its last published value stays), so the table
    holds the open hours of each SKU, not every hour that ever sold; a sale that arrives for
    a closed hour is late, and dropped: counted into a new, empty bucket it would publish a
    partial total over the hour's real one."""
    return datetime.fromisoformat(hour) + timedelta(hours=1) + grace <= now


def bucket_key(sku: str, hour: str) -> bytes:
    """A bucket's table key."""
    return f"{sku}|{hour}".encode()


def sku_and_hour(key: bytes) -> tuple[str, str]:
    """A bucket's SKU and hour from its table key (a SKU may hold `|` too)."""
    sku, hour = key.decode().rsplit("|", 1)
    return sku, hour


def add_sale(bucket: dict[str, Any] | None, sale: dict[str, Any]) -> dict[str, Any] | None:
    """The bucket with one order's line counted, or None if that sale is counted already (an
    at-least-once redelivery, or a re-send after the stats worker crashed).

    A sale carries its source, the position of its `OrderConfirmed` in the order events, and
    the sales of one source partition reach a bucket in that partition's order (one owner
    sends them, aiokafka keeps a partition's batches in order). So the bucket keeps, per source
    partition, the last offset it counted: its size is bounded by the partition count, where a
    list of order ids grew by one per order and was re-encoded whole on every sale."""
    current = (
        _upgraded(bucket)
        if bucket
        else {
            "sku": sale["sku"],
            "hour": sale["hour"],
            "revenue_cents": 0,
            "units": 0,
            "orders": 0,
            "through": {},
        }
    )
    through: dict[str, int] = current["through"]
    if (source := sale.get("source")) is not None:  # absent in sales sent before it existed
        partition, offset = str(source[0]), int(source[1])  # JSON object keys are strings
        if offset <= through.get(partition, -1):
            return None
        through = {**through, partition: offset}
    return {
        **current,
        "revenue_cents": current["revenue_cents"] + sale["cents"],
        "units": current["units"] + sale["units"],
        "orders": current["orders"] + 1,
        "through": through,
    }


def _upgraded(bucket: dict[str, Any]) -> dict[str, Any]:
    """A bucket as written before sales carried their source (a list of order ids): its count
    carries over; duplicates of the sales it already holds are no longer recognised."""
    if isinstance(bucket["orders"], list):
        return {**bucket, "orders": len(bucket["orders"]), "through": {}}
    return bucket


def public_bucket(bucket: dict[str, Any]) -> dict[str, Any]:
    """The event-carried state published for an hourly bucket (without the dedupe positions)."""
    return {k: bucket[k] for k in ("sku", "hour", "revenue_cents", "units", "orders")}
