"""Reads of the sales read models: PostgreSQL for lookups, OpenSearch for search."""

from __future__ import annotations

from typing import Any

from opensearchpy import OpenSearch
from sqlalchemy import Engine, select

from contexts.sales.read_models.order_search import SEARCH_FIELDS
from contexts.sales.read_models.orders import orders


def get_order(engine: Engine, order_id: str) -> dict[str, Any] | None:
    """One order as the `orders` read model has it, or None."""
    with engine.connect() as conn:
        row = conn.execute(select(orders).where(orders.c.order_id == order_id)).mappings().first()
    return dict(row) if row is not None else None


def search_orders(client: OpenSearch, index: str, text: str, limit: int) -> dict[str, Any]:
    """Orders matching free text over customer id, SKUs and item names, best first."""
    body = {
        "size": limit,
        "query": {"multi_match": {"query": text, "fields": SEARCH_FIELDS}},
    }
    response = client.search(index=index, body=body)
    hits = response["hits"]
    return {
        "total": hits["total"]["value"],
        "orders": [hit["_source"] for hit in hits["hits"]],
    }
