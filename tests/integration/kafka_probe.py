"""Reads Kafka directly, beside the code under test: end offsets and raw records."""

from __future__ import annotations

import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Message, TopicPartition

_PROBE = {"group.id": "skald-test-probe", "enable.auto.commit": False}


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


def committed_offsets(bootstrap: str, group: str, topic: str) -> dict[int, int]:
    """The offsets `group` committed for each partition of `topic` (-1001: none)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        found = consumer.committed([TopicPartition(topic, p) for p in partitions], timeout=10)
        return {tp.partition: tp.offset for tp in found}
    finally:
        consumer.close()


def read_all(
    bootstrap: str, topic: str, timeout: float = 10.0, settled: float = 0.0
) -> list[Message]:
    """Every committed record of a topic, from the beginning up to its current end.

    Ends on the end-of-partition signal, not the high watermark: transaction markers take
    offsets too, so the last record's offset + 1 can be below the watermark. A read-committed
    end is the last stable offset, which a transaction left open (a kill -9'd processor's,
    until the transaction timeout aborts it) holds back: with `settled` > 0, a partition ends
    only once its end reaches the high watermark, waiting up to `settled` seconds for that.
    """
    partitions = list(end_offsets(bootstrap, topic))
    probe = {**_PROBE, "bootstrap.servers": bootstrap}
    consumer = Consumer(
        {**probe, "isolation.level": "read_committed", "enable.partition.eof": True}
    )
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
    records: list[Message] = []
    # A read-committed consumer's watermark query answers the last stable offset.
    watermarks = Consumer({**probe, "isolation.level": "read_uncommitted"}) if settled else None
    remaining = set(partitions)
    held: set[int] = set()  # at their end, below the watermark
    deadline = time.monotonic() + settled
    try:
        while remaining:
            message = consumer.poll(timeout if not settled else 0.5)
            if message is None:
                if time.monotonic() >= deadline:
                    remaining -= held  # still held: end there, as without `settled`
                assert (settled and time.monotonic() < deadline + timeout) or not remaining, (
                    f"timed out reading {topic}; still waiting on {remaining}"
                )
                continue
            error = message.error()
            if error is None:
                records.append(message)
            elif error.code() == KafkaError._PARTITION_EOF:
                partition = message.partition() or 0
                if watermarks and time.monotonic() < deadline:
                    watermark = watermarks.get_watermark_offsets(
                        TopicPartition(topic, partition), timeout=10, cached=False
                    )[1]
                    if (message.offset() or 0) < watermark:
                        held.add(partition)  # an open transaction: its abort or commit moves it
                        continue
                remaining.discard(partition)
    finally:
        consumer.close()
        if watermarks:
            watermarks.close()
    return records


def subscribed(consumer: Consumer, topic: str, within: float = 60.0) -> Consumer:
    """`consumer`, subscribed to `topic` and polled until the group assigned it partitions."""
    consumer.subscribe([topic])
    deadline = time.monotonic() + within
    while not consumer.assignment():
        assert time.monotonic() < deadline, "no assignment"
        consumer.poll(0.2)
    return consumer
