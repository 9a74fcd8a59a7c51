"""Limits before Kafka: the largest valid command and what it becomes fit Kafka's record limit,
one over the limit is a 413, a full local queue a 503 with Retry-After, and the producer's
limit stays under the broker's."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from typing import Any

import pytest

from command_processor.hosted import HostedAggregate
from command_processor.snapshots import SnapshotCodec
from contexts.inventory.aggregates import STOCK
from contexts.inventory.api import STOCK_REJECTIONS
from contexts.inventory.stock.commands import Restock
from contexts.sales.aggregates import ORDER
from contexts.sales.order.commands import PlaceOrder
from contexts.sales.order.events import OrderItem
from eventstore.kafka_config import MAX_MESSAGE_BYTES
from eventstore.kafka_connection import KafkaConnection
from eventstore.mapper import EventMapper
from producers.command_bus import CommandBus, Options
from producers.http_commands import execute
from producers.limits import MAX_COMMAND_BYTES, CommandTooLarge, check_command_size
from producers.messages import CommandMessage
from skald.registry import CONTEXTS
from skald.settings import REPO_ROOT

NOW = datetime(2026, 1, 1, tzinfo=UTC)
MAPPER = EventMapper(cls for c in CONTEXTS for cls in (*c.event_classes, *c.command_classes))
# The largest order the API accepts: 500 lines, 64-character SKUs, 200 emoji per name.
LARGEST = PlaceOrder(
    "o" * 64,
    "c" * 64,
    tuple(OrderItem(f"{n:064d}", "😀" * 200, 10_000, 100_000_000) for n in range(500)),
    NOW,
    "t" * 128,
)


def _record(command: PlaceOrder) -> tuple[bytes, bytes, list[Any]]:
    message = CommandMessage(
        MAPPER.event_type(command), command.order_id, MAPPER.to_record(command), "c" * 36, "r"
    )
    return command.order_id.encode(), message.value(), message.headers()


def test_the_largest_valid_order_and_its_snapshot_fit() -> None:
    key, value, headers = _record(LARGEST)
    check_command_size(key, value, headers)  # no CommandTooLarge
    assert len(value) < MAX_COMMAND_BYTES
    (placed,) = ORDER.decide(ORDER.initial, LARGEST)
    state = ORDER.evolve(ORDER.initial, placed)
    snapshot = SnapshotCodec(ORDER).encode(HostedAggregate(state, version=1))
    assert len(snapshot) < MAX_MESSAGE_BYTES


def test_a_command_over_the_limit_is_refused_before_kafka() -> None:
    key, value, headers = _record(LARGEST)
    with pytest.raises(CommandTooLarge, match="over the"):
        check_command_size(key, value, headers, limit=len(value) // 2)


class _FullQueue:
    """A producer whose local queue is full, as librdkafka's raises BufferError."""

    def produce(self, *_: Any, **__: Any) -> None:
        raise BufferError("Local: Queue full")

    def poll(self, _: float) -> int:
        return 0


def test_a_full_local_queue_answers_503_with_retry_after() -> None:
    bus = CommandBus(_FullQueue(), None, "replies", MAPPER, {"stock": "stock.commands"})  # type: ignore[arg-type]

    async def send() -> Any:
        command = Restock("SKU-1", 1, NOW)
        return await execute(bus, STOCK, command, Options(), 5.0, "sku", STOCK_REJECTIONS)

    response = asyncio.run(send())
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert b"queue is full" in response.body


def test_the_producer_limit_stays_under_the_brokers() -> None:
    from eventstore.kafka_config import producer_config

    assert producer_config(KafkaConnection("x:1"))["message.max.bytes"] == MAX_MESSAGE_BYTES
    properties = (REPO_ROOT / "deploy/local/kafka/server.properties").read_text()
    compose = (REPO_ROOT / "deploy/docker-compose.yml").read_text()
    broker = int(re.search(r"^message\.max\.bytes=(\d+)", properties, re.M).group(1))  # type: ignore[union-attr]
    composed = int(re.search(r"KAFKA_MESSAGE_MAX_BYTES: (\d+)", compose).group(1))  # type: ignore[union-attr]
    assert MAX_COMMAND_BYTES < MAX_MESSAGE_BYTES < broker == composed
