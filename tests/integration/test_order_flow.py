"""One order end to end through the running service: POST, then read and search."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from confluent_kafka import Message

from contexts.sales.order.events import OrderPlaced
from contexts.sales.topics import ORDER_EVENTS
from eventstore.envelope import Envelope, header_value
from skald.services import Services
from tests.bad_orders import BAD_ORDERS, GOOD_ORDER
from tests.integration.eventually import eventually
from tests.integration.kafka_probe import end_offsets, read_all
from tests.integration.running_service import running_skald

VISIBLE_WITHIN_SECONDS = 5.0


@pytest.fixture
def api(services: Services, tmp_path: Path) -> Iterator[httpx.Client]:
    with (
        running_skald(services.settings, tmp_path / "skald-run.log") as base_url,
        httpx.Client(base_url=base_url, timeout=10) as client,
    ):
        yield client


def _placed(services: Services, topic: str) -> list[Message]:
    """The topic's OrderPlaced records (the saga may have appended more, e.g. a cancel)."""
    records = read_all(services.settings.kafka_bootstrap, topic)
    return [r for r in records if header_value(r.headers(), "ce_type") == OrderPlaced.EVENT_TYPE]


def test_a_placed_order_is_readable_and_searchable_within_5_seconds(
    api: httpx.Client, services: Services
) -> None:
    order = {
        "customer_id": "cust-ada",
        "items": [
            {"sku": "SKU-BEANS", "name": "Espresso beans", "quantity": 2, "unit_price_cents": 1250},
            {"sku": "SKU-MUG", "name": "Enamel mug", "quantity": 1, "unit_price_cents": 800},
        ],
    }
    placed_at = time.monotonic()
    response = api.post("/orders", json=order)
    assert response.status_code == 201, response.text
    accepted = response.json()
    assert accepted["version"] == 1
    order_id = accepted["order_id"]

    def read() -> dict[str, Any] | None:
        found = api.get(f"/orders/{order_id}")
        return found.json() if found.status_code == 200 else None

    def search(text: str) -> list[str]:
        hits = api.get("/search/orders", params={"q": text}).json()["orders"]
        return [hit["order_id"] for hit in hits]

    stored = eventually(read, VISIBLE_WITHIN_SECONDS)
    assert stored is not None, "order not in PostgreSQL within 5 s"
    assert eventually(lambda: order_id in search("cust-ada"), VISIBLE_WITHIN_SECONDS)
    assert time.monotonic() - placed_at < VISIBLE_WITHIN_SECONDS + 1
    # skald run includes the fulfillment saga: with no stock it may already have cancelled.
    assert stored["status"] in {"placed", "cancelled"}
    assert stored["total_cents"] == 3300
    assert [item["sku"] for item in stored["items"]] == ["SKU-BEANS", "SKU-MUG"]
    assert order_id in search("espresso")  # item names are full text
    assert order_id in search("SKU-MUG")  # and SKUs
    assert api.get("/orders/no-such-order").status_code == 404


def test_the_event_is_avro_with_a_cloudevents_envelope_keyed_by_order(
    api: httpx.Client, services: Services
) -> None:
    order_id = api.post("/orders", json=GOOD_ORDER).json()["order_id"]
    topic = services.settings.topic(ORDER_EVENTS)
    (record,) = _placed(services, topic)
    envelope = Envelope.from_headers(record.headers())
    assert record.key() == order_id.encode()
    assert (envelope.event_type, envelope.aggregate_id, envelope.aggregate_version) == (
        "sales.order.OrderPlaced",
        order_id,
        1,
    )
    decoded_type, body = services.codec.decode(record.value() or b"")
    assert (decoded_type, body["customer_id"]) == (
        OrderPlaced.EVENT_TYPE,
        GOOD_ORDER["customer_id"],
    )


def test_bad_input_gets_a_clear_4xx_and_appends_nothing(
    api: httpx.Client, services: Services
) -> None:
    topic = services.settings.topic(ORDER_EVENTS)
    before = end_offsets(services.settings.kafka_bootstrap, topic)
    for case, body, status, names in BAD_ORDERS:
        response = api.post("/orders", content=body, headers={"content-type": "application/json"})
        assert response.status_code == status, case
        assert names in response.json()["detail"], case
    time.sleep(0.5)  # anything wrongly produced would have been acknowledged by now
    assert end_offsets(services.settings.kafka_bootstrap, topic) == before
    assert api.post("/orders", json=GOOD_ORDER).status_code == 201  # the measure can move
    assert end_offsets(services.settings.kafka_bootstrap, topic) != before
    assert len(_placed(services, topic)) == 1
