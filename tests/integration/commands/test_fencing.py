"""A partition's writer is fenced the moment a successor opens the same transactional id."""

from __future__ import annotations

import pytest
from confluent_kafka import Consumer

from command_processor.writer import PartitionWriter, WriterFenced
from eventstore import kafka_config
from eventstore.topics import TopicSpec, apply_topics
from skald.services import Services
from tests.integration.kafka_probe import read_all


def test_a_zombie_writer_cannot_commit_after_a_successor_starts(services: Services) -> None:
    settings = services.settings
    topic = apply_topics(
        services.admin, [TopicSpec("fencing", partitions=1)], settings.topic_defaults()
    )[0].topic
    transactional_id = settings.group(f"fencing.{topic}.0")
    config = kafka_config.transactional_producer_config(
        settings.kafka_connection(), transactional_id
    )
    group = Consumer(
        kafka_config.command_consumer_config(settings.kafka_connection(), settings.group("fencing"))
    )
    metadata = group.consumer_group_metadata()

    zombie = PartitionWriter(config)
    zombie.begin()
    zombie.produce(topic, b"k", b"from the zombie", [], partition=0)
    zombie.flush()  # delivered, but not committed

    successor = PartitionWriter(config)  # init_transactions: new epoch, zombie's txn aborted
    successor.begin()
    successor.produce(topic, b"k", b"from the successor", [], partition=0)
    successor.flush()
    successor.commit([], metadata)

    with pytest.raises(WriterFenced):
        zombie.commit([], metadata)
    values = [message.value() for message in read_all(settings.kafka_bootstrap, topic)]
    assert values == [b"from the successor"]
    group.close()
