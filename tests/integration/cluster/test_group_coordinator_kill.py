"""kill -9 of the consumer group's coordinator while a transaction adds its consumed offsets.

librdkafka's `send_offsets_to_transaction` can then wait for the coordinator without a bound
(librdkafka#5456, #5511): the leader-kill test once found the processor blocked in it for
300 s. Whatever librdkafka does here (in the runs so far it found the new coordinator, or the
broker aborted the transaction; the unbounded wait is a race this test does not force, see
tests/unit/test_transaction_session.py for the session's answer to it), the interrupted
transaction ends within the session's deadlines, wholly committed or not at all, and the next
one commits on the two nodes left with its offsets.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass

import pytest
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from command_processor.session import SessionReset, TransactionAborted, TransactionSession
from eventstore import kafka_config
from skald.settings import Settings
from tests.integration.cluster.nodes import KafkaCluster
from tests.integration.cluster.replicas import leaders
from tests.integration.kafka_probe import read_all
from tests.integration.throwaway_kafka import kafka_libs

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(600)]

HUNG_AFTER = 15.0  # the session's deadline for send_offsets (its default: call timeout + 5 s)


def _transaction(
    session: TransactionSession,
    where: TopicPartition,
    value: bytes,
    offset: int,
    consumer: Consumer,
) -> None:
    session.begin()
    session.produce(where.topic, b"k", value, [], partition=where.partition)
    offsets = [TopicPartition(where.topic, where.partition, offset)]
    session.send_offsets(offsets, consumer.consumer_group_metadata())
    session.flush()
    session.commit()


def _led_by(bootstrap: str, topic: str, node: int, timeout: float = 60.0) -> TopicPartition:
    """A partition of the topic that the node leads (leaders settle after a creation)."""
    deadline = time.monotonic() + timeout
    while True:
        led = [p for p, leader in leaders(bootstrap, topic).items() if leader == node]
        if led:
            return TopicPartition(topic, led[0])
        assert time.monotonic() < deadline, f"node {node} leads no partition of {topic}"
        time.sleep(1)


def _group_coordinator(bootstrap: str, group: str) -> int:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    description = admin.describe_consumer_groups([group])[group].result(timeout=30)
    return int(description.coordinator.id)


def _transaction_coordinator(bootstrap: str, transactional_id: str) -> int:
    """The node coordinating the id's transactions (Kafka's own TransactionsCommand)."""
    libs = kafka_libs()
    assert libs is not None, "no Kafka distribution: run deploy/local/stack.py up first"
    command = ["java", "-cp", f"{libs}/*", "org.apache.kafka.tools.TransactionsCommand"]
    args = ["--bootstrap-server", bootstrap, "describe", "--transactional-id", transactional_id]
    out = subprocess.run([*command, *args], capture_output=True, text=True, timeout=120)
    header, row = out.stdout.splitlines()[:2]
    return int(row.split()[header.split().index("CoordinatorId")])


@dataclass
class Setup:
    """A session whose transaction coordinator is alive when the group's is killed."""

    session: TransactionSession
    consumer: Consumer
    partition: TopicPartition  # not led by the group coordinator
    coordinator: int  # the group's


def _setup(cluster: KafkaCluster) -> Setup:
    connection = Settings(_env_file=None, kafka_bootstrap=cluster.bootstrap).kafka_connection()
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
    for _ in range(6):  # a third of the names put both coordinators on one node
        name = f"coordinator-kill-{uuid.uuid4().hex[:8]}"
        coordinator = _group_coordinator(cluster.bootstrap, name)
        topic = NewTopic(name, 6, 3, config={"min.insync.replicas": "2"})
        admin.create_topics([topic])[name].result(timeout=60)
        # The producer knows partitions the killed node leads (the processor writes to some),
        # so its metadata drops the node, which leaves librdkafka's coordinator request
        # unwoken; the interrupted transaction writes elsewhere (a record stuck on the dead
        # leader would fail the transaction in time, ending the call).
        led = _led_by(cluster.bootstrap, name, coordinator)
        partition = TopicPartition(name, (led.partition + 1) % 6)
        config = kafka_config.transactional_producer_config(connection, f"{name}.instance")
        session = TransactionSession(
            config, call_timeout=10.0, give_up_after=30.0, hung_after=HUNG_AFTER
        )
        # Never joins: its group metadata (generation -1) is all send_offsets needs.
        consumer = Consumer(kafka_config.command_consumer_config(connection, name))
        _transaction(session, led, b"before", 1, consumer)  # caches the coordinator
        assert _group_coordinator(cluster.bootstrap, name) == coordinator
        if _transaction_coordinator(cluster.bootstrap, f"{name}.instance") != coordinator:
            return Setup(session, consumer, partition, coordinator)
        session.close()
        consumer.close()
    raise AssertionError("every name put both coordinators on one node")


def test_a_killed_group_coordinator_costs_one_transaction(
    whole_cluster: KafkaCluster, caplog: pytest.LogCaptureFixture
) -> None:
    cluster = whole_cluster
    setup = _setup(cluster)
    session, consumer, partition = setup.session, setup.consumer, setup.partition
    caplog.set_level(logging.WARNING, "command_processor")

    # The node dies with the transaction's TxnOffsetCommit in flight to it, as in the
    # leader-kill test: stopped first, killed a second into the call.
    pid = cluster.pid(setup.coordinator)
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)
    threading.Timer(1.0, os.kill, (pid, signal.SIGKILL)).start()
    started = time.monotonic()
    outcome = "committed"
    try:
        _transaction(session, partition, b"during", 2, consumer)
    except (TransactionAborted, SessionReset) as error:
        outcome = type(error).__name__
    interrupted_for = time.monotonic() - started
    cluster.kill(setup.coordinator)  # reaps it

    failures = []
    for _ in range(5):  # the cluster settles: leaders and the coordinator move off the node
        try:
            _transaction(session, partition, b"after", 3, consumer)
            break
        except (TransactionAborted, SessionReset) as error:
            failures.append(type(error).__name__)
    hung = any("has not returned" in r.getMessage() for r in caplog.records)
    print(
        f"\nkilled group coordinator node {setup.coordinator}; the interrupted transaction: "
        f"{outcome} after {interrupted_for:.1f} s (send_offsets hung: {hung}); then {failures}"
    )

    assert interrupted_for < HUNG_AFTER + 45, "the session waited past its deadlines"
    values = [m.value() or b"" for m in read_all(cluster.bootstrap, partition.topic)]
    during = [b"during"] if outcome == "committed" else []
    assert sorted(values) == sorted([b"before", *during, b"after"])
    committed = consumer.committed([partition], timeout=30)
    assert committed[0].offset == 3
    consumer.close()
    session.close()
