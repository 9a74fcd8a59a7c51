"""Query routes over the read models: read-your-writes, paging, stock levels, search filters."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from contexts.inventory.stock.events import StockReserved, StockRestocked
from contexts.sales.order.events import OrderCancelled, OrderItem, OrderPlaced
from eventstore.appender import Appended
from eventstore.outgoing import Stream
from skald.api import create_app
from skald.registry import CONTEXTS
from skald.services import Services
from tests.integration.projections.in_process import projecting

AT = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.fixture
def quick(services: Services) -> Iterator[Services]:
    """The test's namespace with a 1 s read-your-writes timeout."""
    settings = services.settings.model_copy(update={"read_your_writes_timeout_seconds": 1.0})
    built = Services(settings, CONTEXTS)
    yield built
    built.close()


def _append(services: Services, topic: str, kind: str, key: str, events: list[object]) -> Appended:
    stream = Stream(services.settings.topic(topic), kind, key)
    return asyncio.run(services.appender.append(stream, events, first_version=1))[-1]


def _order(n: int, total: int) -> OrderPlaced:
    item = OrderItem("SKU-1", "Espresso beans", 1, total)
    return OrderPlaced(f"o-{n}", "cust-a", (item,), total, AT.replace(day=n))


def test_read_your_writes_paging_stock_and_search(quick: Services) -> None:
    orders = [
        _append(quick, "sales.order.events", "order", f"o-{n}", [_order(n, 1000 * n)])
        for n in range(1, 4)
    ]
    cancelled = _append(
        quick,
        "sales.order.events",
        "order",
        "o-9",
        [_order(9, 500), OrderCancelled("o-9", "changed mind", AT)],
    )
    stock = _append(
        quick,
        "inventory.stock.events",
        "stock",
        "SKU-1",
        [StockRestocked("SKU-1", 10, AT), StockReserved("SKU-1", "o-1", 3, AT)],
    )
    with TestClient(create_app(quick)) as api:
        token = {"X-Skald-Position": cancelled.position.token()}
        waited = api.get("/orders/o-9", headers=token)
        assert waited.status_code == 504 and "has not reached" in waited.json()["detail"]
        bad = api.get("/orders/o-9", headers={"X-Skald-Position": "not-a-token"})
        assert bad.status_code == 400 and "X-Skald-Position" in bad.json()["detail"]
        wrong = api.get("/orders/o-9", headers={"X-Skald-Position": stock.position.token()})
        assert wrong.status_code == 400 and "reads" in wrong.json()["detail"]
        with projecting(quick, "sales.orders", "sales.order-search", "inventory.stock-levels"):
            order = api.get("/orders/o-9", headers=token)
            assert order.status_code == 200, order.text
            assert order.json()["status"] == "cancelled"
            level = api.get(
                "/inventory/SKU-1", headers={"X-Skald-Position": stock.position.token()}
            )
            assert level.json() | {"updated_at": None} == {
                "sku": "SKU-1",
                "on_hand": 10,
                "reserved": 3,
                "available": 7,
                "version": 2,
                "updated_at": None,
            }
            first = api.get(
                "/customers/cust-a/orders",
                params={"limit": 2},
                headers={"X-Skald-Position": orders[-1].position.token()},
            ).json()
            assert first["summary"] == {
                "orders": 4,
                "placed": 3,
                "confirmed": 0,
                "shipped": 0,
                "cancelled": 1,
                "total_cents": 6000,
            }
            assert [o["order_id"] for o in first["orders"]] == ["o-9", "o-3"]
            second = api.get(
                "/customers/cust-a/orders", params={"limit": 2, "cursor": first["next_cursor"]}
            ).json()
            assert [o["order_id"] for o in second["orders"]] == ["o-2", "o-1"]
            assert second["next_cursor"] is None
            assert api.get("/customers/cust-a/orders", params={"cursor": "@@"}).status_code == 400
            search = {"X-Skald-Position": cancelled.position.token()}
            found = api.get(
                "/search/orders",
                params={"q": "espresso", "status": "placed", "min_total": 2000},
                headers=search,
            ).json()
            assert sorted(o["order_id"] for o in found["orders"]) == ["o-2", "o-3"]
            dated = api.get(
                "/search/orders",
                params={"from": "2026-03-02T00:00:00Z", "to": "2026-03-02T12:00:00Z"},
            ).json()
            assert [o["order_id"] for o in dated["orders"]] == ["o-2"]
            assert api.get("/inventory/NOPE").status_code == 404
