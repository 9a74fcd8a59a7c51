"""Hourly revenue per SKU from the stream aggregates equals a fold of the raw order events."""

from __future__ import annotations

import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from contexts.sales.stats.aggregates import hour_of
from skald.services import Services
from tests.integration.commands.harness import ProcessFactory, SkaldProcess, read_events
from tests.integration.processors.conftest import CROWD_ENV, start_worker
from tests.integration.processors.sagas import place, restock, wait_final

PLAN = [({"SKU-S1": 2}, "tok_visa"), ({"SKU-S1": 1, "SKU-S2": 3}, "tok_visa")] * 3 + [
    ({"SKU-S2": 1}, "tok_declined"),
    ({"SKU-S3": 5}, "tok_visa"),
    ({"SKU-S3": 1, "SKU-S1": 4}, "tok_visa"),
]


def _expected(services: Services) -> dict[tuple[str, str], dict[str, int]]:
    """Revenue, units and orders per (SKU, hour of confirmation), from the order log alone."""
    items: dict[str, list[Any]] = {}
    totals: dict[tuple[str, str], dict[str, int]] = defaultdict(
        lambda: {"revenue_cents": 0, "units": 0, "orders": 0}
    )
    for event in read_events(services.settings, "sales.order.events", services.codec):
        kind = event.event_type.rsplit(".", 1)[1]
        if kind == "OrderPlaced":
            items[str(event.body["order_id"])] = list(event.body["items"])  # type: ignore[call-overload]
        elif kind == "OrderConfirmed":
            hour = hour_of(event.body["confirmed_at"])  # type: ignore[arg-type]
            per_sku: dict[str, tuple[int, int]] = {}
            for item in items[str(event.body["order_id"])]:
                units, cents = per_sku.get(item["sku"], (0, 0))
                per_sku[item["sku"]] = (
                    units + item["quantity"],
                    cents + item["quantity"] * item["unit_price_cents"],
                )
            for sku, (units, cents) in per_sku.items():
                bucket = totals[(sku, hour)]
                bucket["units"] += units
                bucket["revenue_cents"] += cents
                bucket["orders"] += 1
    return dict(totals)


def _hourly(api_url: str, start: datetime, end: datetime) -> dict[tuple[str, str], Any]:
    params = {"from": start.isoformat(), "to": end.isoformat()}
    response = httpx.get(f"{api_url}/stats/sales", params=params, timeout=10)
    assert response.status_code == 200, response.text
    found = {}
    for row in response.json():
        hour = datetime.fromisoformat(row.pop("hour")).astimezone(UTC).isoformat()
        found[(row.pop("sku"), hour)] = row
    return found


def test_hourly_revenue_equals_a_fold_of_the_order_events(
    services: Services, api: SkaldProcess, processor: SkaldProcess, spawn: ProcessFactory
) -> None:
    start_worker(spawn, "worker", CROWD_ENV)
    spawn("stats", ["project", "sales.stats"])  # the read model behind GET /stats/...
    for sku in ("SKU-S1", "SKU-S2", "SKU-S3"):
        restock(api.url, sku, 20)
    restock(api.url, "SKU-S4", 100)
    order_ids = [place(api.url, lines, token) for lines, token in PLAN]
    # A crowd buying one SKU at once: its sales reach the bucket's agent in batches, each
    # counted whole in one table write and one publish.
    with ThreadPoolExecutor(16) as crowd:
        order_ids += crowd.map(lambda _: place(api.url, {"SKU-S4": 1}, "tok_visa"), range(48))
    states = wait_final(services, order_ids, timeout=60)
    assert {s["phase"] for s in states.values()} == {"done", "cancelled"}

    expected = _expected(services)
    now = datetime.now(UTC)
    start, end = now - timedelta(hours=2), now + timedelta(hours=1)
    deadline = time.monotonic() + 30
    while (found := _hourly(api.url, start, end)) != expected:
        assert time.monotonic() < deadline, (found, expected)
        time.sleep(0.5)

    top = httpx.get(f"{api.url}/stats/top-products", timeout=10).json()
    revenue: dict[str, int] = defaultdict(int)
    for (sku, _), bucket in expected.items():
        revenue[sku] += bucket["revenue_cents"]
    assert [(t["sku"], t["revenue_cents"]) for t in top] == sorted(
        revenue.items(), key=lambda kv: (-kv[1], kv[0])
    )
