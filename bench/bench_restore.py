"""Restore of the command processor: a long-lived aggregate from its snapshot beside a fold of
all its events; a partition of many one-shot aggregates (orders) into the bounded store beside
all of them decoded in memory, as the processor kept them before."""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import os
import time
import tracemalloc
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from functools import reduce
from typing import Any

from confluent_kafka import Consumer, Producer

from bench.namespace import drop_namespace
from bench.result import Result
from command_processor import restore as restoring
from command_processor.hosted import HostedAggregate
from command_processor.snapshots import SnapshotCodec
from contexts.inventory.aggregates import STOCK
from contexts.inventory.stock.events import StockRestocked
from contexts.sales.aggregates import ORDER
from contexts.sales.order.events import OrderItem, OrderPlaced
from eventstore import kafka_config
from eventstore.aggregate import AggregateType
from eventstore.outgoing import Stream
from skald.provision import apply_topic_specs
from skald.registry import CONTEXTS
from skald.services import Services
from skald.settings import Settings

HOT_EVENTS = int(os.environ.get("SKALD_BENCH_RESTORE_EVENTS", "100000"))
ORDERS = int(os.environ.get("SKALD_BENCH_RESTORE_ORDERS", "100000"))


def _readers(settings: Settings) -> Callable[[], Consumer]:
    """New restore readers, as the processor makes them."""

    def reader() -> Consumer:
        return Consumer(
            kafka_config.reader_config(settings.kafka_connection(), settings.group("skald.reader"))
        )

    return reader


def _restore_partition_0(
    services: Services, aggregate: AggregateType[Any]
) -> dict[int, restoring.RestoredPartition]:
    """Partition 0 of the aggregate type, as the processor restores it."""
    settings = services.settings
    topics = restoring.RestoreTopics(
        settings.topic(aggregate.state_topic),
        settings.topic(aggregate.events_topic),
        settings.topic(aggregate.outcomes_topic),
    )
    return restoring.restore(
        aggregate,
        topics,
        [0],
        _readers(settings),
        services.codec,
        services.command_mapper,
        settings.idempotency_retention_ms,
        settings.processor_cached_aggregates,
    )


def _restore(services: Services) -> list[Result]:
    """One stock aggregate with HOT_EVENTS events: restore from its snapshot vs from events."""
    settings = services.settings
    events_topic, state_topic = (
        settings.topic(STOCK.events_topic),
        settings.topic(STOCK.state_topic),
    )
    producer = Producer(
        {
            **kafka_config.producer_config(settings.kafka_connection()),
            "queue.buffering.max.messages": 1_000_000,
        }
    )
    stream = Stream(events_topic, STOCK.name, "SKU-HOT")
    events = [StockRestocked("SKU-HOT", 1, datetime.now(UTC)) for _ in range(HOT_EVENTS)]
    for version, event in enumerate(events, start=1):
        record = services.event_records.build(stream, event, version, "bench", "bench")
        producer.produce(
            events_topic, key=record.key, value=record.value, headers=record.headers, partition=0
        )
        if version % 10000 == 0:
            producer.flush()
    state = reduce(STOCK.evolve, events, STOCK.initial)
    snapshot = SnapshotCodec(STOCK).encode(HostedAggregate(state, HOT_EVENTS))
    producer.produce(state_topic, key=b"SKU-HOT", value=snapshot, partition=0)
    assert producer.flush(60) == 0

    reader = _readers(settings)
    started = time.perf_counter()
    restored = _restore_partition_0(services, STOCK)
    from_snapshot = time.perf_counter() - started
    assert restored[0].hosted["SKU-HOT"].version == HOT_EVENTS
    started = time.perf_counter()
    folded = restoring.fold_events(
        STOCK, events_topic, 0, reader, services.codec, services.command_mapper
    )
    from_events = time.perf_counter() - started
    assert folded["SKU-HOT"].version == HOT_EVENTS
    return [
        Result(
            f"restore an aggregate with {HOT_EVENTS:,} events (snapshot)",
            from_snapshot * 1000,
            "ms",
            "fold of all its events",
            from_events * 1000,
            target="bounded as the log grows",
            met=from_snapshot < from_events,
        )
    ]


