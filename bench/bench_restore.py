"""Restore time of a long-lived aggregate: from its snapshot beside a fold of all its events."""

from __future__ import annotations

import os
import time
import uuid
from datetime import UTC, datetime
from functools import reduce

from confluent_kafka import Consumer, Producer

from bench.namespace import drop_namespace
from bench.result import Result
from command_processor import restore as restoring
from command_processor.hosted import HostedAggregate
from command_processor.snapshots import SnapshotCodec
from contexts.inventory.aggregates import STOCK
from contexts.inventory.stock.events import StockRestocked
from eventstore import kafka_config
from eventstore.outgoing import Stream
from skald.provision import apply_topic_specs
from skald.registry import CONTEXTS
from skald.services import Services
from skald.settings import Settings

HOT_EVENTS = int(os.environ.get("SKALD_BENCH_RESTORE_EVENTS", "100000"))


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

    def reader() -> Consumer:
        return Consumer(
            kafka_config.reader_config(settings.kafka_connection(), settings.group("skald.reader"))
        )

    started = time.perf_counter()
    topics = restoring.RestoreTopics(
        state_topic, events_topic, settings.topic(STOCK.outcomes_topic)
    )
    restored = restoring.restore(
        STOCK,
        topics,
        [0],
        reader,
        services.codec,
        services.command_mapper,
        settings.idempotency_retention_ms,
    )
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


def run(settings: Settings) -> list[Result]:
    """Restore time from a snapshot beside a fold of the aggregate's events."""
    namespaced = settings.model_copy(update={"namespace": f"bench{uuid.uuid4().hex[:6]}"})
    services = Services(namespaced, CONTEXTS)
    apply_topic_specs(services)
    try:
        return _restore(services)
    finally:
        services.close()
        drop_namespace(namespaced)
