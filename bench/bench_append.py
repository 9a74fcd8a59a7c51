"""Raw append: Skald's encode + produce of events beside Kafka's own producer perf tool."""

from __future__ import annotations

import os
import re
import subprocess
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from confluent_kafka import Producer

from bench.result import Result
from contexts.sales.order.events import OrderItem, OrderPlaced
from eventstore import kafka_config
from eventstore.outgoing import Stream
from eventstore.topics import TopicSpec, apply_topics
from skald.registry import CONTEXTS
from skald.services import Services
from skald.settings import REPO_ROOT, Settings

EVENTS = int(os.environ.get("SKALD_BENCH_APPEND_EVENTS", "200000"))
# The same producer settings for both sides, so the comparison is of clients, not configs.
PRODUCER_PROPS = {
    "acks": "all",
    "linger.ms": "5",
    "batch.size": "131072",
    "compression.type": "none",
}


def _event(n: int) -> OrderPlaced:
    items = (OrderItem(f"SKU-{n % 97}", "Espresso beans 1kg", 1 + n % 3, 1250),)
    return OrderPlaced(
        f"order-{n}", f"cust-{n % 1000}", items, 1250 * (1 + n % 3), datetime.now(UTC)
    )


def _skald_append(services: Services, topic: str) -> tuple[float, int]:
    config = {
        **kafka_config.producer_config(services.settings.kafka_connection()),
        **PRODUCER_PROPS,
        "queue.buffering.max.messages": 1_000_000,
    }
    producer = Producer(config)
    records = services.event_records
    sizes = 0
    started = time.perf_counter()
    for n in range(EVENTS):
        record = records.build(Stream(topic, "order", f"order-{n}"), _event(n), 1, "bench", "bench")
        sizes += len(record.value) + sum(len(k) + len(v or b"") for k, v in record.headers)
        while True:
            try:
                producer.produce(topic, key=record.key, value=record.value, headers=record.headers)
                break
            except BufferError:
                producer.poll(0.01)
        producer.poll(0)
    assert producer.flush(120) == 0, "events not acknowledged"
    return EVENTS / (time.perf_counter() - started), sizes // EVENTS


def _kafka_perf_tool(settings: Settings, topic: str, record_size: int) -> float:
    stack = Path(os.environ.get("SKALD_STACK_DIR") or REPO_ROOT / ".stack")
    libs = next((stack / "dist").glob("kafka-*/libs"))
    props = [f"{k}={v}" for k, v in PRODUCER_PROPS.items()]
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
            "--producer-props",
            f"bootstrap.servers={settings.kafka_bootstrap}",
            "enable.idempotence=true",
            *props,
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


def run(settings: Settings) -> list[Result]:
    """Events/s through Skald's append beside kafka-producer-perf-test, same record size."""
    services = Services(
        settings.model_copy(update={"namespace": f"bench{uuid.uuid4().hex[:6]}"}), CONTEXTS
    )
    ours, theirs = (
        apply_topics(
            services.admin, [TopicSpec(name, partitions=3)], services.settings.topic_defaults()
        )[0].topic
        for name in ("append", "perf")
    )
    rate, record_size = _skald_append(services, ours)
    baseline = _kafka_perf_tool(services.settings, theirs, record_size)
    return [
        Result(
            name=f"raw append ({EVENTS:,} events of ~{record_size} B, acks=all)",
            value=rate,
            unit="events/s",
            baseline_name="kafka-producer-perf-test",
            baseline_value=baseline,
            target="≥ 50% of baseline",
            met=rate >= 0.5 * baseline,
        )
    ]
