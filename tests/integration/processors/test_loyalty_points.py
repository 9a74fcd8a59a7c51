"""Loyalty reacts to OrderConfirmed by itself; a redelivered confirmation awards nothing more."""

from __future__ import annotations

import httpx
from confluent_kafka import Producer

from eventstore.position import Position
from projections.consistency import wait_until_applied
from skald.services import Services
from tests.integration.commands.harness import ProcessFactory, SkaldProcess
from tests.integration.kafka_probe import read_all

ITEM = {"sku": "SKU-P", "name": "Beans", "quantity": 2, "unit_price_cents": 1250}


def _balance(api_url: str, customer: str, position: str) -> dict[str, object]:
    headers = {"X-Skald-Position": position}
    response = httpx.get(f"{api_url}/loyalty/{customer}", headers=headers, timeout=20)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_points_once_per_order_even_when_the_confirmation_is_delivered_again(
    services: Services, api: SkaldProcess, processor: SkaldProcess, spawn: ProcessFactory
) -> None:
    spawn("loyalty", ["project", "loyalty.points"]).wait_for_log("assigned")
    body = {"customer_id": "cust-loyal", "items": [ITEM]}
    placed = httpx.post(f"{api.url}/orders", json=body, timeout=15)
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["order_id"]
    confirmed = httpx.post(f"{api.url}/orders/{order_id}/confirm", timeout=15)
    assert confirmed.status_code < 300, confirmed.text

    first = _balance(api.url, "cust-loyal", confirmed.headers["X-Skald-Position"])
    assert first == {"customer_id": "cust-loyal", "points": 25, "orders": 1}

    # Redelivery: the same OrderConfirmed record, byte for byte, lands in the log again.
    topic = services.settings.topic("sales.order.events")
    original = next(
        m
        for m in read_all(services.settings.kafka_bootstrap, topic)
        if dict(m.headers() or ()).get("ce_type") == b"sales.order.OrderConfirmed"
    )
    copies: list[Position] = []
    producer = Producer({"bootstrap.servers": services.settings.kafka_bootstrap})
    producer.produce(
        topic,
        key=original.key(),
        value=original.value(),
        headers=original.headers(),
        partition=original.partition() or 0,
        on_delivery=lambda _e, m: copies.append(
            Position(topic, m.partition() or 0, m.offset() or 0)
        ),
    )
    producer.flush(10)
    wait_until_applied(services.sink("loyalty.points"), copies[0], timeout=30)

    again = _balance(api.url, "cust-loyal", confirmed.headers["X-Skald-Position"])
    assert again == first
