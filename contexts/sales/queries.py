"""Reads of the sales read models: PostgreSQL for lookups, OpenSearch for search."""

from __future__ import annotations

import base64
import binascii
import re
from datetime import datetime
from typing import Any

from opensearchpy import OpenSearch
from sqlalchemy import Engine, select, tuple_

from contexts.sales.read_models.order_search import EXACT_FIELDS, SEARCH_FIELDS
from contexts.sales.read_models.orders import customer_order_summary, orders
from producers.validation import ID_PATTERN


class InvalidCursor(ValueError):
    """A paging cursor that this API did not hand out."""


def get_order(engine: Engine, order_id: str) -> dict[str, Any] | None:
    """One order as the `orders` read model has it, or None."""
    with engine.connect() as conn:
        row = conn.execute(select(orders).where(orders.c.order_id == order_id)).mappings().first()
    return dict(row) if row is not None else None


def customer_orders(
    engine: Engine, customer_id: str, limit: int, cursor: str | None
) -> dict[str, Any]:
    """A customer's summary and one page of orders, newest first (keyset paging)."""
    query = (
        select(orders)
        .where(orders.c.customer_id == customer_id)
        .order_by(orders.c.placed_at.desc(), orders.c.order_id.desc())
        .limit(limit + 1)
    )
    if cursor:
        placed_at, order_id = _decode_cursor(cursor)
        query = query.where(tuple_(orders.c.placed_at, orders.c.order_id) < (placed_at, order_id))
    with engine.connect() as conn:
        summary = (
            conn.execute(
                select(customer_order_summary).where(
                    customer_order_summary.c.customer_id == customer_id
                )
            )
            .mappings()
            .first()
        )
        rows = [dict(row) for row in conn.execute(query).mappings()]
    page, more = rows[:limit], len(rows) > limit
    last = page[-1] if page else None
    return {
        "customer_id": customer_id,
        "summary": dict(summary) if summary is not None else None,
        "orders": page,
        "next_cursor": _encode_cursor(last["placed_at"], last["order_id"])
        if more and last
        else None,
    }


def _encode_cursor(placed_at: datetime, order_id: str) -> str:
    raw = f"{placed_at.isoformat()}|{order_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        placed_at, order_id = raw.split("|", 1)
        if not re.fullmatch(ID_PATTERN, order_id):  # it reaches SQL: the identifier rules hold
            raise ValueError("not an order id")
        return datetime.fromisoformat(placed_at), order_id
    except (ValueError, binascii.Error, UnicodeDecodeError) as error:
        raise InvalidCursor(f"malformed cursor {cursor!r}") from error


def search_orders(
    client: OpenSearch,
    index: str,
    text: str | None,
    limit: int,
    status: str | None = None,
    min_total: int | None = None,
    placed_from: datetime | None = None,
    placed_to: datetime | None = None,
) -> dict[str, Any]:
    """Orders matching free text (customer id, SKUs, item names) and filters, best first;
    an exact order id, customer id or SKU ranks its orders above any text match."""
    filters: list[dict[str, Any]] = []
    if status:
        filters.append({"term": {"status": status}})
    if min_total is not None:
        filters.append({"range": {"total_cents": {"gte": min_total}}})
    if placed_from or placed_to:
        bounds = {"gte": placed_from, "lte": placed_to}
        filters.append({"range": {"placed_at": {k: v.isoformat() for k, v in bounds.items() if v}}})
    must = [_text_query(text)] if text else []
    body = {
        "size": limit,
        "query": {"bool": {"must": must or [{"match_all": {}}], "filter": filters}},
        "sort": ["_score", {"placed_at": "desc"}],
    }
    response = client.search(index=index, body=body)
    hits = response["hits"]
    return {
        "total": hits["total"]["value"],
        "orders": [hit["_source"] for hit in hits["hits"]],
    }


def _text_query(text: str) -> dict[str, Any]:
    """Exact ids on the keyword fields (boosted: a pasted id finds its order first), or
    words in the analyzed fields."""
    exact = [{"term": {field: {"value": text, "boost": boost}}} for field, boost in EXACT_FIELDS]
    words = {"multi_match": {"query": text, "fields": SEARCH_FIELDS}}
    return {"bool": {"should": [*exact, words], "minimum_should_match": 1}}
