"""Zombie fencing, KIP-447 style: a member of an older group generation can't commit its
transaction's offsets, and a second producer on one transactional id fences the first."""

from __future__ import annotations

from typing import Any

import pytest
from confluent_kafka import Consumer, TopicPartition

from command_processor.session import SessionReset, TransactionAborted, TransactionSession
from eventstore import kafka_config
from eventstore.topic_admin import apply_topics
from eventstore.topics import TopicSpec
from skald.services import Services
from skald.settings import Settings
from tests.integration.kafka_probe import read_all, subscribed


def _topics(services: Services, *names: str) -> list[str]:
    specs = [TopicSpec(name, partitions=1) for name in names]
    return [
        t.topic for t in apply_topics(services.admin, specs, services.settings.topic_defaults())
    ]


def _member(settings: Settings, group: str, topic: str) -> Consumer:
    """A group member that owns `topic`'s partition; it stops polling after this."""
    config: dict[str, Any] = {
        **kafka_config.command_consumer_config(settings.kafka_connection(), group),
        "session.timeout.ms": 6000,
        "max.poll.interval.ms": 6000,  # a member that stops polling is out within 6 s
    }
    return subscribed(Consumer(config), topic)


def _session(settings: Settings, transactional_id: str) -> TransactionSession:
    config = kafka_config.transactional_producer_config(
        settings.kafka_connection(), settings.group(transactional_id)
    )
    return TransactionSession(config, call_timeout=10.0, give_up_after=30.0)


def test_a_zombie_member_cannot_commit_after_the_group_moved_on(services: Services) -> None:
    settings = services.settings
    commands, output = _topics(services, "fencing.commands", "fencing.output")
    group = settings.group("fencing")
    zombie_member = _member(settings, group, commands)
    stale_metadata = zombie_member.consumer_group_metadata()
    zombie = _session(settings, "fencing.zombie")
    zombie.begin()
    zombie.produce(output, b"k", b"from the zombie", [], partition=0)
    zombie.flush()  # delivered, not committed; the zombie now stops polling (a pause)

    successor_member = _member(settings, group, commands)  # after the zombie was evicted
    successor = _session(settings, "fencing.successor")
    successor.begin()
    successor.produce(output, b"k", b"from the successor", [], partition=0)
    successor.send_offsets(
        [TopicPartition(commands, 0, 1)], successor_member.consumer_group_metadata()
    )
    successor.commit()

    with pytest.raises((TransactionAborted, SessionReset)):
        zombie.send_offsets([TopicPartition(commands, 0, 7)], stale_metadata)
    assert not zombie.in_transaction  # aborted: nothing of it can commit any more
    values = [message.value() for message in read_all(settings.kafka_bootstrap, output)]
    assert values == [b"from the successor"]
    committed = successor_member.committed([TopicPartition(commands, 0)], timeout=10)
    assert committed[0].offset == 1
    zombie.close()
    successor.close()
    successor_member.close()
    zombie_member.close()


def test_a_second_producer_on_one_transactional_id_fences_the_first(services: Services) -> None:
    settings = services.settings
    (topic,) = _topics(services, "fencing.same-id")
    zombie = _session(settings, "fencing.same-id")
    zombie.begin()
    zombie.produce(topic, b"k", b"from the zombie", [], partition=0)
    zombie.flush()  # delivered, but not committed

    successor = _session(settings, "fencing.same-id")  # init_transactions: new epoch
    successor.begin()
    successor.produce(topic, b"k", b"from the successor", [], partition=0)
    successor.flush()
    successor.commit()

    with pytest.raises(SessionReset):  # fatal: fenced; the zombie starts over, fenced off
        zombie.commit()
    values = [message.value() for message in read_all(settings.kafka_bootstrap, topic)]
    assert values == [b"from the successor"]
    zombie.close()
    successor.close()
