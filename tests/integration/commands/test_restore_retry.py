"""A restore on assignment that times out (the broker unreachable or stalled) is tried again
instead of ending the processor: it raised out of the assignment callback before."""

from __future__ import annotations

from typing import Any

from confluent_kafka import Consumer, TopicPartition

from command_processor.ownership import Ownership
from command_processor.session import TransactionSession
from eventstore import kafka_config
from skald.services import Services
from tests.integration.kafka_probe import subscribed

# A port nothing listens on: a reader there sees no record and no end of partition.
NOWHERE = "127.0.0.1:9"


def test_a_restore_that_times_out_is_tried_again(services: Services) -> None:
    settings = services.settings
    connection = settings.kafka_connection()
    topology = next(t for t in services.topologies() if t.aggregate.name == "stock")
    readers: list[str] = []

    def new_reader() -> Consumer:
        # The first reader talks to nothing; the next ones to the real broker.
        bootstrap = NOWHERE if not readers else settings.kafka_bootstrap
        readers.append(bootstrap)
        config: dict[str, Any] = {
            **kafka_config.reader_config(connection, settings.group("skald.reader")),
            "bootstrap.servers": bootstrap,
        }
        return Consumer(config)

    ownership = Ownership(
        {topology.commands: topology},
        new_reader,
        services.codec,
        services.command_mapper,
        services.event_records,
        settings.idempotency_retention_ms,
    )
    member = _member(services, topology.commands)
    session = TransactionSession(
        kafka_config.transactional_producer_config(connection, settings.group("restore-retry"))
    )
    try:
        taken = ownership.take(member, [TopicPartition(topology.commands, 0)], session)
    finally:
        session.close()
        member.close()

    assert readers[0] == NOWHERE and settings.kafka_bootstrap in readers[1:]
    assert [(tp.topic, tp.partition) for tp in taken] == [(topology.commands, 0)]
    assert (topology.commands, 0) in ownership.owned


def _member(services: Services, topic: str) -> Consumer:
    """A member of the processors' group that owns the commands topic's partitions."""
    settings = services.settings
    config = kafka_config.command_consumer_config(
        settings.kafka_connection(), settings.group("skald.commands")
    )
    return subscribed(Consumer(config), topic)
