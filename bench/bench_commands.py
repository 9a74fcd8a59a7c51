"""The HTTP command path end to end (API -> processor -> reply), and aggregate restore time."""

from __future__ import annotations

import asyncio
import os
import statistics
import time
import uuid
from datetime import UTC, datetime
from functools import reduce

import aiohttp
from confluent_kafka import Consumer, Producer

from bench.processes import spawn_skald
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

CLIENTS = 16
COMMANDS = int(os.environ.get("SKALD_BENCH_COMMANDS", "5000"))
HOT_EVENTS = int(os.environ.get("SKALD_BENCH_RESTORE_EVENTS", "100000"))
ORDER = {
    "customer_id": "bench",
    "items": [{"sku": "SKU-B", "name": "Bench beans", "quantity": 1, "unit_price_cents": 100}],
}


async def _load(url: str, count: int) -> list[float]:
    """`count` POST /orders from CLIENTS concurrent clients; each request's latency.

    aiohttp, not httpx: httpx's async client tops out near 130 requests/s here, which
    would measure the client instead of Skald.
    """
    latencies: list[float] = []
    remaining = iter(range(count))

    async def client(http: aiohttp.ClientSession) -> None:
        for _ in remaining:
            started = time.perf_counter()
            async with http.post(f"{url}/orders", json=ORDER) as response:
                body = await response.read()
                assert response.status == 201, body
            latencies.append(time.perf_counter() - started)

    connector = aiohttp.TCPConnector(limit=CLIENTS)
    async with aiohttp.ClientSession(connector=connector) as http:
        await asyncio.gather(*(client(http) for _ in range(CLIENTS)))
    return latencies


def _command_path(settings: Settings) -> list[Result]:
    port = 18000 + os.getpid() % 1000
    env = {
        **os.environ,
        "SKALD_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "SKALD_NAMESPACE": settings.namespace,
        "SKALD_API_PORT": str(port),
        "SKALD_LOG_LEVEL": "WARNING",
    }
    processes = [spawn_skald(["api"], env), spawn_skald(["process"], env)]
    url = f"http://127.0.0.1:{port}"
    try:
        asyncio.run(_warm_up(url))
        started = time.perf_counter()
        latencies = asyncio.run(_load(url, COMMANDS))
        elapsed = time.perf_counter() - started
    finally:
        for process in processes:
            process.terminate()
            process.wait(20)
    rate = len(latencies) / elapsed
    p50, p99 = (statistics.quantiles(latencies, n=100)[i] * 1000 for i in (49, 98))
    name = f"HTTP command path, {CLIENTS} clients, POST /orders"
    return [
        Result(f"{name}: throughput", rate, "commands/s", target="≥ 1,000", met=rate >= 1000),
        Result(f"{name}: p50 latency", p50, "ms"),
        Result(f"{name}: p99 latency", p99, "ms", target="≤ 100", met=p99 <= 100),
    ]


async def _warm_up(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            try:
                async with http.post(f"{url}/orders", json=ORDER) as response:
                    if response.status == 201:
                        await _load(url, 200)
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.5)
    raise RuntimeError("the command path never answered")


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
    """Command throughput and latency, and restore time."""
    namespaced = settings.model_copy(update={"namespace": f"bench{uuid.uuid4().hex[:6]}"})
    services = Services(namespaced, CONTEXTS)
    apply_topic_specs(services)
    return _command_path(namespaced) + _restore(services)
