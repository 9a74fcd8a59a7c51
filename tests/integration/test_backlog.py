"""The backlog monitor against real Kafka: a group that owes messages, then catches up."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from producers.admission import Admission
from producers.backlog import Backlog, BacklogMonitor
from skald.settings import Settings

MESSAGES = 30


@pytest.fixture
def topic(settings: Settings) -> Iterator[str]:
    """A fresh two-partition topic holding MESSAGES messages, deleted afterwards."""
    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap})
    name = settings.topic("backlog.work")
    admin.create_topics([NewTopic(name, 2, 1)])[name].result(30)
    producer = Producer({"bootstrap.servers": settings.kafka_bootstrap})
    for n in range(MESSAGES):
        producer.produce(name, key=str(n).encode(), value=b"work")
    assert producer.flush(30) == 0
    yield name
    admin.delete_topics([name])[name].result(30)


def _wait_for(monitor: BacklogMonitor, holds: Callable[[Backlog], bool]) -> Backlog:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        backlog = monitor.snapshot()
        if backlog.taken_at and holds(backlog):
            return backlog
        time.sleep(0.1)
    raise AssertionError(f"not reached within 30 s: {monitor.snapshot()}")


def test_a_group_that_never_ran_owes_everything_until_it_consumes_and_commits(
    settings: Settings, topic: str
) -> None:
    group = settings.group("backlog.workers")
    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap})
    monitor = BacklogMonitor(admin, {group: [topic]}, interval=0.2, window=1.0)
    monitor.start()
    try:
        backlog = _wait_for(monitor, lambda b: b.rate_known)
        assert backlog.messages == MESSAGES
        assert backlog.topic_lag(topic) == MESSAGES
        assert backlog.seconds_to_drain == math.inf
        _wait_for(monitor, lambda b: b.topic_stalled(topic, 1.0))
        assert Admission(monitor, max_seconds=1.0, min_messages=1).verdict() == 60.0

        _consume_and_commit(settings, group, topic)
        backlog = _wait_for(monitor, lambda b: b.messages == 0)
        assert backlog.seconds_to_drain == 0.0
        assert not backlog.topic_stalled(topic, 0.0)
        assert Admission(monitor, max_seconds=1.0, min_messages=1).verdict() is None
    finally:
        monitor.close()


def _consume_and_commit(settings: Settings, group: str, topic: str) -> None:
    consumer = Consumer(
        {
            "bootstrap.servers": settings.kafka_bootstrap,
            "group.id": group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    seen = 0
    deadline = time.monotonic() + 30
    try:
        while seen < MESSAGES and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None and message.error() is None:
                seen += 1
        assert seen == MESSAGES
        consumer.commit(asynchronous=False)
    finally:
        consumer.close()


def test_transaction_markers_after_the_last_record_are_no_work(settings: Settings) -> None:
    bootstrap = settings.kafka_bootstrap
    admin = AdminClient({"bootstrap.servers": bootstrap})
    topic, group = settings.topic("backlog.events"), settings.group("backlog.saga")
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(30)
    producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": f"{topic}.tx"})
    producer.init_transactions(30)
    for n in range(3):  # each committed transaction leaves a marker after its record
        producer.begin_transaction()
        producer.produce(topic, key=b"k", value=str(n).encode())
        producer.commit_transaction(30)
    # Like Faust: commit the last record's offset + 1, short of the last marker.
    committer = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    committer.commit(offsets=[TopicPartition(topic, 0, 5)], asynchronous=False)
    committer.close()
    reader = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": settings.group("backlog.reader"),
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
            "enable.partition.eof": True,
        }
    )
    monitor = BacklogMonitor(admin, {group: [topic]}, interval=0.2, window=1.0, reader=reader)
    try:
        assert monitor.sample().topic_lag(topic) == 1  # first sight: not idle yet, unprobed
        backlog = monitor.sample()
        assert backlog.messages == 0
        assert not backlog.topic_stalled(topic, 0.0)
    finally:
        monitor.close()
        admin.delete_topics([topic])[topic].result(30)