def _order_snapshots(services: Services) -> None:
    """ORDERS placed one-line orders' snapshots on partition 0 of the order state topic."""
    settings = services.settings
    producer = Producer(
        {
            **kafka_config.producer_config(settings.kafka_connection()),
            "queue.buffering.max.messages": 1_000_000,
            "linger.ms": 20,
        }
    )
    codec, topic = SnapshotCodec(ORDER), settings.topic(ORDER.state_topic)
    items = (OrderItem("SKU-1", "Beans", 2, 1250),)
    for n in range(ORDERS):
        placed = OrderPlaced(f"order-{n:07}", "cust-1", items, 2500, datetime.now(UTC))
        snapshot = codec.encode(HostedAggregate(ORDER.evolve(ORDER.initial, placed), 1))
        producer.produce(topic, key=placed.order_id.encode(), value=snapshot, partition=0)
        if n % 10_000 == 0:
            producer.poll(0)
    assert producer.flush(60) == 0


def _sqlite_bytes() -> Callable[[], int]:
    """SQLite's own memory in this process (its page caches), which tracemalloc can't see."""
    library = ctypes.CDLL(ctypes.util.find_library("sqlite3") or "libsqlite3.so.0")
    library.sqlite3_memory_used.restype = ctypes.c_int64
    return lambda: int(library.sqlite3_memory_used())


def _held(work: Callable[[], object]) -> tuple[object, float, float]:
    """What `work` returns, the seconds it took, and the MB it left allocated: Python's heap
    (tracemalloc, in a second run: tracing slows it down) and SQLite's."""
    started = time.perf_counter()
    work()
    seconds = time.perf_counter() - started
    gc.collect()
    sqlite_bytes = _sqlite_bytes()
    sqlite_before = sqlite_bytes()
    tracemalloc.start()
    try:
        kept = work()
        gc.collect()
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return kept, seconds, (held + sqlite_bytes() - sqlite_before) / 1e6


def _many_orders(services: Services) -> list[Result]:
    """A partition that hosted ORDERS orders: restored into the store, and all decoded."""
    settings = services.settings
    _order_snapshots(services)

    reader = _readers(settings)
    state_topic = settings.topic(ORDER.state_topic)

    def into_store() -> object:
        restored = _restore_partition_0(services, ORDER)
        assert len(restored[0].hosted) == ORDERS
        return restored

    def all_decoded() -> object:  # what the processor held before the store
        codec = SnapshotCodec(ORDER)
        hosted = {
            (m.key() or b"").decode(): codec.decode(m.value() or b"")
            for m in restoring.read_to_end(reader, [(state_topic, 0)])
        }
        assert len(hosted) == ORDERS
        return hosted

    _, store_seconds, store_mb = _held(into_store)
    _, decoded_seconds, decoded_mb = _held(all_decoded)
    return [
        Result(
            f"memory held by a partition of {ORDERS:,} orders",
            store_mb,
            "MB",
            "all decoded (before)",
            decoded_mb,
            target=f"bounded: {settings.processor_cached_aggregates:,} decoded per partition",
            met=store_mb < decoded_mb / 4,
            notes="tracemalloc and sqlite3_memory_used; the snapshots wait in a temporary file",
        ),
        Result(
            f"restore a partition of {ORDERS:,} orders",
            store_seconds * 1000,
            "ms",
            "all decoded (before)",
            decoded_seconds * 1000,
            target="no slower than before",
            met=store_seconds <= decoded_seconds * 1.1,
        ),
    ]


def run(settings: Settings) -> list[Result]:
    """Restore time from a snapshot beside a fold of the aggregate's events; memory and time
    of a partition of many orders, restored into the store beside all decoded."""
    namespaced = settings.model_copy(update={"namespace": f"bench{uuid.uuid4().hex[:6]}"})
    services = Services(namespaced, CONTEXTS)
    apply_topic_specs(services)
    try:
        return _restore(services) + _many_orders(services)
    finally:
        services.close()
        drop_namespace(namespaced)
