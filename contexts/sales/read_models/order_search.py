"""The `orders` search index: full text over customer and items, filters on the rest."""

from __future__ import annotations

from contexts.sales.read_models import order_state
from contexts.sales.topics import ORDER_EVENTS
from projections.model import OpenSearchProjection

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
        "confirmed_at": {"type": "date"},
        "cancelled_at": {"type": "date"},
        "cancel_reason": {"type": "text"},
        "shipped_at": {"type": "date"},
        "updated_at": {"type": "date"},
    },
}

SEARCH_FIELDS = ["customer_id", "items.sku", "items.name"]
# Keyword fields a pasted id matches exactly, with the boost that puts the order first.
EXACT_FIELDS = [("order_id", 100.0), ("customer_id.raw", 20.0), ("items.sku.raw", 20.0)]

projection = OpenSearchProjection(
    name="sales.order-search",
    topics=(ORDER_EVENTS,),
    index="orders",
    mappings=MAPPINGS,
    doc_id=order_state.order_id,
    handlers=order_state.HANDLERS,
    settings={"number_of_shards": 1, "number_of_replicas": 0, "refresh_interval": "1s"},
    linger_ms=500,  # searchable only at the next refresh anyway (1 s)
)
