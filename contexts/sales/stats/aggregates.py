"""Pure folds of the stream aggregates: hourly sales buckets per SKU."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def hour_of(moment: datetime) -> str:
    """The tumbling hour a moment falls in, as an ISO timestamp (UTC)."""
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0).isoformat()


def add_sale(bucket: dict[str, Any] | None, sale: dict[str, Any]) -> dict[str, Any] | None:
    """The bucket with one order's line counted, or None if that order is counted already
    (an at-least-once redelivery): the bucket keeps its orders' ids, bounded by an hour's."""
    current = bucket or {
        "sku": sale["sku"],
        "hour": sale["hour"],
        "revenue_cents": 0,
        "units": 0,
        "orders": [],
    }
    if sale["order_id"] in current["orders"]:
        return None
    return {
        **current,
        "revenue_cents": current["revenue_cents"] + sale["cents"],
        "units": current["units"] + sale["units"],
        "orders": [*current["orders"], sale["order_id"]],
    }


def public_bucket(bucket: dict[str, Any]) -> dict[str, Any]:
    """The event-carried state published for an hourly bucket (without the dedupe ids)."""
    return {k: bucket[k] for k in ("sku", "hour", "revenue_cents", "units")} | {
        "orders": len(bucket["orders"])
    }
