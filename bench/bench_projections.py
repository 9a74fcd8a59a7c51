"""Projection benchmarks: PostgreSQL and OpenSearch throughput, replay time, freshness.

Each is measured beside a raw baseline in the same run: psycopg COPY of the same rows,
opensearch-py `helpers.bulk` of the same documents, a bare Kafka consumer's latency.
`SKALD_BENCH_REPLAY_EVENTS` (default 1,000,000) sizes the log; throughput runs over
its first `SKALD_BENCH_THROUGHPUT_EVENTS` (default 150,000).
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

from confluent_kafka import Consumer, Producer
from opensearchpy import helpers
from sqlalchemy import text

from bench.namespace import drop_namespace
from bench.result import Result
from contexts.sales.order.events import OrderConfirmed, OrderItem, OrderPlaced, OrderShipped
from contexts.sales.read_models import order_search, orders
from eventstore import kafka_config
from eventstore.envelope import Envelope
from eventstore.outgoing import Stream
from eventstore.position import Position
from projections.model import Sink
from projections.postgres.storage import generation_schema
from projections.replay import Replay
from skald.provision import apply_topic_specs, create_read_models
from skald.registry import CONTEXTS
from skald.services import Services
from skald.settings import Settings

REPLAY_EVENTS = int(os.environ.get("SKALD_BENCH_REPLAY_EVENTS", "1000000"))
THROUGHPUT_EVENTS = min(
    int(os.environ.get("SKALD_BENCH_THROUGHPUT_EVENTS", "150000")), REPLAY_EVENTS
)
FRESHNESS_SECONDS = float(os.environ.get("SKALD_BENCH_FRESHNESS_SECONDS", "20"))
TOPIC = "sales.order.events"
T0 = datetime(2026, 1, 1, tzinfo=UTC)
ITEMS_JSON = json.dumps(
    [{"sku": "SKU-1", "name": "Espresso", "quantity": 1, "unit_price_cents": 1}]
)


def run(settings: Settings) -> list[Result]:
    namespace = f"bench{uuid.uuid4().hex[:6]}"
    services = Services(settings.model_copy(update={"namespace": namespace}), CONTEXTS)
    apply_topic_specs(services)
    create_read_models(services)
    try:
        rows = _fill(services, REPLAY_EVENTS)
        results = [
            *_throughput(
                services, "sales.orders", "PostgreSQL", 20_000, _copy_rate(services, rows)
            ),
            *_throughput(
                services, "sales.order-search", "OpenSearch", 8_000, _bulk_rate(services, rows)
            ),
            _replay(services),
            *_freshness(services),
        ]
    finally:
        services.close()
        drop_namespace(services.settings)
    return results


def _events(n: int) -> list[tuple[str, int, object]]:
    """Orders placed, confirmed and shipped: three events per order, interleaved."""
    out: list[tuple[str, int, object]] = []
    for k in range(n // 3 + 1):
        oid = f"o-{k}"
        at = T0 + timedelta(seconds=k)
        items = (OrderItem(f"SKU-{k % 500}", "Espresso beans", 1 + k % 3, 1250),)
        out.append((oid, 1, OrderPlaced(oid, f"cust-{k % 5000}", items, 1250 * (1 + k % 3), at)))
        out.append((oid, 2, OrderConfirmed(oid, at)))
        out.append((oid, 3, OrderShipped(oid, at)))
    return out[:n]


def _fill(services: Services, count: int) -> list[dict[str, object]]:
    """Produce `count` events; returns one row per event, as the read model writes it."""
    producer = Producer(
        {**kafka_config.producer_config(services.settings.kafka_connection()), "linger.ms": 50}
    )
    topic = services.settings.topic(TOPIC)
    rows: list[dict[str, object]] = []
    now = datetime.now(UTC)
    for n, (oid, version, event) in enumerate(_events(count)):
        event_type = services.mapper.event_type(event)
        encoded = services.codec.encode(event_type, services.mapper.to_record(event))
        envelope = Envelope(
            f"e{n}",
            event_type,
            "bench",
            now,
            "order",
            oid,
            version,
            encoded.schema_version,
            "c",
            "c",
        )
        while True:
            try:
                producer.produce(
                    topic, key=oid.encode(), value=encoded.payload, headers=envelope.to_headers()
                )
                break
            except BufferError:
                producer.poll(0.05)
        if n < THROUGHPUT_EVENTS:
            status = ("placed", "confirmed", "shipped")[version - 1]
            rows.append(
                {
                    "order_id": f"{oid}#{version}",
                    "customer_id": oid,
                    "status": status,
                    "total_cents": 1250,
                    "version": version,
                    "placed_at": T0.isoformat(),
                    "updated_at": now.isoformat(),
                    "items": ITEMS_JSON,
                }
            )
    producer.flush(120)
    return rows


def _run_until(
    services: Services, name: str, sink: Sink, count: int, group: str | None = None
) -> float:
    """Run the projector until `count` events are applied; events/s."""
    projector = services.projector(name, sink=sink, group=group)
    thread = threading.Thread(target=projector.run, daemon=True)
    started = time.perf_counter()
    thread.start()
    while projector.applied < count and thread.is_alive():
        time.sleep(0.05)
    elapsed = time.perf_counter() - started
    projector.stop()
    thread.join(60)
    return projector.applied / elapsed


def _throughput(
    services: Services, name: str, store: str, floor: int, baseline: tuple[str, float]
) -> list[Result]:
    rate = _run_until(services, name, services.sink(name), THROUGHPUT_EVENTS)
    return [
        Result(
            f"projection into {store}",
            rate,
            "events/s",
            baseline[0],
            baseline[1],
            target=f">= {floor:,} events/s",
            met=rate >= floor,
            notes=f"{THROUGHPUT_EVENTS:,} events from a pre-filled topic, one projector process",
        )
    ]


def _copy_rate(services: Services, rows: list[dict[str, object]]) -> tuple[str, float]:
    """psycopg COPY of the same rows into a table shaped like `orders`."""
    schema = services.settings.pg_schema
    columns = [
        "order_id",
        "customer_id",
        "status",
        "items",
        "total_cents",
        "version",
        "placed_at",
        "updated_at",
    ]
    live = generation_schema(schema, orders.projection.name, 1)  # its tables, not the view
    with services.engine.begin() as conn:
        conn.execute(
            text(f'CREATE TABLE "{schema}".copy_baseline (LIKE "{live}".orders INCLUDING ALL)')
        )
    raw = services.engine.raw_connection()
    try:
        cursor = raw.cursor()
        started = time.perf_counter()
        with cursor.copy(
            f'COPY "{schema}".copy_baseline ({", ".join(columns)}) FROM STDIN'
        ) as copy:
            for row in rows:
                copy.write_row([row[c] for c in columns])
        raw.commit()
        elapsed = time.perf_counter() - started
    finally:
        raw.close()
    return "psycopg COPY, same rows", len(rows) / elapsed


def _bulk_rate(services: Services, rows: list[dict[str, object]]) -> tuple[str, float]:
    """helpers.bulk of the same documents into an index with the same mappings."""
    index = services.settings.index("bulk-baseline")
    body = {"settings": order_search.projection.settings, "mappings": order_search.MAPPINGS}
    services.opensearch.indices.create(index=index, body=body)
    docs = (
        {
            "_index": index,
            "_id": row["order_id"],
            "_source": {
                **{k: v for k, v in row.items() if k != "items"},
                "items": json.loads(str(row["items"])),
            },
        }
        for row in rows
    )
    started = time.perf_counter()
    helpers.bulk(services.opensearch, docs, chunk_size=2000)
    return "opensearch-py helpers.bulk, same documents", len(rows) / (time.perf_counter() - started)


def _replay(services: Services) -> Result:
    """The real replay path (new generation from earliest, swap, drop) over the whole log."""
    name = orders.projection.name
    sink = services.sink(name)
    job = Replay(
        sink,
        services.projection_topics(name),
        services.reader(),
        lambda pinned, group: services.projector(name, sink=pinned, group=group),
        drop_after=0,
    )
    plan = job.plan("earliest")
    started = time.perf_counter()
    job.run(plan, lambda progress: None)
    elapsed = time.perf_counter() - started
    scaled = elapsed * 1_000_000 / max(plan.events, 1)
    return Result(
        f"replay {plan.events:,} events into PostgreSQL",
        elapsed,
        "s",
        target="<= 180 s per 1,000,000 events",
        met=scaled <= 180,
        notes=f"{plan.events / elapsed:,.0f} events/s; {scaled:,.0f} s per million",
    )


def _freshness(services: Services) -> list[Result]:
    """Append 500 events/s through the appender; time until the PG checkpoint passes each."""
    name = orders.projection.name
    sink = services.sink(name)
    projector = services.projector(name)
    runner = threading.Thread(target=projector.run, daemon=True)
    runner.start()
    topic = services.settings.topic(TOPIC)
    probe = Consumer(
        {
            **kafka_config.consumer_config(
                services.settings.kafka_connection(),
                services.settings.group(f"bench.probe.{uuid.uuid4().hex}"),
            ),
            "auto.offset.reset": "latest",
        }
    )
    probe.subscribe([topic])
    seen: dict[str, float] = {}
    stop = threading.Event()

    def consume() -> None:
        while not stop.is_set():
            message = probe.poll(0.1)
            if message is not None and message.error() is None:
                seen.setdefault((message.key() or b"").decode(), time.perf_counter())

    consumer_thread = threading.Thread(target=consume, daemon=True)
    consumer_thread.start()
    time.sleep(5)  # both consumers assigned and at the end of the log
    keys = [(topic, p) for p in range(services.settings.topic_partitions)]
    history: list[tuple[float, dict[tuple[str, int], int]]] = []

    def watch_checkpoints() -> None:
        while not stop.is_set():
            stored = sink.stored_offsets(keys)
            history.append((time.perf_counter(), stored))
            time.sleep(0.005)

    watcher = threading.Thread(target=watch_checkpoints, daemon=True)
    watcher.start()
    sent: dict[str, tuple[float, Position]] = {}
    asyncio.run(_steady_appends(services, topic, sent))
    last = max(position.offset for _at, position in sent.values())
    deadline = time.perf_counter() + 30
    while time.perf_counter() < deadline and not (history and sum(history[-1][1].values()) > last):
        time.sleep(0.1)
    time.sleep(0.5)
    visible: dict[str, float] = {}
    for oid, (_at, position) in sent.items():
        key = (position.topic, position.partition)
        found = next((t for t, stored in history if stored.get(key, 0) > position.offset), None)
        if found is not None:
            visible[oid] = found
    pending = set(sent) - set(visible)
    stop.set()
    projector.stop()
    watcher.join(10)
    consumer_thread.join(10)
    runner.join(30)
    probe.close()
    lags = sorted(visible[oid] - at for oid, (at, _p) in sent.items() if oid in visible)
    raw = sorted(seen[oid] - at for oid, (at, _p) in sent.items() if oid in seen)
    p50, p99 = _percentile(lags, 50), _percentile(lags, 99)
    return [
        Result(
            "freshness p50 at 500 events/s",
            p50 * 1000,
            "ms",
            "bare Kafka consumer p50",
            _percentile(raw, 50) * 1000,
            target="-",
            notes=f"{len(lags)}/{len(sent)} visible",
        ),
        Result(
            "freshness p99 at 500 events/s",
            p99 * 1000,
            "ms",
            "bare Kafka consumer p99",
            _percentile(raw, 99) * 1000,
            target="<= 1,000 ms",
            met=p99 <= 1.0 and not pending,
        ),
    ]


async def _steady_appends(
    services: Services, topic: str, sent: dict[str, tuple[float, Position]]
) -> None:
    appender = services.appender

    async def one(k: int) -> None:
        oid = f"fresh-{k}"
        event = OrderPlaced(
            oid, "cust-fresh", (OrderItem("SKU-F", "Fresh", 1, 100),), 100, datetime.now(UTC)
        )
        started = time.perf_counter()
        (appended,) = await appender.append(Stream(topic, "order", oid), [event], first_version=1)
        sent[oid] = (started, appended.position)

    tasks = []
    begin = time.perf_counter()
    for k in range(int(500 * FRESHNESS_SECONDS)):
        await asyncio.sleep(max(begin + k / 500 - time.perf_counter(), 0))
        tasks.append(asyncio.create_task(one(k)))
    await asyncio.gather(*tasks)


def _percentile(values: list[float], pct: int) -> float:
    if not values:
        return float("nan")
    return (
        statistics.quantiles(values, n=100, method="inclusive")[pct - 1]
        if len(values) > 1
        else values[0]
    )
