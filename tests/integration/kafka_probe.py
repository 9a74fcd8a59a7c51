"""Reads Kafka directly, beside the code under test: end offsets and raw records."""

from __future__ import annotations

import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Message, TopicPartition


def end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    """The high watermark of every partition of a topic."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "skald-test-probe"})
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        return {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
            for p in partitions
        }
    finally:
        consumer.close()


def read_all(bootstrap: str, topic: str, timeout: float = 10.0) -> list[Message]:
    """Every committed record of a topic, from the beginning up to its current end.

    Ends on the end-of-partition signal, not the high watermark: transaction markers take
    offsets too, so the last record's offset + 1 can be below the watermark.
    """
    partitions = list(end_offsets(bootstrap, topic))
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "skald-test-probe",
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
            "enable.partition.eof": True,
        }
    )
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
    records: list[Message] = []
    remaining = set(partitions)
    try:
        while remaining:
            message = consumer.poll(timeout)
            assert message is not None, f"timed out reading {topic}; still waiting on {remaining}"
            error = message.error()
            if error is None:
                records.append(message)
            elif error.code() == KafkaError._PARTITION_EOF:
                remaining.discard(message.partition())
    finally:
        consumer.close()
    return records


def subscribed(consumer: Consumer, topic: str, within: float = 60.0) -> Consumer:
    """`consumer`, subscribed to `topic` and polled until the group assigned it partitions."""
    consumer.subscribe([topic])
    deadline = time.monotonic() + within
    while not consumer.assignment():
        assert time.monotonic() < deadline, "no assignment"
        consumer.poll(0.2)
    return consumer
