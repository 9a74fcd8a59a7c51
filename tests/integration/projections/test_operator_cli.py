"""Operator commands on a log written in transactions, as the command processor writes it:
`projections status` shows lag 0 at rest within 100 columns, `dlq list` summarizes all."""

from __future__ import annotations

import re
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Callable

from confluent_kafka import Producer

from eventstore.envelope import Headers
from eventstore.kafka_config import producer_config
from projections import metrics
from skald.services import Services
from tests.integration.kafka_probe import read_all
from tests.integration.projections.in_process import projecting
from tests.integration.projections.log_writer import ORDERS, Appendable, LogWriter, scenario
from tests.integration.running_service import environment, free_port


class TransactionalLogWriter(LogWriter):
    """Each `write` is one Kafka transaction: its commit marker takes an offset per
    partition that no reader ever receives."""

    def __init__(self, services: Services) -> None:
        super().__init__(services)
        config = producer_config(services.settings.kafka_connection())
        config["transactional.id"] = f"test-writer-{uuid.uuid4().hex[:8]}"
        self._producer = Producer(config)
        self._producer.init_transactions(30)

    def write(self, events: list[Appendable]) -> None:
        self.transaction(lambda: super(TransactionalLogWriter, self).write(events))

    def transaction(self, produce: Callable[[], None]) -> None:
        self._producer.begin_transaction()
        produce()
        self.flush()
        self._producer.commit_transaction(30)


def _skald(services: Services, *args: str) -> subprocess.CompletedProcess[str]:
    env = environment(services.settings, free_port())
    env["COLUMNS"] = "100"  # a 100-column terminal
    return subprocess.run(
        [sys.executable, "-m", "skald", *args], env=env, capture_output=True, text=True, timeout=120
    )


def _applied_everything(services: Services) -> bool:
    """Each projection's checkpoints reached the offset after the last record (markers
    after it are not records)."""
    for name in services.projection_sinks:
        sink = services.sink(name)
        stored = sink.checkpoints(sink.live_generation())
        for topic in services.projection_topics(name):
            last: dict[int, int] = defaultdict(int)
            for message in read_all(services.settings.kafka_bootstrap, topic):
                last[message.partition() or 0] = (message.offset() or 0) + 1
            if any(stored.get((topic, p), 0) < end for p, end in last.items()):
                return False
    return True


def _lag_gauges(services: Services) -> dict[tuple[str, str, str], float]:
    """skald_projection_lag_events of this test's topics (the names carry its namespace)."""
    topics = {t for name in services.projection_sinks for t in services.projection_topics(name)}
    return {
        (s.labels["projection"], s.labels["topic"], s.labels["partition"]): s.value
        for metric in metrics.LAG.collect()
        for s in metric.samples
        if s.labels.get("topic") in topics
    }


# "  topic[p]   checkpoint   head   lag   last error"
PARTITION_ROW = re.compile(r"  (\S+\[\d+\])\s+(-|\d+)\s+(\d+)\s+(\d+)(?:\s+(.*))?$")


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.split("│")]


def test_status_at_rest_shows_lag_0_in_100_columns_and_dlq_list_counts_every_projection(
    services: Services,
) -> None:
    writer = TransactionalLogWriter(services)
    for seed in range(3):
        writer.write(scenario(orders=50, skus=4, stock_events=40, seed=60 + seed))
    poison: Headers = [("ce_type", b"sales.order.OrderPlaced"), ("ce_subject", b"o-bad")]
    writer.transaction(lambda: writer.raw(ORDERS, b"o-bad", b"\x00 not avro", poison))
    writer.write(scenario(orders=5, skus=2, stock_events=5, seed=70))
    with projecting(services, *services.projection_sinks):
        deadline = time.monotonic() + 120
        while not _applied_everything(services):
            assert time.monotonic() < deadline, "projections did not apply every record"
            time.sleep(0.5)
        # The Prometheus gauge agrees once the projectors have idled a moment: markers
        # after the last record are not lag.
        deadline = time.monotonic() + 10
        while any(_lag_gauges(services).values()):
            assert time.monotonic() < deadline, _lag_gauges(services)
            time.sleep(0.2)
        assert len(_lag_gauges(services)) >= 3  # partitions that had records reported

    status = _skald(services, "projections", "status")
    assert status.returncode == 0, status.stdout + status.stderr
    lines = status.stderr.splitlines()
    assert max(len(line) for line in lines) <= 100, status.stderr
    names = {m[1] for line in lines if (m := re.match(r"(\S+) v1\b", line))}
    assert names == set(services.projection_sinks), status.stderr
    rows = [m.groups() for line in lines if (m := PARTITION_ROW.match(line))]
    assert len(rows) >= 3 * len(names), status.stderr  # one line per partition
    marked = 0
    for _partition, checkpoint, head, lag, _error in rows:
        assert lag == "0", status.stderr  # at rest
        if checkpoint != "-":
            marked += int(head) > int(checkpoint)  # a commit marker after the last record
    assert marked >= 3, status.stderr  # markers were there to be mistaken for lag
    assert any(row[4] and row[4].startswith("@") for row in rows), status.stderr

    listed = _skald(services, "dlq", "list")
    assert listed.returncode == 0, listed.stdout + listed.stderr
    summary = {
        cells[1]: cells[2:5]
        for line in listed.stderr.splitlines()
        if len(cells := _cells(line)) >= 6 and cells[2].isdigit()
    }
    assert set(summary) == set(services.projection_sinks)
    assert summary["sales.orders"][0] == summary["sales.order-search"][0] == "1"
    assert summary["sales.orders"][1].startswith("20")  # when it failed, oldest and newest
    assert summary["inventory.stock-levels"] == ["0", "-", "-"]
    total = sum(int(counts[0]) for counts in summary.values())
    assert f"{total} dead letter(s) in {len(summary)} projections" in listed.stdout
