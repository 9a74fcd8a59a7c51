"""Projection benchmarks: PostgreSQL and OpenSearch throughput, and replay time.

Each rate is beside a like-for-like baseline from the same run: the baseline writes exactly
the rows (psycopg COPY) or documents (opensearch-py `helpers.bulk`) the projection wrote,
and is credited with the same events. CPU per event is the process's CPU time (it survives
a loaded machine). Freshness through the command path is `bench_freshness`.
`SKALD_BENCH_REPLAY_EVENTS` (default 1,000,000) sizes the log; throughput runs over
its first `SKALD_BENCH_THROUGHPUT_EVENTS` (default 150,000).
"""

from __future__ import annotations

import json
import os
import resource
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from confluent_kafka import Producer
from opensearchpy import helpers
from sqlalchemy import text

from bench.namespace import drop_namespace
from bench.result import Result
from contexts.sales.order.events import OrderConfirmed, OrderItem, OrderPlaced, OrderShipped
from contexts.sales.read_models import order_search, orders
from eventstore import kafka_config
from eventstore.envelope import Envelope
from projections.postgres.storage import generation_schema
from projections.replay import Replay
from skald.projection_workers import replay_runner
from skald.provision import apply_topic_specs, create_read_models
from skald.registry import CONTEXTS
from skald.services import Services
from skald.settings import Settings

