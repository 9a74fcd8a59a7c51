"""The `orders` search index: full text over customer and items, filters on the rest."""

from __future__ import annotations

import dataclasses

from contexts.sales.order.events import OrderPlaced
from contexts.sales.topics import ORDER_EVENTS
from eventstore.envelope import Envelope
from projections.model import IndexDocument, OpenSearchProjection

MAPPINGS = {
    "dynamic": "strict",
    "properties": {
        "order_id": {"type": "keyword"},
        "customer_id": {"type": "text", "fields": {"raw": {"type": "keyword"}}},
        "status": {"type": "keyword"},
        "items": {
            "properties": {
                "sku": {"type": "text", "fields": {"raw": {"type": "keyword"}}},
                "name": {"type": "text"},
                "quantity": {"type": "integer"},
                "unit_price_cents": {"type": "long"},
            }
        },
        "total_cents": {"type": "long"},
        "version": {"type": "integer"},
        "placed_at": {"type": "date"},
        "updated_at": {"type": "date"},
    },
}

SEARCH_FIELDS = ["customer_id", "items.sku", "items.name"]


def on_order_placed(event: OrderPlaced, envelope: Envelope) -> list[IndexDocument]:
    """The order's first document."""
    source = {
        "order_id": event.order_id,
        "customer_id": event.customer_id,
        "status": "placed",
        "items": [dataclasses.asdict(item) for item in event.items],
        "total_cents": event.total_cents,
        "version": envelope.aggregate_version,
        "placed_at": event.placed_at.isoformat(),
        "updated_at": envelope.time.isoformat(),
    }
    return [IndexDocument(event.order_id, envelope.aggregate_version, source)]


projection = OpenSearchProjection(
    name="sales.order-search",
    topics=(ORDER_EVENTS,),
    index="orders",
    mappings=MAPPINGS,
    handlers={OrderPlaced: on_order_placed},
    settings={"number_of_shards": 1, "number_of_replicas": 0},
)
