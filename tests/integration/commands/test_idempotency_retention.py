"""Invariant 4 on a busy aggregate: an idempotency key is remembered for the retention, not
for the last few hundred commands, through a kill -9 and through a change of the state class.

Commands go the way the saga sends them (the command bus, a key and fingerprint on each) to a
real command processor process; the log is read back from Kafka.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import Message, Producer

from command_processor.snapshots import shape_fingerprint
from contexts.inventory.aggregates import STOCK
from contexts.inventory.stock.commands import Restock
from contexts.inventory.stock.decider import Stock
from eventstore.aggregate import AggregateType
from producers.command_bus import Options
from producers.messages import OutcomeKind, Reply
from skald.services import Services
from tests.integration.commands.harness import ProcessFactory, SkaldProcess, read_events
from tests.integration.kafka_probe import read_all

BUS_STOCK: AggregateType[Any] = STOCK
SKU = "SKU-BUSY"
OTHERS = 300  # keyed commands on the same SKU after the first: more than the old 256 bound
CONCURRENCY = 16


async def _restock(services: Services, key: str, quantity: int) -> Reply:
    """A keyed Restock; the fingerprint stands for the request, so another quantity differs."""
    command = Restock(SKU, quantity, datetime.now(UTC))
    options = Options(idempotency_key=key, request_fingerprint=f"restock:{quantity}")
    return await services.command_bus.send(BUS_STOCK, command, options, timeout=60)


async def _busy(services: Services) -> Reply:
    """The first keyed command, then OTHERS more on the same SKU; the first one's reply."""
    first = await _restock(services, "first", 7)
    assert first.accepted and first.version == 1, first
    gate = asyncio.Semaphore(CONCURRENCY)

    async def other(n: int) -> None:
        async with gate:
            reply = await _restock(services, f"other-{n}", 1)
            assert reply.accepted, reply

    await asyncio.gather(*(other(n) for n in range(OTHERS)))
    return first


def _events_of_sku(services: Services) -> int:
    events = read_events(services.settings, STOCK.events_topic, services.codec)
    return sum(1 for e in events if e.envelope.aggregate_id == SKU)


def _assert_remembered(
    services: Services, first: Reply, key: str = "first", quantity: int = 7
) -> None:
    """The same request gets the original reply and appends nothing; another is refused."""
    before = _events_of_sku(services)
    assert asyncio.run(_restock(services, key, quantity)) == first
    reused = asyncio.run(_restock(services, key, quantity + 1))
    assert reused.kind is OutcomeKind.KEY_REUSED and "already used" in (reused.detail or ""), reused
    assert _events_of_sku(services) == before


def test_a_key_outlives_hundreds_of_commands_on_its_aggregate_and_a_kill_9(
    services: Services, processor: SkaldProcess, spawn: ProcessFactory
) -> None:
    first = asyncio.run(_busy(services))
    assert _events_of_sku(services) == 1 + OTHERS
    _assert_remembered(services, first)

    processor.kill()
    restarted = spawn("processor-restarted", ["process"])
    restarted.wait_for_log("assigned", timeout=120)
    _assert_remembered(services, first)
    assert _events_of_sku(services) == 1 + OTHERS


def _snapshots_of_sku(services: Services) -> list[Message]:
    topic = services.settings.topic(STOCK.state_topic)
    return [
        m for m in read_all(services.settings.kafka_bootstrap, topic) if m.key() == SKU.encode()
    ]


def _write_old_shape_snapshot(services: Services, legacy: Reply) -> None:
    """What a processor of an older state class left: another shape, outcomes inside."""
    newest = _snapshots_of_sku(services)[-1]
    snapshot = json.loads(newest.value() or b"")
    snapshot["shape"] = "an-older-shape"
    outcomes = [{"key": "legacy", "fingerprint": "restock:3", "reply": legacy.to_json()}]
    snapshot["outcomes"] = outcomes
    producer = Producer({"bootstrap.servers": services.settings.kafka_bootstrap})
    topic = services.settings.topic(STOCK.state_topic)
    producer.produce(topic, json.dumps(snapshot).encode(), SKU.encode(), newest.partition() or 0)
    assert producer.flush(30) == 0


def test_a_state_class_change_folds_from_events_keeps_outcomes_and_writes_fresh_snapshots(
    services: Services, processor: SkaldProcess, spawn: ProcessFactory
) -> None:
    first = asyncio.run(_busy(services))
    processor.kill()
    legacy = Reply(OutcomeKind.ACCEPTED, SKU, False, 2, ("StockRestocked",), "an-old-position")
    _write_old_shape_snapshot(services, legacy)

    folding = spawn("processor-folding", ["process"])
    folding.wait_for_log("assigned", timeout=120)
    assert "another state shape; rebuilding" in folding.log()
    assert "wrote" in folding.log() and "restored records" in folding.log()
    newest = json.loads(_snapshots_of_sku(services)[-1].value() or b"")
    assert newest["shape"] == shape_fingerprint(Stock) and "outcomes" not in newest
    assert newest["version"] == 1 + OTHERS and newest["state"]["on_hand"] == 7 + OTHERS
    _assert_remembered(services, first)
    _assert_remembered(services, legacy, key="legacy", quantity=3)  # from the old snapshot

    folding.kill()
    bounded = spawn("processor-bounded", ["process"])
    bounded.wait_for_log("assigned", timeout=120)
    assert "rebuilding" not in bounded.log()  # the fresh snapshots are the newest now
    _assert_remembered(services, first)
    _assert_remembered(
        services, legacy, key="legacy", quantity=3
    )  # its outcome went onto the topic
    assert _events_of_sku(services) == 1 + OTHERS
