"""Invariant 11 for stock: a SKU with many lifetime orders restores and answers like a new one.

The long history is appended directly with the production record path (one StockRestocked,
then 100,000 x StockReserved + StockShipped). The processor only folds events for partitions
whose snapshots have another state shape, so the bench folds the history itself with the
processor's `fold_events` (timed: what a restore without a snapshot costs) and writes the
result as the SKU's snapshot. A processor then answers one command per SKU (it writes their
snapshots), is restarted, and both SKUs, on different partitions, are measured side by side:
restore from snapshot, snapshot bytes, command latency.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiokafka.partitioner import murmur2
from confluent_kafka import Consumer, KafkaError, Message, Producer

from bench.namespace import LoggedProcessor, drop_namespace
from bench.result import Result
from command_processor.restore import RestoreTopics, fold_events, read_to_end, restore
from command_processor.snapshots import SnapshotCodec
from contexts.inventory.aggregates import STOCK
from contexts.inventory.stock.commands import Restock
from contexts.inventory.stock.events import StockReserved, StockRestocked, StockShipped
from eventstore import kafka_config
from eventstore.aggregate import AggregateType
from eventstore.outgoing import Stream
from producers.command_bus import Options
from skald.provision import apply_topic_specs
from skald.registry import CONTEXTS
from skald.services import Services
from skald.settings import Settings

ORDERS = int(os.environ.get("SKALD_BENCH_LIFETIME_ORDERS", "100000"))
COMMANDS = int(os.environ.get("SKALD_BENCH_LIFETIME_COMMANDS", "50"))  # latency samples per SKU
RESTORES = 5  # restore samples per SKU; the median is reported
BUS_STOCK: AggregateType[Any] = STOCK  # the command bus takes any aggregate type
OLD_SKU = "SKU-LIFETIME-OLD"


def _partition(sku: str, partitions: int) -> int:
    """The partition murmur2_random (Java's and the command bus's partitioner) gives a key."""
    return (murmur2(sku.encode()) & 0x7FFFFFFF) % partitions


def _new_sku(partitions: int) -> str:
    """A SKU on another partition than the old one, so each partition restores one SKU."""
    taken = _partition(OLD_SKU, partitions)
    return next(
        sku
        for sku in (f"SKU-LIFETIME-NEW-{n}" for n in range(1000))
        if _partition(sku, partitions) != taken
    )


def _history(sku: str) -> list[object]:
    at = datetime.now(UTC)
    events: list[object] = [StockRestocked(sku, ORDERS, at)]
    for n in range(ORDERS):
        order = f"order-{n}"
        events += [StockReserved(sku, order, 1, at), StockShipped(sku, order, 1, at)]
    return events


def _write_history(services: Services, sku: str) -> int:
    """The SKU's lifetime events, appended as the processor would; their partition."""
    settings = services.settings
    events_topic = settings.topic(STOCK.events_topic)
    config = kafka_config.producer_config(settings.kafka_connection())
    producer = Producer({**config, "queue.buffering.max.messages": 1_000_000, "linger.ms": 5})
    landed: set[int] = set()

    def on_delivery(error: KafkaError | None, message: Message) -> None:
        assert error is None, error
        landed.add(message.partition() or 0)

    stream = Stream(events_topic, STOCK.name, sku)
    for version, event in enumerate(_history(sku), start=1):
        record = services.event_records.build(stream, event, version, "bench", "bench")
        _produce(producer, events_topic, record.key, record.value, record.headers, on_delivery)
    assert producer.flush(120) == 0, "history not acknowledged"
    assert len(landed) == 1, f"{sku} landed on partitions {landed}"
    return landed.pop()


def _fold_and_snapshot(services: Services, partition: int, sku: str) -> float:
    """Fold the partition's events as the processor does without a usable snapshot, and write
    the SKU's snapshot from the result; the fold's seconds."""
    settings = services.settings
    events_topic, state_topic = (
        settings.topic(STOCK.events_topic),
        settings.topic(STOCK.state_topic),
    )
    reader, codec, mapper = _reader(settings), services.codec, services.command_mapper
    started = time.perf_counter()
    hosted = fold_events(STOCK, events_topic, partition, reader, codec, mapper)[sku]
    seconds = time.perf_counter() - started
    assert hosted.version == 1 + 2 * ORDERS and not hosted.state.reservations, hosted.version
    producer = Producer(kafka_config.producer_config(settings.kafka_connection()))
    producer.produce(state_topic, key=sku.encode(), value=SnapshotCodec(STOCK).encode(hosted))
    assert producer.flush(30) == 0, "snapshot not acknowledged"
    return seconds


def _produce(
    producer: Producer, topic: str, key: bytes, value: bytes, headers: Any, cb: Any
) -> None:
    while True:
        try:
            producer.produce(topic, key=key, value=value, headers=headers, on_delivery=cb)
            producer.poll(0)
            return
        except BufferError:
            producer.poll(0.01)


async def _restock(services: Services, sku: str) -> tuple[float, int]:
    """One Restock through the command bus: its latency and the SKU's version after it."""
    started = time.perf_counter()
    reply = await services.command_bus.send(
        BUS_STOCK, Restock(sku, 1, datetime.now(UTC)), Options(), timeout=60
    )
    assert reply.accepted and reply.version is not None, reply
    return time.perf_counter() - started, reply.version


