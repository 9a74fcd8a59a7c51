"""An hourly bucket leaves the stats worker's table once its window closes, and a sale that
arrives for a closed hour is dropped: the published total stays the hour's real one."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from confluent_kafka import Producer

from contexts.sales.stats.aggregates import bucket_key, hour_of
from contexts.sales.stats.topics import HOURLY_TABLE, SKU_HOURLY, SKU_SALES
from eventstore import kafka_config
from processors.app import changelog_topic
from skald.services import Services
from tests.integration.commands.harness import ProcessFactory
from tests.integration.kafka_probe import read_all
from tests.integration.processors.conftest import start_worker

SKU = "SKU-WINDOW"
# An hour that ended between one and two hours ago: open with a grace of 3 h, closed with 1 h.
HOUR = hour_of(datetime.now(UTC) - timedelta(hours=2))
KEY = bucket_key(SKU, HOUR)


def _send_sale(services: Services, offset: int) -> None:
    """A sale as the order-lines agent sends it, keyed by SKU like its bucket's partition."""
    settings = services.settings
    producer = Producer(kafka_config.producer_config(settings.kafka_connection()))
    sale = {"sku": SKU, "hour": HOUR, "units": 1, "cents": 100, "order_id": f"o{offset}"}
    value = json.dumps({**sale, "source": [0, offset]}).encode()
    producer.produce(settings.topic(SKU_SALES.name), key=SKU.encode(), value=value)
    assert producer.flush(10) == 0


def _values(services: Services, topic: str) -> list[Any]:
    """The topic's values for the bucket's key, in order (None: a tombstone)."""
    records = read_all(services.settings.kafka_bootstrap, services.settings.topic(topic))
    return [
        None if r.value() is None else json.loads(r.value() or b"")
        for r in records
        if r.key() == KEY
    ]


def _wait(check: Any, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.5)


def test_a_closed_hour_leaves_the_table_and_a_late_sale_is_dropped(
    services: Services, spawn: ProcessFactory
) -> None:
    window = {"SKALD_STATS_CLOSE_EVERY_SECONDS": "1"}
    worker = start_worker(spawn, "worker", {**window, "SKALD_STATS_GRACE_HOURS": "3"})
    _send_sale(services, offset=1)
    _wait(lambda: _values(services, SKU_HOURLY.name), "the open hour's bucket was published")
    time.sleep(3)  # a few closing looks: the hour is open, so nothing closes
    assert [v["orders"] for v in _values(services, SKU_HOURLY.name)] == [1]
    assert None not in _values(services, changelog_topic(HOURLY_TABLE))
    worker.stop()

    later = start_worker(spawn, "worker-2", {**window, "SKALD_STATS_GRACE_HOURS": "1"})
    _wait(
        lambda: _values(services, changelog_topic(HOURLY_TABLE))[-1:] == [None],
        "the closed hour's bucket left the table (a tombstone in its changelog)",
    )
    mark = len(later.log())
    _send_sale(services, offset=2)
    dropped = f"a sale of {SKU} for the closed hour {HOUR}: dropped"
    later.wait_for_log(dropped, timeout=30, after=mark)
    published = _values(services, SKU_HOURLY.name)
    assert [v["orders"] for v in published] == [1]  # not a partial total over the real one
