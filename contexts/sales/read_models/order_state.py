"""An order as both read models keep it: one pure fold shared by PostgreSQL and OpenSearch.

Status follows the newest version only, so redriving an old dead letter fills in its
timestamp without moving the status back; an event for an order whose OrderPlaced is
missing raises (and is dead-lettered in turn, to be redriven after it).
"""

from __future__ import annotations

from typing import Any

from contexts.sales.order.events import OrderCancelled, OrderConfirmed, OrderPlaced, OrderShipped
from eventstore.envelope import Envelope
from projections.model import Evolve, Row


class OrderNotPlaced(Exception):
    """A later event arrived for an order the read model has never seen placed."""


def order_id(event: Any) -> str:
    """Every order event's key."""
    return str(event.order_id)


def on_placed(row: Row | None, event: OrderPlaced, envelope: Envelope) -> Row:
    """The order as placed."""
    return {
        "order_id": event.order_id,
        "customer_id": event.customer_id,
        "status": "placed",
        "items": [
            {
                "sku": i.sku,
                "name": i.name,
                "quantity": i.quantity,
                "unit_price_cents": i.unit_price_cents,
            }
            for i in event.items
        ],
        "total_cents": event.total_cents,
        "version": max(envelope.aggregate_version, (row or {}).get("version", 0)),
        "placed_at": event.placed_at,
        "confirmed_at": (row or {}).get("confirmed_at"),
        "cancelled_at": (row or {}).get("cancelled_at"),
        "cancel_reason": (row or {}).get("cancel_reason"),
        "shipped_at": (row or {}).get("shipped_at"),
        "updated_at": envelope.time,
    }


def on_confirmed(row: Row | None, event: OrderConfirmed, envelope: Envelope) -> Row:
    return _advance(row, event.order_id, envelope, "confirmed", confirmed_at=event.confirmed_at)


def on_cancelled(row: Row | None, event: OrderCancelled, envelope: Envelope) -> Row:
    return _advance(
        row,
        event.order_id,
        envelope,
        "cancelled",
        cancelled_at=event.cancelled_at,
        cancel_reason=event.reason,
    )


def on_shipped(row: Row | None, event: OrderShipped, envelope: Envelope) -> Row:
    return _advance(row, event.order_id, envelope, "shipped", shipped_at=event.shipped_at)


def _advance(row: Row | None, oid: str, envelope: Envelope, status: str, **changes: Any) -> Row:
    if row is None:
        raise OrderNotPlaced(f"order {oid} was never placed (its OrderPlaced is missing)")
    newer = envelope.aggregate_version > row["version"]
    return {
        **row,
        **changes,
        "status": status if newer else row["status"],
        "version": max(row["version"], envelope.aggregate_version),
        "updated_at": envelope.time if newer else row["updated_at"],
    }


HANDLERS: dict[type, Evolve] = {
    OrderPlaced: on_placed,
    OrderConfirmed: on_confirmed,
    OrderCancelled: on_cancelled,
    OrderShipped: on_shipped,
}