async def _latencies(services: Services, skus: list[str]) -> dict[str, list[float]]:
    """COMMANDS restocks per SKU, one at a time and alternating, so both see the same load."""
    found: dict[str, list[float]] = {sku: [] for sku in skus}
    for _ in range(COMMANDS):
        for sku in skus:
            found[sku].append((await _restock(services, sku))[0])
    return found


def _timed_restore(services: Services, partition: int, sku: str) -> tuple[float, int]:
    """The processor's restore of one partition (median seconds) and the SKU's version."""
    settings = services.settings
    topics = RestoreTopics(
        settings.topic(STOCK.state_topic),
        settings.topic(STOCK.events_topic),
        settings.topic(STOCK.outcomes_topic),
    )
    samples, version = [], 0
    for _ in range(RESTORES):
        started = time.perf_counter()
        restored = restore(
            STOCK,
            topics,
            [partition],
            _reader(settings),
            services.codec,
            services.command_mapper,
            settings.idempotency_retention_ms,
        )
        samples.append(time.perf_counter() - started)
        version = restored[partition].hosted[sku].version
    return statistics.median(samples), version


def _snapshot_bytes(settings: Settings, partition: int, sku: str) -> int:
    topic = settings.topic(STOCK.state_topic)
    values = [
        m.value() or b""
        for m in read_to_end(_reader(settings), [(topic, partition)])
        if m.key() == sku.encode()
    ]
    return len(values[-1])


def _reader(settings: Settings) -> Callable[[], Consumer]:
    connection = settings.kafka_connection()
    return lambda: Consumer(kafka_config.reader_config(connection, settings.group("skald.reader")))


def _measure(services: Services) -> list[Result]:
    settings = services.settings
    created = {r.topic: r.partitions for r in apply_topic_specs(services)}
    partitions = created[settings.topic(STOCK.commands_topic)]
    new_sku = _new_sku(partitions)
    old_partition, new_partition = _partition(OLD_SKU, partitions), _partition(new_sku, partitions)
    assert _write_history(services, OLD_SKU) == old_partition, "partitioners disagree"
    fold_seconds = _fold_and_snapshot(services, old_partition, OLD_SKU)
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "processor.log"
        first = LoggedProcessor(settings, log, [STOCK.name])
        try:
            first.restore_seconds(STOCK.name, timeout=600)
            # One command each: the processor writes both SKUs' snapshots itself.
            (_, old_version), (_, new_version) = (
                asyncio.run(_restock(services, sku)) for sku in (OLD_SKU, new_sku)
            )
        finally:
            first.stop()
        assert (old_version, new_version) == (2 + 2 * ORDERS, 1), (old_version, new_version)
        second = LoggedProcessor(settings, log, [STOCK.name])
        try:
            restart_seconds = second.restore_seconds(STOCK.name, timeout=600)
            latencies = asyncio.run(_latencies(services, [OLD_SKU, new_sku]))
        finally:
            second.stop()
    old_restore, old_version = _timed_restore(services, old_partition, OLD_SKU)
    new_restore, new_version = _timed_restore(services, new_partition, new_sku)
    assert (old_version, new_version) == (2 + 2 * ORDERS + COMMANDS, 1 + COMMANDS)
    old_bytes = _snapshot_bytes(settings, old_partition, OLD_SKU)
    new_bytes = _snapshot_bytes(settings, new_partition, new_sku)
    old_p50, new_p50 = (statistics.median(latencies[s]) * 1000 for s in (OLD_SKU, new_sku))
    old = f"SKU of {ORDERS:,} orders"
    return [
        Result(
            f"{old}: restore (partition, median of {RESTORES})",
            old_restore * 1000,
            "ms",
            "new SKU",
            new_restore * 1000,
            target="ratio ≤ 1.5",
            met=old_restore <= 1.5 * new_restore,
            notes="command_processor.restore.restore, what the processor runs on assignment",
        ),
        Result(
            f"{old}: snapshot size",
            old_bytes,
            "bytes",
            "new SKU",
            new_bytes,
            target="ratio ≤ 1.5",
            met=old_bytes <= 1.5 * new_bytes,
        ),
        Result(
            f"{old}: Restock p50 ({COMMANDS} in turn, command bus)",
            old_p50,
            "ms",
            "new SKU",
            new_p50,
            target="ratio ≤ 1.5",
            met=old_p50 <= 1.5 * new_p50,
        ),
        Result(
            f"{old}: fold of its {1 + 2 * ORDERS:,} events",
            fold_seconds * 1000,
            "ms",
            "from its snapshot",
            old_restore * 1000,
            notes="paid once after a state-shape change; never on an ordinary restart",
        ),
        Result("processor restart: restore of all stock partitions", restart_seconds * 1000, "ms"),
    ]


def run(settings: Settings) -> list[Result]:
    """The long-lived SKU beside a new one, in a fresh namespace dropped afterwards."""
    namespaced = settings.model_copy(update={"namespace": f"bench{uuid.uuid4().hex[:6]}"})
    services = Services(namespaced, CONTEXTS)
    try:
        return _measure(services)
    finally:
        services.close()
        drop_namespace(namespaced)
