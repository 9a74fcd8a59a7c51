"""`skald project --workers 2` with SKALD_METRICS_PORT: the supervisor's endpoint reports what
its worker processes did, counters summed over them and each partition's lag once."""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from skald.services import Services
from tests.integration.kafka_probe import end_offsets
from tests.integration.projections.actual import PROJECTIONS, wait_caught_up
from tests.integration.projections.log_writer import Appendable, LogWriter, scenario
from tests.integration.projections.processes import ProjectorProcess
from tests.integration.running_service import free_port

ASSIGNED = re.compile(r"\[(projector-\d)\] projections\.projector: projection (\S+) assigned")
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


class MeteredProjector:
    """`skald project` with two workers, its metrics port and its own TMPDIR."""

    def __init__(self, services: Services, tmp_path: Path) -> None:
        self.port = free_port()
        self.tmp = tmp_path / "tmp"  # where the run keeps its workers' metric files
        self.tmp.mkdir()
        env = {"SKALD_METRICS_PORT": str(self.port), "TMPDIR": str(self.tmp)}
        self.process = ProjectorProcess(
            services.settings,
            PROJECTIONS,
            tmp_path / "projector.log",
            batch=50,
            workers=2,
            extra_env=env,
        )

    def scrape(self) -> str:
        url = f"http://127.0.0.1:{self.port}/metrics"
        return httpx.get(url, timeout=5).raise_for_status().text

    def wait_for_both_workers(self, within: float = 60) -> None:
        want = {(f"projector-{n}", name) for n in (0, 1) for name in PROJECTIONS}
        deadline = time.monotonic() + within
        while not want <= (found := self._assigned()):
            self.process.assert_alive()
            assert time.monotonic() < deadline, f"not every worker got partitions: {found}"
            time.sleep(0.2)
        self.process.children()  # remembered: stopped after the test even if this one dies

    def _assigned(self) -> set[tuple[str, str]]:
        text = self.process.log.read_text()
        return {(m.group(1), m.group(2)) for m in ASSIGNED.finditer(text)}


@pytest.fixture
def projector(services: Services, tmp_path: Path) -> Iterator[MeteredProjector]:
    started = MeteredProjector(services, tmp_path)
    try:
        yield started
    finally:  # passed or failed, nothing of it is left running
        started.process.ensure_stopped()


def _samples(text: str, name: str) -> Samples:
    found: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                key = (sample.name, frozenset(sample.labels.items()))
                assert key not in found, f"{name} {sample.labels} twice"
                found[key] = sample.value
    return found


def _applied(text: str) -> dict[str, float]:
    """skald_projection_events_applied_total per projection, summed over its series."""
    applied: dict[str, float] = {}
    for (_, labels), value in _samples(text, "skald_projection_events_applied_total").items():
        projection = dict(labels)["projection"]
        applied[projection] = applied.get(projection, 0.0) + value
    return applied


def _handled(services: Services, events: list[Appendable]) -> dict[str, int]:
    """Events each projection applies: those of its topics that it has a handler for."""
    counts: Counter[str] = Counter()
    for name in PROJECTIONS:
        sink, topics = services.sinks()[name]
        handled = sink.handled_types()
        counts[name] = sum(1 for e in events if e.topic in topics and type(e.event) in handled)
    return dict(counts)


def _partitions(services: Services) -> int:
    """The partitions the projections read, summed over them."""
    bootstrap = services.settings.kafka_bootstrap
    return sum(
        len(end_offsets(bootstrap, topic))
        for name in PROJECTIONS
        for topic in services.projection_topics(name)
    )


def test_the_supervisor_serves_its_workers_projection_metrics(
    services: Services, log_writer: LogWriter, projector: MeteredProjector
) -> None:
    # Both workers hold partitions before any event exists: every event is applied once, by
    # whichever worker owns its partition, with no rebalance in between.
    projector.wait_for_both_workers()
    events = scenario(orders=600, skus=40, stock_events=1_200, seed=29)
    log_writer.write(events)
    wait_caught_up(services)
    expected = {name: float(n) for name, n in _handled(services, events).items()}
    assert all(expected.values())

    # The counters move right after the checkpoints commit: wait for the last increments.
    deadline = time.monotonic() + 30
    while (applied := _applied(projector.scrape())) != expected:
        projector.process.assert_alive()
        assert time.monotonic() < deadline, f"applied {applied}, expected {expected}"
        time.sleep(0.2)

    text = projector.scrape()
    # One HELP line per family: the workers' families are not served twice.
    helps = Counter(line.split()[2] for line in text.splitlines() if line.startswith("# HELP"))
    assert [name for name, n in helps.items() if n > 1] == []
    batches = _samples(text, "skald_projection_batch_seconds_count")
    assert {dict(labels)["projection"] for _, labels in batches} == set(PROJECTIONS)
    # Lag: one series per projection and partition (no pid label), caught up = 0.
    deadline = time.monotonic() + 30
    while True:
        lag = _samples(projector.scrape(), "skald_projection_lag_events")
        labels = [dict(labels) for _, labels in lag]
        assert all(set(label) == {"projection", "topic", "partition"} for label in labels)
        if set(lag.values()) == {0.0} and len(lag) == _partitions(services):
            break
        assert time.monotonic() < deadline, f"lag {lag}"
        time.sleep(0.5)

    projector.process.stop()  # SIGTERM: a clean exit, and the workers' metric files removed
    assert list(projector.tmp.iterdir()) == []
