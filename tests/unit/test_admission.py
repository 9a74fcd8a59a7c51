"""Backlog arithmetic and the admission verdict, on hand-built state (no Kafka)."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any, cast

import pytest
from confluent_kafka.admin import AdminClient
from fastapi import HTTPException
from fastapi.testclient import TestClient

from producers import backlog as backlog_module
from producers.admission import Admission, admission_gate
from producers.backlog import Backlog, BacklogMonitor, PartitionBacklog
from skald.http import build_api
from skald.registry import CONTEXTS
from skald.services import Services
from skald.settings import Settings


def _partition(
    topic: str, committed: int, end: int, idle_since: float = 0.0, partition: int = 0
) -> PartitionBacklog:
    return PartitionBacklog("g", topic, partition, committed, end, idle_since)


class _FixedMonitor(BacklogMonitor):
    """A monitor that always answers the given backlog."""

    def __init__(self, backlog: Backlog) -> None:
        super().__init__(cast(AdminClient, None), {})
        self.fixed = backlog

    def snapshot(self) -> Backlog:
        return self.fixed


class _BrokenAdmin:
    def list_consumer_group_offsets(self, *_: Any, **__: Any) -> Any:
        raise RuntimeError("broker down")


def test_an_empty_backlog_drains_in_no_time() -> None:
    assert Backlog().seconds_to_drain == 0.0
    assert Backlog(messages=0, drain_rate=0.0, rate_known=True).seconds_to_drain == 0.0


def test_seconds_to_drain_is_messages_over_rate() -> None:
    assert Backlog(messages=500, drain_rate=50.0, rate_known=True).seconds_to_drain == 10.0


def test_queued_work_nothing_drained_over_a_full_window_never_drains() -> None:
    assert Backlog(messages=5, drain_rate=0.0, rate_known=True).seconds_to_drain == math.inf
    # Before a full window the rate is unknown: no claim it never drains.
    assert Backlog(messages=5, drain_rate=0.0, rate_known=False).seconds_to_drain == 0.0


def test_topic_lag_sums_groups_and_partitions() -> None:
    backlog = Backlog(
        messages=0,
        partitions=(
            _partition("a", 3, 10),
            _partition("a", 5, 5, partition=1),
            _partition("b", 0, 4),
            PartitionBacklog("other", "a", 0, 8, 10, 0.0),
        ),
    )
    assert backlog.topic_lag("a") == 9
    assert backlog.topic_lag("b") == 4
    assert backlog.topic_lag("missing") == 0


def test_a_topic_stalls_when_queued_work_does_not_move() -> None:
    backlog = Backlog(
        taken_at=100.0,
        partitions=(_partition("a", 3, 10, idle_since=80.0), _partition("b", 4, 4, 0.0)),
    )
    assert backlog.topic_stalled("a", 20.0)
    assert not backlog.topic_stalled("a", 21.0)
    assert not backlog.topic_stalled("b", 1.0)  # caught up: nothing owed


def _monitor(window: float = 10.0) -> BacklogMonitor:
    return BacklogMonitor(cast(AdminClient, None), {}, interval=1.0, window=window)


def test_the_drain_rate_is_the_committed_offsets_rise_over_the_window() -> None:
    monitor = _monitor(window=10.0)
    key = ("g", "t", 0)
    first = monitor._record(0.0, {key: (0, 1000)})
    assert (first.messages, first.drain_rate, first.rate_known) == (1000, 0.0, False)
    for second in range(1, 11):
        latest = monitor._record(float(second), {key: (20 * second, 1000)})
    assert latest.rate_known
    assert latest.drain_rate == pytest.approx(20.0)
    assert latest.messages == 800
    assert latest.seconds_to_drain == pytest.approx(40.0)
    # The window slides: only the last 10 s count.
    latest = monitor._record(11.0, {key: (200, 1000)})
    assert latest.drain_rate == pytest.approx(18.0)


def test_each_group_drains_at_its_own_rate() -> None:
    monitor = _monitor(window=10.0)
    fast, slow = ("processor", "commands", 0), ("worker", "replies", 0)
    monitor._record(0.0, {fast: (0, 1000), slow: (0, 1000)})
    latest = monitor._record(10.0, {fast: (900, 1000), slow: (100, 1000)})
    assert latest.group_rates == {"processor": 90.0, "worker": 10.0}
    assert latest.drain_rate == pytest.approx(100.0)
    assert latest.seconds_to_drain == pytest.approx(90.0)  # the worker's 900 at 10/s


def test_a_group_drains_at_the_rate_it_keeps_while_it_has_work() -> None:
    """Load that starts in a quiet window: the idle seconds don't dilute the rate (diluted,
    the door refused sixteen clients' sagas far below capacity)."""
    monitor = _monitor(window=10.0)
    key = ("worker", "replies", 0)
    for second in range(7):  # caught up, nothing arrives
        monitor._record(float(second), {key: (0, 0)})
    monitor._record(7.0, {key: (0, 300)})  # work arrives
    latest = monitor._record(8.0, {key: (50, 300)})  # one busy second: its own rate
    assert latest.group_rates == {"worker": pytest.approx(50.0)}
    monitor._record(9.0, {key: (150, 400)})
    latest = monitor._record(10.0, {key: (300, 500)})  # 300 drained in 3 busy seconds
    assert latest.group_rates == {"worker": pytest.approx(100.0)}
    assert latest.seconds_to_drain == pytest.approx(2.0)
    # Work that came and went between two samples was work too.
    latest = monitor._record(11.0, {key: (600, 600)})
    assert latest.group_rates == {"worker": pytest.approx(150.0)}


