"""Reads Kafka directly, beside the code under test: end offsets and raw records."""

from __future__ import annotations

from confluent_kafka import Consumer, Message, TopicPartition


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
    """Every record of a topic from the beginning up to its current end."""
    ends = end_offsets(bootstrap, topic)
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "skald-test-probe",
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
        }
    )
    consumer.assign([TopicPartition(topic, p, 0) for p in ends])
    records: list[Message] = []
    remaining = {p for p, end in ends.items() if end > 0}
    try:
        while remaining:
            message = consumer.poll(timeout)
            assert message is not None, f"timed out reading {topic}; still waiting on {remaining}"
            if message.error():
                continue
            records.append(message)
            partition, offset = message.partition(), message.offset()
            assert partition is not None and offset is not None
            if offset + 1 >= ends[partition]:
                remaining.discard(partition)
    finally:
        consumer.close()
    return records