REPLAY_EVENTS = int(os.environ.get("SKALD_BENCH_REPLAY_EVENTS", "1000000"))
THROUGHPUT_EVENTS = min(
    int(os.environ.get("SKALD_BENCH_THROUGHPUT_EVENTS", "150000")), REPLAY_EVENTS
)
# One replay row per worker count (processes in one consumer group; at most the partitions).
REPLAY_WORKERS = [int(n) for n in os.environ.get("SKALD_BENCH_REPLAY_WORKERS", "1,3").split(",")]
# The floors of issue 11 on this (2-core, shared) machine.
PG_FLOOR, OS_FLOOR, REPLAY_FLOOR_SECONDS = 25_000, 12_000, 60
TOPIC = "sales.order.events"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def run(settings: Settings) -> list[Result]:
    namespace = f"bench{uuid.uuid4().hex[:6]}"
    services = Services(settings.model_copy(update={"namespace": namespace}), CONTEXTS)
    apply_topic_specs(services)
    create_read_models(services)
    try:
        _fill(services, REPLAY_EVENTS)
        postgres = _run_until(services, "sales.orders", THROUGHPUT_EVENTS)
        rows = _projected_rows(services)  # what the projection wrote: the baselines write it too
        search = _run_until(services, "sales.order-search", THROUGHPUT_EVENTS)
        results = [
            _throughput("PostgreSQL", PG_FLOOR, postgres, _copy_baseline(services, rows, postgres)),
            _throughput("OpenSearch", OS_FLOOR, search, _bulk_baseline(services, rows, search)),
            *(_replay(services, workers) for workers in REPLAY_WORKERS),
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


def _fill(services: Services, count: int) -> None:
    """Produce `count` events."""
    producer = Producer(
        {**kafka_config.producer_config(services.settings.kafka_connection()), "linger.ms": 50}
    )
    topic = services.settings.topic(TOPIC)
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
    producer.flush(120)


@dataclass(frozen=True, slots=True)
class Run:
    """A projection run: events applied, wall seconds and process CPU seconds."""

    events: int
    seconds: float
    cpu: float

    @property
    def rate(self) -> float:
        return self.events / self.seconds

    @property
    def cpu_us(self) -> float:
        return self.cpu * 1e6 / max(self.events, 1)


def _run_until(services: Services, name: str, count: int) -> Run:
    """Run the live projector until `count` events are applied.

    CPU is this process's (the projector's threads and its librdkafka threads; the stores'
    own CPU is not counted, as for the baselines).
    """
    projector = services.projector(name)
    thread = threading.Thread(target=projector.run, daemon=True)
    cpu, started = time.process_time(), time.perf_counter()
    thread.start()
    while projector.applied < count and thread.is_alive():
        time.sleep(0.02)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    projector.stop()
    thread.join(60)
    return Run(projector.applied, elapsed, cpu)


def _throughput(store: str, floor: int, run: Run, baseline: tuple[str, Run]) -> Result:
    name, base = baseline
    return Result(
        f"projection into {store}",
        run.rate,
        "events/s",
        name,
        base.rate,
        target=f">= {floor:,} events/s",
        met=run.rate >= floor,
        notes=f"{run.events:,} events from a pre-filled topic, one projector process",
        cpu_us=run.cpu_us,
        baseline_cpu_us=base.cpu_us,
    )


def _projected_rows(services: Services) -> dict[str, list[dict[str, Any]]]:
    """Every row the orders projection holds now, per table (its live generation)."""
    live = generation_schema(services.settings.pg_schema, orders.projection.name, 1)
    with services.engine.connect() as conn:
        return {
            table: [
                dict(row)
                for row in conn.execute(text(f'SELECT * FROM "{live}"."{table}"')).mappings()
            ]
            for table in ("orders", "customer_order_summary")
        }


def _copy_baseline(
    services: Services, rows: dict[str, list[dict[str, Any]]], run: Run
) -> tuple[str, Run]:
    """psycopg COPY of exactly the rows the projection wrote (orders and the per-customer
    summary), into tables like its own (same columns, keys and indexes), in one transaction.

    Its rate counts the events those rows fold, as the projection's does.
    """
    schema = services.settings.pg_schema
    live = generation_schema(schema, orders.projection.name, 1)
    with services.engine.begin() as conn:
        for table in rows:
            like = f'LIKE "{live}"."{table}" INCLUDING ALL'
            conn.execute(text(f'CREATE TABLE "{schema}"."copy_{table}" ({like})'))
    raw = services.engine.raw_connection()
    try:
        cursor = raw.cursor()
        cpu, started = time.process_time(), time.perf_counter()
        for table, table_rows in rows.items():
            columns = list(table_rows[0])
            quoted = ", ".join(f'"{c}"' for c in columns)
            with cursor.copy(f'COPY "{schema}"."copy_{table}" ({quoted}) FROM STDIN') as copy:
                for row in table_rows:
                    copy.write_row(
                        [json.dumps(v) if isinstance(v, list) else v for v in row.values()]
                    )
        raw.commit()
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    finally:
        raw.close()
    count = sum(len(r) for r in rows.values())
    return f"psycopg COPY of the same {count:,} rows", Run(run.events, elapsed, cpu)


def _bulk_baseline(
    services: Services, rows: dict[str, list[dict[str, Any]]], run: Run
) -> tuple[str, Run]:
    """helpers.bulk of the documents the projection wrote (one per order, external
    versions) into an index with the same mappings and settings."""
    index = services.settings.index("bulk-baseline")
    body = {"settings": order_search.projection.settings, "mappings": order_search.MAPPINGS}
    services.opensearch.indices.create(index=index, body=body)
    docs = rows["orders"]
    actions = (
        {
            "_index": index,
            "_id": doc["order_id"],
            "version": doc["version"],
            "version_type": "external",
            "_source": doc,
        }
        for doc in docs
    )
    cpu, started = time.process_time(), time.perf_counter()
    helpers.bulk(services.opensearch, actions, chunk_size=2000)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    name = f"opensearch-py helpers.bulk of the same {len(docs):,} documents"
    return name, Run(run.events, elapsed, cpu)


def _replay(services: Services, workers: int) -> Result:
    """The real replay path (new generation from earliest, swap, drop) over the whole log,
    built by `workers` projector processes (1: the projector in this process)."""
    name = orders.projection.name
    sink = services.sink(name)
    job = Replay(
        sink,
        services.projection_topics(name),
        services.reader(),
        lambda pinned, group: replay_runner(services, name, pinned.generation(), group, workers),
        drop_after=0,
    )
    plan = job.plan("earliest")
    cpu, started = _cpu_seconds(), time.perf_counter()
    job.run(plan, lambda progress: None)
    elapsed, cpu = time.perf_counter() - started, _cpu_seconds() - cpu
    scaled = elapsed * 1_000_000 / max(plan.events, 1)
    return Result(
        f"replay {plan.events:,} events into PostgreSQL, {workers} worker(s)",
        elapsed,
        "s",
        target=f"<= {REPLAY_FLOOR_SECONDS} s per 1,000,000 events",
        met=scaled <= REPLAY_FLOOR_SECONDS,
        notes=f"{plan.events / elapsed:,.0f} events/s; {scaled:,.0f} s per million",
        cpu_us=cpu * 1e6 / max(plan.events, 1),
    )


def _cpu_seconds() -> float:
    """CPU seconds of this process and of its children that have exited (replay workers)."""
    mine, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return mine.ru_utime + mine.ru_stime + children.ru_utime + children.ru_stime