def test_a_partition_committed_for_the_first_time_drains_from_then_on() -> None:
    """A group whose offsets exist only once it first commits (the worker, on new topics):
    its drain counts at once, not after the window slid past its first commit."""
    monitor = _monitor(window=10.0)
    commands, replies = ("processor", "commands", 0), ("worker", "replies", 0)
    for second in range(5):
        monitor._record(float(second), {commands: (0, 0)})
    monitor._record(5.0, {commands: (0, 300), replies: (0, 300)})  # the worker's first commit
    for second in range(6, 9):
        latest = monitor._record(
            float(second), {commands: (300, 300), replies: (100 * (second - 5), 300)}
        )
    assert latest.group_rates["worker"] == pytest.approx(100.0)
    assert latest.seconds_to_drain == 0.0  # the worker caught up


def test_the_rate_counts_after_a_few_samples_not_a_full_window() -> None:
    monitor = _monitor(window=10.0)  # 1 s interval
    key = ("g", "t", 0)
    monitor._record(0.0, {key: (0, 1000)})
    assert not monitor._record(2.0, {key: (0, 1000)}).rate_known
    latest = monitor._record(3.0, {key: (0, 1000)})  # a burst at start: nothing drained
    assert latest.rate_known and latest.seconds_to_drain == math.inf


def test_a_partition_that_appears_does_not_count_as_drained() -> None:
    monitor = _monitor(window=2.0)
    monitor._record(0.0, {("g", "t", 0): (10, 10)})
    latest = monitor._record(2.0, {("g", "t", 0): (10, 10), ("g", "t", 1): (5000, 5050)})
    assert latest.drain_rate == 0.0
    assert latest.seconds_to_drain == math.inf


def test_idle_time_starts_when_work_arrives_and_resets_when_it_moves() -> None:
    monitor = _monitor()
    key = ("g", "t", 0)
    monitor._record(0.0, {key: (5, 5)})  # caught up
    monitor._record(50.0, {key: (5, 5)})
    backlog = monitor._record(51.0, {key: (5, 9)})  # work arrives
    assert not backlog.topic_stalled("t", 5.0)
    backlog = monitor._record(57.0, {key: (5, 9)})
    assert backlog.topic_stalled("t", 5.0)
    backlog = monitor._record(58.0, {key: (6, 9)})  # it moved
    assert not backlog.topic_stalled("t", 5.0)


