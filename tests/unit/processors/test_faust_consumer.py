"""The fulfillment worker's Kafka consumer: read_committed, and no long parked fetches."""

from __future__ import annotations

import asyncio
from pathlib import Path

from processors.app import build_app
from processors.faust_kafka import FETCH_MAX_WAIT_MS, ReadCommittedConsumer


def test_worker_consumer_reads_committed_records_with_a_short_fetch_wait(tmp_path: Path) -> None:
    async def built() -> tuple[object, str, int]:
        app = build_app("skald.worker", "localhost:9092", None, 3, 1, tmp_path)
        kafka = app.consumer._thread._create_worker_consumer(app.transport)  # type: ignore[attr-defined]
        try:
            return app.consumer, kafka._isolation_level, kafka._fetch_max_wait_ms
        finally:
            await kafka.stop()  # never started: closes its client without a broker

    consumer, isolation, fetch_wait = asyncio.run(built())
    assert isinstance(consumer, ReadCommittedConsumer)
    assert isolation == "read_committed"  # aborted transactions' records stay invisible
    assert fetch_wait == FETCH_MAX_WAIT_MS < 1500  # not Faust's hard-coded 1.5 s
