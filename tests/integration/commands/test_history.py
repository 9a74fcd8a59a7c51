"""An order's history and its state as of a version, folded with the decider's `evolve`."""

from __future__ import annotations

import httpx

from contexts.sales.history import order_as_of
from skald.services import Services
from tests.integration.commands.harness import ProcessFactory, SkaldProcess
from tests.integration.commands.load import ORDER


def test_history_lists_every_event_and_as_of_folds_up_to_a_version(
    services: Services, api: SkaldProcess, processor: SkaldProcess, spawn: ProcessFactory
) -> None:
    spawn("history", ["project", "sales.order-history"]).wait_for_log("assigned")
    with httpx.Client(base_url=api.url, timeout=30) as client:
        order_id = client.post("/orders", json=ORDER).json()["order_id"]
        client.post(f"/orders/{order_id}/confirm")
        cancelled = client.post(f"/orders/{order_id}/cancel", json={"reason": "too slow"})
        token = cancelled.headers["X-Skald-Position"]
        history = client.get(f"/orders/{order_id}/events", headers={"X-Skald-Position": token})

    assert history.status_code == 200, history.text
    events = history.json()["events"]
    assert [(e["version"], e["event_type"]) for e in events] == [
        (1, "sales.order.OrderPlaced"),
        (2, "sales.order.OrderConfirmed"),
        (3, "sales.order.OrderCancelled"),
    ]
    assert events[2]["payload"]["reason"] == "too slow"
    assert len({e["correlation_id"] for e in events}) == 3  # one command each
    assert order_as_of(services.engine, order_id, 1)["status"] == "placed"
    assert order_as_of(services.engine, order_id, 2)["status"] == "confirmed"
    assert order_as_of(services.engine, order_id, 3)["status"] == "cancelled"
    assert order_as_of(services.engine, order_id, 4) is None
