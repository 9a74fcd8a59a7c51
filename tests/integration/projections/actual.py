"""What the read models actually hold, read straight from PostgreSQL and OpenSearch."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import select

from contexts.inventory.read_models.stock_levels import stock_levels
from contexts.sales.read_models.orders import customer_order_summary, orders
from projections.model import Sink
from skald.services import Services
from tests.integration.kafka_probe import end_offsets
from tests.integration.projections.expected import Models

PROJECTIONS = ("sales.orders", "sales.order-search", "inventory.stock-levels")
SUMMARY_COLUMNS = ("orders", "placed", "confirmed", "shipped", "cancelled", "total_cents")


def postgres_models(services: Services) -> Models:
    models = Models()
    o = orders.c
    with services.engine.connect() as conn:
        query = select(o.order_id, o.customer_id, o.status, o.total_cents, o.version)
        for row in conn.execute(query).mappings():
            models.orders[row["order_id"]] = {k: row[k] for k in row if k != "order_id"}
        for row in conn.execute(select(customer_order_summary)).mappings():
            models.customers[row["customer_id"]] = {c: row[c] for c in SUMMARY_COLUMNS if row[c]}
        s = stock_levels.c
        for row in conn.execute(select(s.sku, s.on_hand, s.reserved, s.version)).mappings():
            models.stock[row["sku"]] = {k: row[k] for k in ("on_hand", "reserved", "version")}
    return models


def search_orders(services: Services, order_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The order documents behind the alias, by id."""
    alias = services.settings.index("orders")
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(order_ids), 1000):
        chunk = order_ids[start : start + 1000]
        docs = services.opensearch.mget(index=alias, body={"ids": chunk})["docs"]
        for doc in docs:
            if doc.get("found"):
                source = doc["_source"]
                assert doc["_version"] == source["version"], doc  # external version = aggregate's
                found[doc["_id"]] = {
                    "customer_id": source["customer_id"],
                    "status": source["status"],
                    "total_cents": source["total_cents"],
                    "version": source["version"],
                }
    return found


def assert_models_equal(services: Services, expected: Models) -> None:
    actual = postgres_models(services)
    assert actual.orders == expected.orders
    assert actual.customers == {
        k: {c: n for c, n in v.items() if n} for k, v in expected.customers.items()
    }
    assert actual.stock == expected.stock
    documents = search_orders(services, sorted(expected.orders))
    assert documents == expected.orders
    assert services.opensearch.count(index=services.settings.index("orders"))["count"] <= len(
        expected.orders
    )


def caught_up(services: Services, sink: Sink, topics: list[str]) -> bool:
    for topic in topics:
        ends = end_offsets(services.settings.kafka_bootstrap, topic)
        stored = sink.stored_offsets([(topic, p) for p in ends])
        if any(stored.get((topic, p), 0) < end for p, end in ends.items()):
            return False
    return True


def wait_caught_up(
    services: Services, names: tuple[str, ...] = PROJECTIONS, within: float = 120
) -> None:
    deadline = time.monotonic() + within
    pending = list(names)
    while pending:
        pending = [
            n
            for n in pending
            if not caught_up(services, services.sink(n), services.projection_topics(n))
        ]
        assert time.monotonic() < deadline, f"{pending} not caught up within {within} s"
        time.sleep(0.2)


def applied_events(services: Services, name: str) -> int:
    sink = services.sink(name)
    return sum(sink.checkpoints(sink.live_generation()).values())
