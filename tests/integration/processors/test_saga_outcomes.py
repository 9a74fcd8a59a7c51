"""The fulfillment saga's outcomes end in the right state with the right participant events."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import httpx
from confluent_kafka import Producer

from contexts.payments.payment.commands import VoidPayment
from contexts.sales.fulfillment.topics import CHANGELOG
from eventstore import kafka_config
from producers.command_bus import REPLY_TOPIC
from producers.messages import CommandMessage
from skald.services import Services
from tests.integration.commands.harness import ProcessFactory, SkaldProcess
from tests.integration.kafka_probe import read_all
from tests.integration.processors.conftest import WORKER_ENV, start_worker
from tests.integration.processors.sagas import (
    events_by_type,
    phase_history,
    place,
    restock,
    saga_view,
    wait_final,
)


def test_happy_path_decline_and_out_of_stock(
    services: Services,
    api: SkaldProcess,
    processor: SkaldProcess,
    worker: SkaldProcess,
    spawn: ProcessFactory,
) -> None:
    spawn("sagas", ["project", "sales.sagas"])  # the read model behind GET /sagas/{id}
    restock(api.url, "SKU-A", 10)
    happy = place(api.url, {"SKU-A": 2}, "tok_visa")
    declined = place(api.url, {"SKU-A": 3}, "tok_declined")
    short = place(api.url, {"SKU-A": 1, "SKU-B": 1})  # SKU-B was never restocked

    states = wait_final(services, [happy, declined, short])

    assert states[happy]["phase"] == "done"
    phases = [p for p in phase_history(services)[happy] if p != "waiting"]  # card came first
    assert phases == ["reserving", "confirming", "shipping", "done"]  # stock and payment at once
    assert states[declined]["phase"] == "cancelled"
    assert states[declined]["reason"] == "payment declined"
    assert states[short]["phase"] == "cancelled"
    assert states[short]["reason"] == "out of stock: SKU-B"

    orders = events_by_type(services, "sales.order.events")
    stock = events_by_type(services, "inventory.stock.events")
    payments = events_by_type(services, "payments.payment.events")
    assert orders[happy] == {"OrderPlaced": 1, "OrderConfirmed": 1, "OrderShipped": 1}
    assert stock[happy] == {"StockReserved": 1, "StockShipped": 1}  # shipping consumed it
    assert payments[happy] == {"PaymentAuthorized": 1}
    assert orders[declined] == {"OrderPlaced": 1, "OrderCancelled": 1}
    assert stock[declined] == {"StockReserved": 1, "StockReleased": 1}
    assert payments[declined] == {"PaymentDeclined": 1}
    assert orders[short] == {"OrderPlaced": 1, "OrderCancelled": 1}
    assert stock[short] == {"StockReserved": 1, "StockReleased": 1}  # SKU-A, given back
    # The card on file was authorized beside the stock, then voided with it.
    assert payments[short] == {"PaymentAuthorized": 1, "PaymentVoided": 1}

    happy_view = saga_view(api.url, happy)
    assert sorted(happy_view["steps"][:2]) == ["authorize", "reserve:SKU-A"]
    assert happy_view["steps"][2] == "confirm"
    assert sorted(happy_view["steps"][3:]) == ["dispatch:SKU-A", "ship"]
    assert happy_view["compensations"] == [] and happy_view["pending"] == []
    declined_view = saga_view(api.url, declined)
    assert declined_view["phase"] == "cancelled"
    assert declined_view["reason"] == "payment declined"
    assert set(declined_view["steps"]) <= {"reserve:SKU-A"}  # the decline may answer first
    assert set(declined_view["compensations"]) == {"release:SKU-A", "void", "cancel"}
    assert httpx.get(f"{api.url}/sagas/no-such-order", timeout=5).status_code == 404


def test_a_participant_that_does_not_answer_is_compensated(
    services: Services, api: SkaldProcess, spawn: ProcessFactory
) -> None:
    spawn("orders-and-stock", ["process", "order", "stock"]).wait_for_log("assigned")
    start_worker(spawn)
    restock(api.url, "SKU-T", 5)
    order_id = place(api.url, {"SKU-T": 2}, "tok_visa")

    # Payments are down: the authorization times out, the stock goes back, the order is cancelled.
    orders = _wait_cancelled(services, order_id)
    assert orders[order_id] == {"OrderPlaced": 1, "OrderCancelled": 1}
    assert events_by_type(services, "inventory.stock.events")[order_id] == {
        "StockReserved": 1,
        "StockReleased": 1,
    }

    # Payments come back and answer the old authorization: the saga voids it and settles.
    spawn("payments", ["process", "payment"]).wait_for_log("assigned")
    state = wait_final(services, [order_id])[order_id]
    assert state["phase"] == "cancelled"
    assert state["reason"] == "timed out while authorizing"
    assert events_by_type(services, "payments.payment.events")[order_id] == {
        "PaymentAuthorized": 1,
        "PaymentVoided": 1,
    }


def _wait_cancelled(services: Services, order_id: str) -> dict[str, object]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        orders = events_by_type(services, "sales.order.events")
        if orders[order_id].get("OrderCancelled"):
            return dict(orders)
        time.sleep(1)
    raise AssertionError(f"order {order_id} not cancelled")


def test_a_free_order_ships_without_an_authorization(
    services: Services, api: SkaldProcess, processor: SkaldProcess, worker: SkaldProcess
) -> None:
    restock(api.url, "SKU-F", 3)
    free = place(api.url, {"SKU-F": 1}, "tok_declined", price=0)  # no card is ever charged

    state = wait_final(services, [free])[free]

    assert state["phase"] == "done" and "authorize" not in state["steps"]
    assert events_by_type(services, "sales.order.events")[free] == {
        "OrderPlaced": 1,
        "OrderConfirmed": 1,
        "OrderShipped": 1,
    }
    assert events_by_type(services, "payments.payment.events")[free] == {}
    assert events_by_type(services, "inventory.stock.events")[free] == {
        "StockReserved": 1,
        "StockShipped": 1,
    }


def test_a_participant_that_is_merely_slow_is_waited_for(
    services: Services, spawn: ProcessFactory
) -> None:
    # The door is open: this test queues work on purpose.
    api = spawn("api", ["api"], {"SKALD_ADMISSION_ENABLED": "false"})
    api.wait_healthy()
    spawn("orders-and-stock", ["process", "order", "stock"]).wait_for_log("assigned")
    spawn("payments", ["process", "payment"]).wait_for_log("assigned")
    start_worker(spawn)  # 4 s deadlines
    restock(api.url, "SKU-SLOW", 5)

    # Payments are busy, not down: a long queue of other commands ahead of the saga's.
    _queue_junk_payments(services, JUNK)
    started = time.monotonic()
    order_id = place(api.url, {"SKU-SLOW": 1}, "tok_visa")
    state = wait_final(services, [order_id], timeout=240)[order_id]
    waited = time.monotonic() - started

    assert state["phase"] == "done", state
    assert waited > 4, f"the queue drained in {waited:.1f} s: the deadline was never at stake"
    assert events_by_type(services, "payments.payment.events")[order_id] == {"PaymentAuthorized": 1}


JUNK = 300_000  # voids of payments that do not exist: refused one by one, 8-10 s of work


def _queue_junk_payments(services: Services, count: int) -> None:
    settings = services.settings
    producer = Producer(kafka_config.producer_config(settings.kafka_connection()))
    reply_to = settings.topic(REPLY_TOPIC.name)
    for n in range(count):
        message = CommandMessage(
            command_type=VoidPayment.COMMAND_TYPE,
            aggregate_id=f"junk-{n}",
            payload={"order_id": f"junk-{n}", "at": "2026-01-01T00:00:00+00:00"},
            correlation_id=f"junk-{n}",
            reply_to=reply_to,
        )
        while True:
            try:
                producer.produce(
                    settings.topic("payments.payment.commands"),
                    key=message.aggregate_id.encode(),
                    value=message.value(),
                    headers=message.headers(),
                )
                break
            except BufferError:  # the local queue is full: let deliveries make room
                producer.poll(0.5)
    assert producer.flush(60) == 0


def test_a_finished_saga_is_forgotten_and_an_old_message_starts_nothing(
    services: Services, api: SkaldProcess, processor: SkaldProcess, spawn: ProcessFactory
) -> None:
    start_worker(spawn, env={**WORKER_ENV, "SKALD_FULFILLMENT_RETENTION_SECONDS": "3"})
    restock(api.url, "SKU-R", 5)
    order_id = place(api.url, {"SKU-R": 1}, "tok_visa")

    # Done, remembered for 3 s, then deleted: the changelog ends in a tombstone.
    history = _changelog_of(services, order_id, until=lambda values: values[-1] is None)
    assert json.loads(history[-2] or b"null")["phase"] == "done"

    # The order's OrderPlaced again, an hour old (as a re-read of an old offset would be): the
    # saga it was about is forgotten, so nothing starts again.
    orders = services.topic("sales.order.events")
    placed = next(
        m
        for m in read_all(services.settings.kafka_bootstrap, orders)
        if m.key() == order_id.encode()
    )
    producer = Producer(kafka_config.producer_config(services.settings.kafka_connection()))
    hour_ago_ms = int((time.time() - 3600) * 1000)
    producer.produce(
        orders,
        key=placed.key(),
        value=placed.value(),
        headers=placed.headers(),
        timestamp=hour_ago_ms,
    )
    producer.flush(10)
    later = place(api.url, {"SKU-R": 1}, "tok_visa")  # read after the old one, same worker
    wait_final(services, [later])

    assert _changelog_of(services, order_id, until=lambda _: True) == history
    reserved = events_by_type(services, "inventory.stock.events")[order_id]
    assert reserved == {"StockReserved": 1, "StockShipped": 1}


def _changelog_of(
    services: Services, order_id: str, until: Callable[[list[bytes | None]], bool]
) -> list[bytes | None]:
    """The saga's changelog values in order, once `until` holds for them (30 s at most)."""
    topic = services.topic(CHANGELOG)
    deadline = time.monotonic() + 30
    while True:
        values = [
            m.value()
            for m in read_all(services.settings.kafka_bootstrap, topic)
            if m.key() == order_id.encode()
        ]
        if values and until(values):
            return values
        assert time.monotonic() < deadline, f"saga {order_id} changelog: {values}"
        time.sleep(0.5)
