"""Raw append beside Kafka's own producer perf tool, and the CPU cost of one event record.

Three rows, each with its baseline from the same run:
- the production writer (`TransactionSession`: transactional, the processor's producer
  settings, a transaction every `TXN_MS` carrying a consumed offset, as the processor
  commits) building every record as the processor does, beside `kafka-producer-perf-test`
  with the same settings, transactions of the same length and records of the same size
  (floor 35 %);
- a plain idempotent producer with the same tuned settings on both sides;
- the microseconds to build one record (map, Avro, envelope headers) beside fastavro
  encoding the same record alone.

The clock covers building and producing records, not making the domain events (`_events`).
"""

from __future__ import annotations

import gc
import io
import os
import re
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from confluent_kafka import Consumer, Producer, TopicPartition
from fastavro import parse_schema, schemaless_writer

from bench.namespace import drop_namespace
from bench.result import Result
from command_processor.collector import freeze_long_lived
from command_processor.session import TransactionSession
from contexts.sales.order.events import OrderItem, OrderPlaced
from eventstore import kafka_config
from eventstore.outgoing import OutgoingEvent, Stream
from eventstore.topic_admin import apply_topics
from eventstore.topics import TopicSpec
from skald.registry import CONTEXTS
from skald.services import Services
from skald.settings import REPO_ROOT, Settings

EVENTS = int(os.environ.get("SKALD_BENCH_APPEND_EVENTS", "200000"))
TXN_MS = int(os.environ.get("SKALD_BENCH_APPEND_TXN_MS", "100"))
FLOOR = 0.35  # of the perf tool's rate, through the production writer
# The same producer settings for both sides, so the comparison is of clients, not configs.
PRODUCER_PROPS = {
    "acks": "all",
    "linger.ms": "5",
    "batch.size": "131072",
    "compression.type": "none",
}
# The processor's transactional producer settings the perf tool can take as they are.
TRANSACTIONAL_KEYS = ("acks", "linger.ms", "compression.type")


def _event(n: int) -> OrderPlaced:
    items = (OrderItem(f"SKU-{n % 97}", "Espresso beans 1kg", 1 + n % 3, 1250),)
    return OrderPlaced(
        f"order-{n}", f"cust-{n % 1000}", items, 1250 * (1 + n % 3), datetime.now(UTC)
    )


def _events() -> list[OrderPlaced]:
    """The events to append, made before the clock starts: a decider hands the writer events,
    and making them is the domain's cost, not the writer's (the perf tool's payloads are
    ready-made too)."""
    return [_event(n) for n in range(EVENTS)]


def _records(services: Services, topic: str, events: list[OrderPlaced]) -> Iterator[OutgoingEvent]:
    records = services.event_records
    for event in events:
        yield records.build(Stream(topic, "order", event.order_id), event, 1, "bench", "bench")


def _record_size(services: Services, topic: str, events: list[OrderPlaced]) -> int:
    """Bytes of value and headers, the mean of the first thousand records (the perf tool's
    record size)."""
    sample = list(_records(services, topic, events[:1000]))
    sizes = [len(r.value) + sum(len(k) + len(v or b"") for k, v in r.headers) for r in sample]
    return sum(sizes) // len(sizes)


@contextmanager
def _ready_to_time(services: Services, topic: str) -> Iterator[tuple[list[OrderPlaced], int]]:
    """The events and their record size, with the heap frozen as the processor's is after an
    assignment (`freeze_long_lived`) while the run lasts: no collection walks the events."""
    events = _events()
    size = _record_size(services, topic, events)
    freeze_long_lived()
    try:
        yield events, size
    finally:
        gc.unfreeze()  # the events go with the run


def _plain_append(services: Services, topic: str) -> tuple[float, int]:
    config = {
        **kafka_config.producer_config(services.settings.kafka_connection()),
        **PRODUCER_PROPS,
        "queue.buffering.max.messages": 1_000_000,
    }
    producer = Producer(config)
    with _ready_to_time(services, topic) as (events, size):
        started = time.perf_counter()
        for record in _records(services, topic, events):
            while True:
                try:
                    producer.produce(
                        topic, key=record.key, value=record.value, headers=record.headers
                    )
                    break
                except BufferError:
                    producer.poll(0.01)
            producer.poll(0)
        assert producer.flush(120) == 0, "events not acknowledged"
        return EVENTS / (time.perf_counter() - started), size


def _writer_append(services: Services, topic: str, commands: str) -> tuple[float, int]:
    """Events/s through the processor's writer: a transaction every TXN_MS, each flushed (the
    processor waits for positions before replying) and committed with a consumed offset."""
    settings = services.settings
    connection = settings.kafka_connection()
    config = kafka_config.transactional_producer_config(connection, settings.topic("bench.tx"))
    writer = TransactionSession({**config, "queue.buffering.max.messages": 1_000_000})
    group = settings.group("bench.append")
    consumer = Consumer(kafka_config.command_consumer_config(connection, group))
    offsets = [TopicPartition(commands, 0, 0)]
    with _ready_to_time(services, topic) as (events, size):
        started = time.perf_counter()
        writer.begin()
        deadline = started + TXN_MS / 1000
        for record in _records(services, topic, events):
            writer.produce(topic, record.key, record.value, record.headers)
            if time.perf_counter() >= deadline:
                # As the processor does: offsets sent before the flush, then commit.
                writer.send_offsets(offsets, consumer.consumer_group_metadata())
                writer.flush()
                writer.commit()
                writer.begin()
                deadline = time.perf_counter() + TXN_MS / 1000
        writer.send_offsets(offsets, consumer.consumer_group_metadata())
        writer.flush()
        writer.commit()
        writer.close()
        elapsed = time.perf_counter() - started
    consumer.close()
    return EVENTS / elapsed, size


