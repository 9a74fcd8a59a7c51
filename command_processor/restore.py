"""Rebuilds the hosted aggregates of newly assigned partitions: from their snapshots, or from their
events where the snapshots were written for another shape of the state."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from functools import reduce
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Message, TopicPartition

from command_processor.hosted import HostedAggregate, HostedAggregates
from command_processor.snapshots import SnapshotCodec, StaleSnapshot
from eventstore.aggregate import AggregateType
from eventstore.codec import EventCodec
from eventstore.envelope import Envelope
from eventstore.mapper import EventMapper

log = logging.getLogger(__name__)

PartitionKey = tuple[str, int]


def read_to_end(
    new_consumer: Callable[[], Consumer], partitions: list[PartitionKey]
) -> Iterator[Message]:
    """Every committed record of the partitions, from their start to their current end.

    One consumer reads them all: connecting costs more than reading a compacted topic.
    """
    if not partitions:
        return
    consumer = new_consumer()
    consumer.assign([TopicPartition(t, p, OFFSET_BEGINNING) for t, p in partitions])
    remaining = set(partitions)
    try:
        while remaining:
            message = consumer.poll(10.0)
            if message is None:
                raise TimeoutError(f"no end-of-partition signal from {sorted(remaining)}")
            error = message.error()
            if error is None:
                yield message
            elif error.code() == KafkaError._PARTITION_EOF:
                remaining.discard((message.topic() or "", message.partition() or 0))
            else:
                raise RuntimeError(f"restoring {message.topic()}: {error.str()}")
    finally:
        consumer.close()


def restore(
    aggregate: AggregateType[Any],
    topics: tuple[str, str],
    partitions: list[int],
    new_consumer: Callable[[], Consumer],
    codec: EventCodec,
    mapper: EventMapper,
) -> dict[int, HostedAggregates]:
    """Every aggregate of the partitions, hosted; `topics` is (state, events)."""
    state_topic, events_topic = topics
    started = time.monotonic()
    snapshots = SnapshotCodec(aggregate)
    restored: dict[int, HostedAggregates] = {p: {} for p in partitions}
    stale: set[int] = set()
    for message in read_to_end(new_consumer, [(state_topic, p) for p in partitions]):
        partition, key, value = message.partition() or 0, message.key(), message.value()
        if key is None or value is None or partition in stale:
            continue
        try:
            restored[partition][key.decode()] = snapshots.decode(value)
        except StaleSnapshot as error:
            log.warning("%s; rebuilding %s[%d] from its events", error, events_topic, partition)
            stale.add(partition)
    for partition in stale:
        restored[partition] = fold_events(
            aggregate, events_topic, partition, new_consumer, codec, mapper
        )
    count = sum(len(hosted) for hosted in restored.values())
    log.info(
        "restored %d %s aggregates of partitions %s in %.2fs",
        count,
        aggregate.name,
        partitions,
        time.monotonic() - started,
    )
    return restored


def fold_events(
    aggregate: AggregateType[Any],
    topic: str,
    partition: int,
    new_consumer: Callable[[], Consumer],
    codec: EventCodec,
    mapper: EventMapper,
) -> HostedAggregates:
    events: dict[str, list[object]] = {}
    for message in read_to_end(new_consumer, [(topic, partition)]):
        envelope = Envelope.from_headers(message.headers())
        event_type, body = codec.decode(message.value() or b"")
        events.setdefault(envelope.aggregate_id, []).append(mapper.from_record(event_type, body))
    return {
        aggregate_id: HostedAggregate(
            reduce(aggregate.evolve, stream, aggregate.initial), len(stream)
        )
        for aggregate_id, stream in events.items()
    }
