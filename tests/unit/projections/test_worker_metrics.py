"""What the supervisor of projector workers serves: their metrics merged from the files of
prometheus_client's multiprocess mode. Worker processes are played here by metrics whose
values are written as a given pid's (prometheus_client's own value class, as a spawned
worker gets it), so a partition can move and a worker can die within one test."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, values
from prometheus_client.multiprocess import mark_process_dead

from projections import metrics
from projections.worker_metrics import DIRECTORY, WorkerMetrics, shared_metrics_dir

Series = dict[tuple[str, tuple[tuple[str, str], ...]], float]


class Worker:
    """The projection metrics of one worker process, written to the shared directory."""

    def __init__(self, pid: int, monkeypatch: pytest.MonkeyPatch) -> None:
        self.pid = pid
        self._monkeypatch = monkeypatch

    def _as_me(self, make: Callable[[], object]) -> None:
        # A metric child takes the value class in force when it is created.
        self._monkeypatch.setattr(values, "ValueClass", values.MultiProcessValue(lambda: self.pid))
        make()

    def applied(self, projection: str, events: int) -> None:
        counter = Counter(*_like(metrics.EVENTS_APPLIED), registry=None)
        self._as_me(lambda: counter.labels(projection).inc(events))

    def batch(self, projection: str, seconds: float) -> None:
        buckets = metrics.BATCH_SECONDS._upper_bounds
        histogram = Histogram(*_like(metrics.BATCH_SECONDS), registry=None, buckets=buckets)
        self._as_me(lambda: histogram.labels(projection).observe(seconds))

    def lag(self, projection: str, partition: int, lag: int) -> Gauge:
        mode = metrics.LAG._multiprocess_mode
        gauge = Gauge(*_like(metrics.LAG), registry=None, multiprocess_mode=mode)
        self._as_me(lambda: gauge.labels(projection, "orders", str(partition)).set(lag))
        return gauge

    def other(self) -> None:
        """An unlabelled gauge of some module the worker imports: one sample per pid."""
        self._as_me(lambda: Gauge("skald_unrelated", "Not a projection metric", registry=None))


def _like(metric: Counter | Histogram | Gauge) -> tuple[str, str, tuple[str, ...]]:
    """Name, help and labels of one of `projections.metrics`, for a worker's copy."""
    family = next(iter(metric.describe()))
    return family.name, family.documentation, tuple(metric._labelnames)


def _served(path: Path) -> Series:
    found: Series = {}
    for family in WorkerMetrics(path, own=CollectorRegistry()).collect():
        for sample in family.samples:
            key = (sample.name, tuple(sorted(sample.labels.items())))
            assert key not in found, f"{key} twice"
            found[key] = sample.value
    return found


def _lag(path: Path) -> dict[str, float]:
    return {
        dict(labels)["partition"]: value
        for (name, labels), value in _served(path).items()
        if name == "skald_projection_lag_events"
    }


@pytest.fixture
def shared(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(DIRECTORY, str(tmp_path))
    return tmp_path


def test_counters_and_histograms_are_summed_over_the_workers(
    shared: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    one, two = Worker(101, monkeypatch), Worker(102, monkeypatch)
    one.applied("sales.orders", 40)
    two.applied("sales.orders", 2)
    two.applied("inventory.stock-levels", 7)
    one.batch("sales.orders", 0.02)
    two.batch("sales.orders", 0.2)
    one.other()
    two.other()

    served = _served(shared)
    applied = "skald_projection_events_applied_total"
    assert served[(applied, (("projection", "sales.orders"),))] == 42
    assert served[(applied, (("projection", "inventory.stock-levels"),))] == 7
    assert served[("skald_projection_batch_seconds_count", (("projection", "sales.orders"),))] == 2
    # Only projection families come from the workers' files, never per-pid series.
    assert not [key for key in served if not key[0].startswith("skald_projection_")]


def test_a_partition_s_lag_is_its_newest_owner_s(
    shared: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    one, two = Worker(201, monkeypatch), Worker(202, monkeypatch)
    one.lag("sales.orders", 0, 500)
    one.lag("sales.orders", 1, 7)
    assert _lag(shared) == {"0": 500, "1": 7}
    two.lag("sales.orders", 0, 450)  # partition 0 moved to worker two, which reported it
    assert _lag(shared) == {"0": 450, "1": 7}


def test_a_revoked_partition_s_lag_is_gone_until_its_new_owner_reports(
    shared: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    one, two = Worker(301, monkeypatch), Worker(302, monkeypatch)
    gauge = one.lag("sales.orders", 0, 500)
    one.lag("sales.orders", 1, 7)
    metrics.forget_lag("sales.orders", "orders", 0, gauge)  # revoked from worker one
    assert _lag(shared) == {"1": 7}
    two.lag("sales.orders", 0, 20)
    assert _lag(shared) == {"0": 20, "1": 7}
    # Worker two dies: its lag goes, and worker one's old figure does not come back.
    mark_process_dead(two.pid, str(shared))
    assert _lag(shared) == {"1": 7}


def test_a_dead_worker_s_lag_goes_and_its_counts_stay(
    shared: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    one, two = Worker(401, monkeypatch), Worker(402, monkeypatch)
    one.applied("sales.orders", 5)
    two.applied("sales.orders", 6)
    two.lag("sales.orders", 2, 9)
    mark_process_dead(two.pid, str(shared))
    served = _served(shared)
    assert (
        served[("skald_projection_events_applied_total", (("projection", "sales.orders"),))] == 11
    )
    assert _lag(shared) == {}


def test_in_one_process_a_revoked_partition_s_series_is_removed() -> None:
    gauge = Gauge("lag_for_test", "lag", ["projection", "topic", "partition"], registry=None)
    gauge.labels("p", "orders", "0").set(3)
    metrics.forget_lag("p", "orders", 0, gauge)
    assert [s for family in gauge.collect() for s in family.samples] == []


def test_the_supervisor_s_own_families_are_served_beside_the_workers(shared: Path) -> None:
    own = CollectorRegistry()
    Counter("skald_supervisor_things", "The supervisor's own", registry=own).inc()
    names = [family.name for family in WorkerMetrics(shared, own=own).collect()]
    assert names == ["skald_supervisor_things"]


def test_each_run_gets_a_fresh_directory_removed_after_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(DIRECTORY, raising=False)
    with shared_metrics_dir() as first:
        assert os.environ[DIRECTORY] == str(first)
        (first / "counter_1.db").write_bytes(b"")
    assert not first.exists()
    assert DIRECTORY not in os.environ
    with shared_metrics_dir() as second:
        assert list(second.iterdir()) == []
    monkeypatch.setenv(DIRECTORY, "/elsewhere")
    with pytest.raises(RuntimeError), shared_metrics_dir():
        pass