def _kafka_perf_tool(
    settings: Settings, topic: str, record_size: int, props: dict[str, str], *extra: str
) -> float:
    stack = Path(os.environ.get("SKALD_STACK_DIR") or REPO_ROOT / ".stack")
    libs = next((stack / "dist").glob("kafka-*/libs"))
    output = subprocess.run(
        [
            "java",
            "-Xmx512m",
            "-cp",
            f"{libs}/*",
            "org.apache.kafka.tools.ProducerPerformance",
            "--topic",
            topic,
            "--num-records",
            str(EVENTS),
            "--record-size",
            str(record_size),
            "--throughput",
            "-1",
            *extra,
            "--producer-props",
            f"bootstrap.servers={settings.kafka_bootstrap}",
            "enable.idempotence=true",
            *(f"{k}={v}" for k, v in props.items()),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    ).stdout
    summary = [line for line in output.splitlines() if "records sent" in line][-1]
    match = re.search(r"([\d.]+) records/sec", summary)
    assert match is not None, output
    return float(match.group(1))


def _transactional_props(settings: Settings) -> dict[str, str]:
    config = kafka_config.transactional_producer_config(settings.kafka_connection(), "-")
    return {key: str(config[key]).lower() for key in TRANSACTIONAL_KEYS}


def _record_cost(services: Services, count: int = 20000) -> Result:
    """CPU microseconds to build one record, best of 5, beside fastavro encoding it alone."""
    stream = Stream("sales.order.events", "order", "order-1")
    event = _event(1)
    records = services.event_records
    record = services.mapper.to_record(event)
    schema = parse_schema(services.schemas.latest(OrderPlaced.EVENT_TYPE).parsed)

    def build() -> None:
        for version in range(count):
            records.build(stream, event, version, "bench", "bench")

    def encode() -> None:
        for _ in range(count):
            schemaless_writer(io.BytesIO(), schema, record)

    def best(work: Callable[[], None]) -> float:
        """CPU time, not wall time: on a shared machine waiting for a core isn't cost."""
        runs = []
        for _ in range(5):
            started = time.process_time()
            work()
            runs.append((time.process_time() - started) / count * 1e6)
        return min(runs)

    return Result(
        "build one event record (OrderPlaced: map, Avro, 12 headers), CPU",
        best(build),
        "µs",
        baseline_name="fastavro encode alone",
        baseline_value=best(encode),
        target="lower is better",
    )


def run(settings: Settings) -> list[Result]:
    """Events/s through Skald's writer beside kafka-producer-perf-test, and µs per record."""
    services = Services(
        settings.model_copy(update={"namespace": f"bench{uuid.uuid4().hex[:6]}"}), CONTEXTS
    )
    try:
        return _measure(services)
    finally:
        services.close()
        drop_namespace(services.settings)


def _measure(services: Services) -> list[Result]:
    settings = services.settings
    topics = {
        name: apply_topics(
            services.admin, [TopicSpec(name, partitions=partitions)], settings.topic_defaults()
        )[0].topic
        for name, partitions in (
            ("append", 3),
            ("perf", 3),
            ("tx-append", 3),
            ("tx-perf", 3),
            ("tx-commands", 1),
        )
    }
    cost = _record_cost(services)
    rate, size = _writer_append(services, topics["tx-append"], topics["tx-commands"])
    transactions = ("--transaction-duration-ms", str(TXN_MS))
    props = _transactional_props(settings)
    baseline = _kafka_perf_tool(settings, topics["tx-perf"], size, props, *transactions)
    plain_rate, plain_size = _plain_append(services, topics["append"])
    plain_baseline = _kafka_perf_tool(settings, topics["perf"], plain_size, PRODUCER_PROPS)
    return [
        Result(
            f"raw append, production writer ({EVENTS:,} events of ~{size} B, "
            f"transactions of {TXN_MS} ms)",
            rate,
            "events/s",
            baseline_name="kafka-producer-perf-test, same settings",
            baseline_value=baseline,
            target=f"≥ {FLOOR:.0%} of baseline",
            met=rate >= FLOOR * baseline,
            notes=f"producer settings: {props}",
        ),
        Result(
            f"raw append, idempotent producer ({EVENTS:,} events of ~{plain_size} B, acks=all)",
            plain_rate,
            "events/s",
            baseline_name="kafka-producer-perf-test",
            baseline_value=plain_baseline,
            target="≥ 50% of baseline",
            met=plain_rate >= 0.5 * plain_baseline,
        ),
        cost,
    ]
