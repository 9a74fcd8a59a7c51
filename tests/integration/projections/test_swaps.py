"""Swaps without gaps: a quiet system applies the next event at once, and a swap that
lands while live batches are in flight, followed by a rebalance, loses nothing."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from opensearchpy import OpenSearch

from contexts.sales.read_models.order_search import projection as order_search
from projections.dead_letters import read_dead_letters
from projections.opensearch.sink import OpenSearchSink
from projections.projector import Projector
from projections.replay import Replay
from skald.services import Services
from tests.integration.kafka_probe import end_offsets
from tests.integration.projections.actual import caught_up, search_orders, wait_caught_up
from tests.integration.projections.expected import fold_log
from tests.integration.projections.in_process import projecting
from tests.integration.projections.log_writer import LogWriter, scenario


@pytest.mark.parametrize("name", ["sales.orders", "sales.order-search"])
def test_after_a_swap_on_a_quiet_system_the_next_event_is_applied_at_once(
    services: Services, log_writer: LogWriter, name: str
) -> None:
    log_writer.write(scenario(orders=200, skus=5, stock_events=0, seed=31))
    with projecting(services, name):
        wait_caught_up(services, (name,))
        sink = services.sink(name)
        job = Replay(
            sink,
            services.projection_topics(name),
            services.reader(),
            lambda pinned, group: services.projector(name, sink=pinned, group=group),
            drop_after=0,
        )
        job.run(job.plan("0"), lambda progress: None)
        assert sink.live_generation() == 2
        # One event, then nothing: the live projector must not wait for more traffic.
        log_writer.write(scenario(orders=1, skus=1, stock_events=0, seed=32)[:1])
        wait_caught_up(services, (name,), within=20)
    expected = fold_log(services).orders
    if name == "sales.order-search":
        assert search_orders(services, sorted(expected)) == expected


class PausingClient:
    """The real OpenSearch client, except that while armed every `mget` (a batch's first
    call, after it chose the generation to write) waits for the test to release it."""

    def __init__(self, client: OpenSearch) -> None:
        self._client = client
        self.armed = threading.Event()
        self.release = threading.Event()
        self.paused = 0
        self._lock = threading.Lock()

    def mget(self, **kwargs: Any) -> Any:
        if self.armed.is_set():
            with self._lock:
                self.paused += 1
            self.release.wait(60)
        return self._client.mget(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def _searching(services: Services, client: PausingClient) -> Projector:
    sink = OpenSearchSink(
        client,  # type: ignore[arg-type]
        order_search,
        alias=services.settings.index(order_search.index),
        checkpoint_index=services.settings.index("skald-checkpoints"),
    )
    return services.projector(order_search.name, sink=sink)


def _owned(projector: Projector) -> set[int]:
    return {partition for _topic, partition in projector.owned}


def _until(condition: Any, within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, f"not {what} within {within} s"
        time.sleep(0.05)


def _build_next_generation(services: Services) -> int:
    """A new generation of the order search, caught up to the log's end, not swapped in."""
    name = order_search.name
    sink = services.sink(name)
    target = sink.create_generation()
    pinned = sink.pinned(target)
    topics = services.projection_topics(name)
    pinned.seed_offsets({key: 0 for key in _partitions(services, topics)})
    builder = services.projector(name, sink=pinned, group=f"projection.{name}.v{target}")
    thread = threading.Thread(target=builder.run, daemon=True)
    thread.start()
    _until(lambda: caught_up(services, pinned, topics), 60, "built")
    builder.stop()
    thread.join(30)
    return target


def _partitions(services: Services, topics: list[str]) -> list[tuple[str, int]]:
    reader = services.reader()
    try:
        return [
            (topic, p)
            for topic in topics
            for p in reader.list_topics(topic, timeout=10).topics[topic].partitions
        ]
    finally:
        reader.close()


def test_a_swap_while_a_live_batch_is_in_flight_then_a_rebalance_loses_nothing(
    services: Services, log_writer: LogWriter
) -> None:
    """Two live instances; one takes a batch, chooses the old generation and has not
    written yet when the swap lands; the batch goes on; the other instance leaves, so the
    first is assigned its partitions. The new generation must still get every event: the
    one in flight included, which the partition it came from has already moved past."""
    name = order_search.name
    events = scenario(orders=301, skus=5, stock_events=0, seed=41)
    placed = [e for e in events if e.version == 1]
    log_writer.write(placed[:300])
    client = PausingClient(services.opensearch)
    instances = [_searching(services, client), _searching(services, client)]
    threads = [threading.Thread(target=p.run, daemon=True) for p in instances]
    for thread in threads:
        thread.start()
    try:
        _until(lambda: all(_owned(p) for p in instances), 60, "both assigned")
        wait_caught_up(services, (name,))
        target = _build_next_generation(services)

        topic = services.projection_topics(name)[0]
        before = end_offsets(services.settings.kafka_bootstrap, topic)
        client.armed.set()
        log_writer.write(placed[300:])  # one event: one batch of one instance
        after = end_offsets(services.settings.kafka_bootstrap, topic)
        (partition,) = [p for p in after if after[p] > before[p]]
        stays, leaves = sorted(instances, key=lambda p: partition not in _owned(p))
        _until(lambda: client.paused == 1, 30, "the batch in flight")
        assert services.sink(name).swap(target)
        client.armed.clear()
        client.release.set()
        time.sleep(2)  # the batch finishes (or finds the fence)

        leaves.stop()  # a rebalance: the instance that stays is assigned more partitions
        threads[instances.index(leaves)].join(30)
        every = len(_partitions(services, [topic]))
        _until(lambda: len(_owned(stays)) == every, 60, "one instance owning every partition")
        log_writer.write([e for e in events if e.version > 1])
        wait_caught_up(services, (name,))
    finally:
        for instance in instances:
            instance.stop()
        client.release.set()
        for thread in threads:
            thread.join(30)
    assert services.sink(name).live_generation() == target
    expected = fold_log(services).orders
    assert search_orders(services, sorted(expected)) == expected
    letters = read_dead_letters(services.reader(), services.settings.topic(f"{name}.dlq"))
    assert letters == []