def test_failed_sampling_keeps_the_last_snapshot_then_marks_it_stale(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    now = [100.0]
    monkeypatch.setattr(backlog_module.time, "monotonic", lambda: now[0])
    monitor = BacklogMonitor(cast(AdminClient, _BrokenAdmin()), {"g": ["t"]}, interval=1.0)
    assert monitor.sample() == Backlog()  # before any success: empty, admits
    monitor._snapshot = Backlog(messages=7, taken_at=100.0)
    assert monitor.sample().messages == 7
    assert not monitor.snapshot().stale
    now[0] = 103.5
    assert monitor.snapshot().stale
    failures = [r for r in caplog.records if "backlog sampling failed" in r.getMessage()]
    assert len(failures) == 1 and failures[0].exc_info is None  # once per streak, no trace


def _admission(backlog: Backlog, max_seconds: float = 10.0, min_messages: int = 200) -> Admission:
    return Admission(_FixedMonitor(backlog), max_seconds, min_messages)


def test_no_monitor_admits() -> None:
    assert Admission(None, 10.0, 200).verdict() is None


@pytest.mark.parametrize(
    "backlog",
    [
        Backlog(),
        Backlog(messages=199, drain_rate=0.0, rate_known=True),  # quiet: noisy rate
        Backlog(messages=1000, drain_rate=100.0, rate_known=True),  # 10 s: at the limit
        Backlog(messages=10_000, drain_rate=0.0, rate_known=True, stale=True),  # fail open
    ],
)
def test_admits_under_the_limit_and_when_unsure(backlog: Backlog) -> None:
    assert _admission(backlog).verdict() is None


def test_work_queued_before_the_rate_is_known_waits_until_it_is() -> None:
    unmeasured = Backlog(messages=1000, drain_rate=0.0, rate_known=False)
    assert _admission(unmeasured).verdict() == 3.0
    assert _admission(Backlog(messages=199, rate_known=False)).verdict() is None
    with pytest.raises(HTTPException) as refused:
        admission_gate(_admission(unmeasured), "place_order")()
    assert "1000 messages queued, drain rate not measured yet" in str(refused.value.detail)


def test_refuses_over_the_limit_until_roughly_back_under_it() -> None:
    # 2000 messages at 100/s: 20 s, 10 s over the limit of 10 s.
    assert _admission(Backlog(messages=2000, drain_rate=100.0, rate_known=True)).verdict() == 10.0
    # Nothing draining: the longest wait.
    assert _admission(Backlog(messages=500, drain_rate=0.0, rate_known=True)).verdict() == 60.0
    # Far over: clamped to 60; just over: at least 1.
    assert _admission(Backlog(messages=10**6, drain_rate=10.0, rate_known=True)).verdict() == 60.0
    assert _admission(Backlog(messages=1001, drain_rate=100.0, rate_known=True)).verdict() == 1.0


def test_the_slowest_group_decides_how_long_the_queues_take() -> None:
    # The processor drains 100/s with 100 queued (1 s); the worker 10/s with 300 queued
    # (30 s). Together 400 at 110/s (3.6 s) would hide the slow one.
    backlog = Backlog(
        messages=400,
        drain_rate=110.0,
        rate_known=True,
        partitions=(
            PartitionBacklog("processor", "commands", 0, 0, 100, 0.0),
            PartitionBacklog("worker", "replies", 0, 0, 300, 0.0),
        ),
        group_rates={"processor": 100.0, "worker": 10.0},
    )
    assert backlog.seconds_to_drain == 30.0
    stalled = replace(backlog, group_rates={"processor": 100.0, "worker": 0.0})
    assert stalled.seconds_to_drain == math.inf


def test_work_of_many_hops_waits_behind_the_queues_at_each() -> None:
    backlog = Backlog(messages=300, drain_rate=100.0, rate_known=True)  # 3 s a hop
    assert _admission(backlog).verdict(hops=1) is None
    assert _admission(backlog).verdict(hops=3) is None  # 9 s: under the 10 s limit
    # 10 hops: 30 s; 1 s on, the queue is down to the 200 messages never refused.
    assert _admission(backlog).verdict(hops=10) == 1.0
    assert (
        _admission(Backlog(messages=3000, drain_rate=100.0, rate_known=True)).verdict(hops=10)
        == 28.0
    )  # 30 s a hop, allowed 1 s: 29 s by time, 28 by count


def test_the_gate_answers_503_with_retry_after_and_a_clear_message() -> None:
    gate = admission_gate(
        _admission(Backlog(messages=2000, drain_rate=100.0, rate_known=True)), "place_order"
    )
    with pytest.raises(HTTPException) as refused:
        gate()
    assert refused.value.status_code == 503
    assert refused.value.headers == {"Retry-After": "10"}
    assert refused.value.detail == (
        "Skald is at capacity: new work would wait about 20 s in its queues (limit 10 s); "
        "retry after 10 s"
    )
    admission_gate(_admission(Backlog()), "place_order")()  # admits: no exception


def test_post_orders_documents_the_refusal_and_builds_no_monitor() -> None:
    settings = Settings(_env_file=None, kafka_bootstrap="127.0.0.1:1")
    services = Services(settings, CONTEXTS)
    paths = TestClient(build_api(services)).get("/openapi.json").json()["paths"]
    refused = paths["/orders"]["post"]["responses"]["503"]
    assert "Retry-After" in refused["headers"]
    assert "at capacity" in refused["description"]
    # Only long work is refused for capacity; every command's 503 still says when to retry.
    confirm = paths["/orders/{order_id}/confirm"]["post"]["responses"]["503"]
    assert "at capacity" not in confirm["description"]
    assert "Retry-After" in confirm["headers"]
    assert "backlog_monitor" not in services.__dict__  # only the API's lifespan starts it


def test_the_refusal_names_the_topic_where_the_work_waits() -> None:
    backlog = Backlog(
        messages=2000,
        drain_rate=100.0,
        rate_known=True,
        partitions=(_partition("ns.sales.order.commands", 0, 1500), _partition("ns.x", 0, 500)),
    )
    with pytest.raises(HTTPException) as refused:
        admission_gate(_admission(backlog), "place_order")()
    assert "most on ns.sales.order.commands" in str(refused.value.detail)
