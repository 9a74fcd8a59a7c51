"""Pure folds of the stream aggregates: hourly buckets per SKU and stock per SKU."""

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


def evolve_stock(
    stock: dict[str, Any] | None, sku: str, version: int, kind: str, body: dict[str, Any]
) -> dict[str, Any] | None:
    """The SKU's stock after one event, or None when the event's version was applied already."""
    current = stock or {"sku": sku, "version": 0, "on_hand": 0, "reservations": {}}
    if version <= current["version"]:
        return None
    reservations = dict(current["reservations"])
    on_hand = current["on_hand"]
    match kind:
        case "StockRestocked":
            on_hand += int(body["quantity"])
        case "StockReserved":
            reservations[str(body["order_id"])] = int(body["quantity"])
        case "StockReleased":
            reservations.pop(str(body["order_id"]), None)
    return {**current, "version": version, "on_hand": on_hand, "reservations": reservations}


def stock_value(stock: dict[str, Any]) -> dict[str, Any]:
    """The event-carried state published for a SKU."""
    reserved = sum(stock["reservations"].values())
    return {
        "sku": stock["sku"],
        "on_hand": stock["on_hand"],
        "reserved": reserved,
        "available": stock["on_hand"] - reserved,
    }


def public_bucket(bucket: dict[str, Any]) -> dict[str, Any]:
    """The event-carried state published for an hourly bucket (without the dedupe ids)."""
    return {k: bucket[k] for k in ("sku", "hour", "revenue_cents", "units")} | {
        "orders": len(bucket["orders"])
    }
