"""A flash sale: a burst above capacity is refused at the door, every accepted order ships,
none is cancelled because Skald was busy, and the topics go quiet afterwards."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from contexts.sales.api import ORDER_ID_NAMESPACE
from contexts.sales.fulfillment.topics import INBOX, REPLIES
from skald.services import Services
from tests.integration.commands.harness import ProcessFactory
from tests.integration.kafka_probe import end_offsets
from tests.integration.processors.conftest import CROWD_ENV, start_worker
from tests.integration.processors.sagas import restock, saga_states, wait_final

CLIENTS = 48
SECONDS = 10.0
# A small door, so this machine's capacity is exceeded within the burst.
DOOR = {"SKALD_ADMISSION_MAX_BACKLOG_SECONDS": "2", "SKALD_ADMISSION_MIN_MESSAGES": "50"}


def test_a_burst_above_capacity_is_refused_at_the_door_and_every_accepted_order_ships(
    services: Services, spawn: ProcessFactory
) -> None:
    api = spawn("api", ["api"], DOOR)
    api.wait_healthy()
    spawn("processor", ["process"]).wait_for_log("assigned")
    start_worker(spawn, "worker", CROWD_ENV)  # production deadlines: 30 s
    restock(api.url, "SKU-BURST", 1_000_000)

    answers = _burst(api.url)
    statuses = Counter(status for _, status in answers)
    assert set(statuses) <= {201, 503, 504}, statuses  # accepted, refused, or a slow reply
    assert statuses[503] > 0, f"the burst never exceeded capacity: {statuses}"
    # A 504 may still have placed its order: its id is derived from the Idempotency-Key.
    placed = [order_id for order_id, status in answers if status in (201, 504)]
    states = _final(services, placed, some_may_not_exist=statuses[504] > 0)

    phases = Counter(state["phase"] for state in states.values())
    assert phases["cancelled"] == 0, [s["reason"] for s in states.values() if s["reason"]]
    assert phases["done"] >= statuses[201]
    assert _quiet(services), "commands or saga messages still flowing after the burst"


def _burst(api_url: str) -> list[tuple[str, int]]:
    """CLIENTS closed-loop clients for SECONDS, no retries: (order id, status) per request."""
    deadline = time.monotonic() + SECONDS
    body = {
        "customer_id": "cust-burst",
        "items": [{"sku": "SKU-BURST", "name": "Flash", "quantity": 1, "unit_price_cents": 900}],
        "payment_token": "tok_visa",
    }

    def client(_: int) -> list[tuple[str, int]]:
        seen = []
        with httpx.Client(base_url=api_url, timeout=30) as http:
            while time.monotonic() < deadline:
                key = str(uuid.uuid4())
                response = http.post("/orders", json=body, headers={"Idempotency-Key": key})
                if response.status_code == 503:
                    assert int(response.headers["Retry-After"]) >= 1
                    assert "capacity" in response.json()["detail"]
                seen.append((str(uuid.uuid5(ORDER_ID_NAMESPACE, key)), response.status_code))
        return seen

    with ThreadPoolExecutor(CLIENTS) as pool:
        return [answer for answers in pool.map(client, range(CLIENTS)) for answer in answers]


def _final(
    services: Services, order_ids: list[str], some_may_not_exist: bool
) -> dict[str, dict[str, Any]]:
    """The sagas' states once every one of them is final (a 504'd order may never exist)."""
    if some_may_not_exist:
        time.sleep(10)  # a command that timed out at the API is handled by now, or never was
        order_ids = [o for o in order_ids if o in saga_states(services)]
    return wait_final(services, order_ids, timeout=420)


def _quiet(services: Services, seconds: float = 5.0) -> bool:
    """No record lands on any commands topic, the inbox or the replies for `seconds`."""
    topics = [services.topic(a.commands_topic) for a in services.aggregates]
    topics += [services.topic(INBOX.name), services.topic(REPLIES.name)]
    bootstrap = services.settings.kafka_bootstrap
    before = {t: end_offsets(bootstrap, t) for t in topics}
    time.sleep(seconds)
    return before == {t: end_offsets(bootstrap, t) for t in topics}
