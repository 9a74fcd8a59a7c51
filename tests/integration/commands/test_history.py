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
    projectors = spawn("projectors", ["project", "sales.orders", "sales.order-history"])
    projectors.wait_for_log("assigned")
    with httpx.Client(base_url=api.url, timeout=30) as client:
        order_id = client.post("/orders", json=ORDER).json()["order_id"]
        client.post(f"/orders/{order_id}/confirm")
        cancelled = client.post(f"/orders/{order_id}/cancel", json={"reason": "too slow"})
        token = cancelled.headers["X-Skald-Position"]
        wait = {"X-Skald-Position": token}
        history = client.get(f"/orders/{order_id}/events", headers=wait)
        as_of = {
            version: client.get(
                f"/orders/{order_id}", params={"as_of_version": version}, headers=wait
            )
            for version in (1, 2, 3, 4)
        }

    assert history.status_code == 200, history.text
    events = history.json()["events"]
    assert [(e["version"], e["event_type"]) for e in events] == [
        (1, "sales.order.OrderPlaced"),
        (2, "sales.order.OrderConfirmed"),
        (3, "sales.order.OrderCancelled"),
    ]
    assert events[2]["payload"]["reason"] == "too slow"
    assert len({e["correlation_id"] for e in events}) == 3  # one command each
    assert [as_of[v].json()["status"] for v in (1, 2, 3)] == ["placed", "confirmed", "cancelled"]
    assert as_of[1].json()["total_cents"] == 100
    assert as_of[4].status_code == 404
    folded = order_as_of(services.engine, order_id, 2)
    assert folded is not None and folded["status"] == "confirmed"
