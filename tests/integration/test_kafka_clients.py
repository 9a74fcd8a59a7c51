"""Both Kafka clients Skald uses work against the broker and agree on partitioning."""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from confluent_kafka import Producer

from eventstore.kafka_config import producer_config
from eventstore.topic_admin import apply_topics
from eventstore.topics import TopicSpec
from skald.services import Services
from tests.integration.kafka_probe import read_all

KEYS = [f"order-{n}" for n in range(60)]


def _confluent_partitions(services: Services, topic: str) -> dict[str, int]:
    producer = Producer(producer_config(services.settings.kafka_connection()))
    landed: dict[str, int] = {}

    def on_delivery(error: object, message: object) -> None:
        assert error is None, error
        landed[message.key().decode()] = message.partition()  # type: ignore[attr-defined]

    for key in KEYS:
        producer.produce(topic, key=key.encode(), value=b"confluent", on_delivery=on_delivery)
    assert producer.flush(30) == 0
    return landed


async def _aiokafka_partitions(bootstrap: str, topic: str) -> dict[str, int]:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        landed = {}
        for key in KEYS:
            metadata = await producer.send_and_wait(topic, key=key.encode(), value=b"aiokafka")
            landed[key] = metadata.partition
        return landed
    finally:
        await producer.stop()


async def _aiokafka_read(bootstrap: str, topic: str, count: int) -> list[bytes]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=f"{topic}.aio", auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        values: list[bytes] = []
        while len(values) < count:
            batch = await asyncio.wait_for(consumer.getmany(timeout_ms=1000), timeout=30)
            values += [record.value or b"" for records in batch.values() for record in records]
        return values
    finally:
        await consumer.stop()


def test_confluent_kafka_and_aiokafka_put_each_key_on_the_same_partition(
    services: Services,
) -> None:
    topic = apply_topics(
        services.admin, [TopicSpec("clients", partitions=12)], services.settings.topic_defaults()
    )[0].topic
    bootstrap = services.settings.kafka_bootstrap
    by_confluent = _confluent_partitions(services, topic)
    by_aiokafka = asyncio.run(_aiokafka_partitions(bootstrap, topic))
    assert len(set(by_confluent.values())) > 6  # keys really spread over partitions
    assert by_confluent == by_aiokafka


def test_each_client_reads_what_the_other_wrote(services: Services) -> None:
    topic = apply_topics(
        services.admin, [TopicSpec("interop", partitions=3)], services.settings.topic_defaults()
    )[0].topic
    bootstrap = services.settings.kafka_bootstrap
    _confluent_partitions(services, topic)
    asyncio.run(_aiokafka_partitions(bootstrap, topic))
    read_by_confluent = [m.value() for m in read_all(bootstrap, topic)]
    read_by_aiokafka = asyncio.run(_aiokafka_read(bootstrap, topic, 2 * len(KEYS)))
    for values in (read_by_confluent, read_by_aiokafka):
        assert values.count(b"confluent") == len(KEYS)
        assert values.count(b"aiokafka") == len(KEYS)
