"""Writes domain events straight to the event topics, fast: a raw producer, no round trips."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from confluent_kafka import Producer

from contexts.inventory.stock.events import StockReleased, StockReserved, StockRestocked
from contexts.sales.order.events import (
    OrderCancelled,
    OrderConfirmed,
    OrderItem,
    OrderPlaced,
    OrderShipped,
)
from eventstore.envelope import Envelope, Headers
from eventstore.kafka_config import producer_config
from skald.services import Services

ORDERS = "sales.order.events"
STOCK = "inventory.stock.events"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Appendable:
    """One event of one aggregate at one version, for a logical topic."""

    topic: str
    aggregate_type: str
    aggregate_id: str
    version: int
    event: object


class LogWriter:
    """Encodes and produces events as the appender would, without waiting per event."""

    def __init__(self, services: Services) -> None:
        self._services = services
        self._producer = Producer(producer_config(services.settings.kafka_connection()))

    def write(self, events: list[Appendable]) -> None:
        for item in events:
            self.produce(item)
            self._producer.poll(0)
        self.flush()

    def produce(self, item: Appendable) -> None:
        services = self._services
        event_type = services.mapper.event_type(item.event)
        encoded = services.codec.encode(event_type, services.mapper.to_record(item.event))
        envelope = Envelope(
            str(uuid.uuid4()),
            event_type,
            "tests",
            datetime.now(UTC),
            item.aggregate_type,
            item.aggregate_id,
            item.version,
            encoded.schema_version,
            "c",
            "c",
        )
        self.raw(item.topic, item.aggregate_id.encode(), encoded.payload, envelope.to_headers())

    def raw(self, topic: str, key: bytes, value: bytes, headers: Headers) -> None:
        while True:
            try:
                self._producer.produce(
                    self._services.settings.topic(topic), key=key, value=value, headers=headers
                )
                return
            except BufferError:
                self._producer.poll(0.05)

    def flush(self) -> None:
        assert self._producer.flush(60) == 0


def scenario(orders: int, skus: int, stock_events: int, seed: int = 7) -> list[Appendable]:
    """Orders placed, then confirmed, shipped or cancelled; SKUs restocked, reserved, released."""
    rng = random.Random(seed)
    order_ids = [f"o-{seed}-{n}" for n in range(orders)]
    sku_ids = [f"SKU-{n}" for n in range(skus)]
    placed, later = [], []
    for n, order_id in enumerate(order_ids):
        items = tuple(
            OrderItem(
                rng.choice(sku_ids), f"item {rng.choice(['beans', 'mug', 'filter'])}", q, 100 * q
            )
            for q in range(1, rng.randint(2, 4))
        )
        total = sum(i.quantity * i.unit_price_cents for i in items)
        at = T0 + timedelta(seconds=n)
        placed.append(
            Appendable(
                ORDERS,
                "order",
                order_id,
                1,
                OrderPlaced(order_id, f"cust-{n % 97}", items, total, at),
            )
        )
        roll = rng.random()
        if roll < 0.2:
            later.append(
                [
                    Appendable(
                        ORDERS, "order", order_id, 2, OrderCancelled(order_id, "changed mind", at)
                    )
                ]
            )
        elif roll < 0.9:
            steps = [Appendable(ORDERS, "order", order_id, 2, OrderConfirmed(order_id, at))]
            if roll < 0.6:
                steps.append(Appendable(ORDERS, "order", order_id, 3, OrderShipped(order_id, at)))
            later.append(steps)
    stock = _stock(rng, sku_ids, stock_events)
    events = placed + stock[: len(stock) // 2]
    # Later order events interleave across orders but stay in order per order.
    events += [step for steps in later for step in steps[:1]] + stock[len(stock) // 2 :]
    events += [step for steps in later for step in steps[1:]]
    return events


def _stock(rng: random.Random, skus: list[str], count: int) -> list[Appendable]:
    versions = dict.fromkeys(skus, 0)
    events: list[Appendable] = []
    for n in range(count):
        sku = rng.choice(skus)
        versions[sku] += 1
        kind = rng.random() if versions[sku] > 1 else 0.0
        if kind < 0.4:
            event: object = StockRestocked(sku, rng.randint(1, 50), T0)
        elif kind < 0.8:
            event = StockReserved(sku, f"o-{n}", rng.randint(1, 5), T0)
        else:
            event = StockReleased(sku, f"o-{n}", rng.randint(1, 5), T0)
        events.append(Appendable(STOCK, "stock", sku, versions[sku], event))
    return events
