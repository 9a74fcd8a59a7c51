"""Projection benchmarks: PostgreSQL and OpenSearch throughput, and replay time.

Each rate is beside a like-for-like baseline from the same run: the baseline writes exactly
the rows (psycopg COPY) or documents (opensearch-py `helpers.bulk`) the projection wrote,
and is credited with the same events. CPU per event is the process's CPU time (it survives
a loaded machine), its worker processes' included. Projection rates are measured from the
first applied batch to the last (a spawned worker's ~2 s of imports and the group join are
not throughput); the notes also give the rate from the start. The projector process's
collector is tuned as `skald project` tunes it. PostgreSQL is measured with one process and
with `SKALD_BENCH_PROJECTION_WORKERS` (default 2) processes, as `skald project --workers`.
Freshness through the command path is `bench_freshness`.
`SKALD_BENCH_REPLAY_EVENTS` (default 1,000,000) sizes the log; throughput runs over
its first `SKALD_BENCH_THROUGHPUT_EVENTS` (default 150,000).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import resource
import threading
import time
import uuid
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
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
from projections.collector import tune_for_batches
from projections.postgres.storage import generation_schema
from projections.projector import Projector
from projections.replay import Replay
from skald.projection_workers import live_runner, replay_runner
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
# Live PostgreSQL projection processes beside the one-process row (`skald project --workers`).
PROJECTION_WORKERS = int(os.environ.get("SKALD_BENCH_PROJECTION_WORKERS", "2"))
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
        copy = _copy_baseline(services, rows, postgres)
        _reset(services, "sales.orders")
        several = _run_until(services, "sales.orders", THROUGHPUT_EVENTS, PROJECTION_WORKERS)
        search = _run_until(services, "sales.order-search", THROUGHPUT_EVENTS)
        results = [
            _throughput("PostgreSQL", PG_FLOOR, postgres, copy),
            _throughput("PostgreSQL", PG_FLOOR, several, copy),
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
    """A projection run: events applied in all, and over the measured window (first applied
    batch to the end) its events, wall seconds and CPU seconds; wall seconds from the start."""

    events: int
    measured: int
    seconds: float
    cpu: float
    from_start: float
    workers: int = 1

    @property
    def rate(self) -> float:
        return self.measured / self.seconds

    @property
    def cpu_us(self) -> float:
        return self.cpu * 1e6 / max(self.measured, 1)


def _run_until(services: Services, name: str, count: int, workers: int = 1) -> Run:
    """Run the live projection until `count` events are applied, in this process (1) or in
    `workers` processes of its group (`skald project --workers`).

    CPU is this process's and its workers' (their threads and librdkafka's; the stores' own
    CPU is not counted, as for the baselines).
    """
    runner = live_runner(services, name, workers)
    if isinstance(runner, Projector):
        tune_for_batches(runner.largest_batch)  # as `skald project` does; workers do it too
    thread = threading.Thread(target=runner.run, daemon=True)
    begun = time.perf_counter()
    thread.start()
    while runner.applied == 0 and thread.is_alive():
        time.sleep(0.005)
    first, cpu, started = runner.applied, _cpu_with_workers(), time.perf_counter()
    while runner.applied < count and thread.is_alive():
        time.sleep(0.02)
    ended = time.perf_counter()
    applied, cpu = runner.applied, _cpu_with_workers() - cpu
    runner.stop()
    thread.join(60)
    return Run(applied, applied - first, ended - started, cpu, ended - begun, workers)


def _cpu_with_workers() -> float:
    """CPU seconds of this process and of its running worker processes (/proc, all threads)."""
    total = time.process_time()
    ticks = os.sysconf("SC_CLK_TCK")
    for child in multiprocessing.active_children():
        with suppress(OSError):
            fields = Path(f"/proc/{child.pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return total


def _reset(services: Services, name: str) -> None:
    """An empty live generation for the next run (as `skald projections reset`)."""
    sink = services.sink(name)
    live, fresh = sink.live_generation(), sink.create_generation()
    while not sink.swap(fresh, force=True):
        time.sleep(0.2)
    sink.drop_generation(live)


def _throughput(store: str, floor: int, run: Run, baseline: tuple[str, Run]) -> Result:
    name, base = baseline
    processes = "one projector process" if run.workers == 1 else f"{run.workers} processes"
    return Result(
        f"projection into {store}" + ("" if run.workers == 1 else f", {run.workers} processes"),
        run.rate,
        "events/s",
        name,
        base.rate,
        target=f">= {floor:,} events/s",
        met=run.rate >= floor,
        notes=f"{run.events:,} events from a pre-filled topic, {processes}; "
        f"{run.measured:,} after the first batch at this rate, "
        f"{run.events / run.from_start:,.0f} events/s from the start",
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
    return f"psycopg COPY of the same {count:,} rows", _credited(run, elapsed, cpu)


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
    return name, _credited(run, elapsed, cpu)


def _credited(run: Run, seconds: float, cpu: float) -> Run:
    """A baseline's run, credited with every event the projection applied."""
    return Run(run.events, run.events, seconds, cpu, seconds)


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
