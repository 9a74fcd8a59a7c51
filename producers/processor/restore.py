"""Rebuilds the records of one partition: from snapshots, or from the events if they're stale."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from functools import reduce
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Message, TopicPartition

from eventstore.aggregate import AggregateType
from eventstore.codec import EventCodec
from eventstore.envelope import Envelope
from eventstore.mapper import EventMapper
from producers.processor.records import AggregateRecord
from producers.processor.snapshots import SnapshotCodec, StaleSnapshot

log = logging.getLogger(__name__)

Records = dict[str, AggregateRecord[Any]]


def read_partition(
    new_consumer: Callable[[], Consumer], topic: str, partition: int
) -> Iterator[Message]:
    """Every committed record of one partition, from the start to the current end."""
    consumer = new_consumer()
    consumer.assign([TopicPartition(topic, partition, OFFSET_BEGINNING)])
    try:
        while True:
            message = consumer.poll(10.0)
            if message is None:
                raise TimeoutError(f"no end-of-partition signal from {topic}[{partition}]")
            error = message.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    return
                raise RuntimeError(f"reading {topic}[{partition}]: {error.str()}")
            yield message
    finally:
        consumer.close()


def restore_partition(
    aggregate: AggregateType[Any],
    topics: tuple[str, str],
    partition: int,
    new_consumer: Callable[[], Consumer],
    codec: EventCodec,
    mapper: EventMapper,
) -> Records:
    """The records of every aggregate in a partition; `topics` is (state, events)."""
    state_topic, events_topic = topics
    started = time.monotonic()
    snapshots = SnapshotCodec(aggregate)
    records: Records = {}
    try:
        for message in read_partition(new_consumer, state_topic, partition):
            key, value = message.key(), message.value()
            if key is not None and value is not None:
                records[key.decode()] = snapshots.decode(value)
        source = "snapshots"
    except StaleSnapshot as stale:
        log.warning("%s; rebuilding %s[%d] from its events", stale, events_topic, partition)
        records = _fold_events(aggregate, events_topic, partition, new_consumer, codec, mapper)
        source = "events"
    log.info(
        "restored %d %s aggregates of partition %d from %s in %.2fs",
        len(records),
        aggregate.name,
        partition,
        source,
        time.monotonic() - started,
    )
    return records


def _fold_events(
    aggregate: AggregateType[Any],
    topic: str,
    partition: int,
    new_consumer: Callable[[], Consumer],
    codec: EventCodec,
    mapper: EventMapper,
) -> Records:
    events: dict[str, list[object]] = {}
    for message in read_partition(new_consumer, topic, partition):
        envelope = Envelope.from_headers(message.headers())
        event_type, body = codec.decode(message.value() or b"")
        events.setdefault(envelope.aggregate_id, []).append(mapper.from_record(event_type, body))
    return {
        aggregate_id: AggregateRecord(
            reduce(aggregate.evolve, stream, aggregate.initial), len(stream)
        )
        for aggregate_id, stream in events.items()
    }
