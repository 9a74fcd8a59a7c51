"""Rebuilds newly assigned partitions: hosted aggregates from their snapshots (or from their
events where the snapshots were written for another shape of the state), and the
idempotency outcomes of the last retention from the outcomes topic."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import reduce
from typing import Any

from confluent_kafka import (
    OFFSET_BEGINNING,
    TIMESTAMP_NOT_AVAILABLE,
    Consumer,
    KafkaError,
    Message,
    TopicPartition,
)

from command_processor.hosted import HostedAggregate, HostedAggregates
from command_processor.outcomes import OutcomeIndex, StoredOutcome, record_key
from command_processor.snapshots import SnapshotCodec, StaleSnapshot, legacy_outcomes
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


@dataclass(frozen=True, slots=True)
class RestoreTopics:
    """The namespaced topics a partition is restored from."""

    state: str
    events: str
    outcomes: str


@dataclass(slots=True)
class RestoredPartition:
    """A partition as restore rebuilt it, and what its topics lack of that (see `reseed.py`)."""

    hosted: HostedAggregates
    outcomes: OutcomeIndex
    folded: bool = False  # the snapshots had another state shape: fresh ones are due
    # Outcomes read from snapshots written before the outcomes topic, not yet on it.
    imported: dict[bytes, StoredOutcome] = field(default_factory=dict)


def restore(
    aggregate: AggregateType[Any],
    topics: RestoreTopics,
    partitions: list[int],
    new_consumer: Callable[[], Consumer],
    codec: EventCodec,
    mapper: EventMapper,
    outcome_retention_ms: int,
) -> dict[int, RestoredPartition]:
    """Every aggregate of the partitions, hosted, with the partitions' unexpired outcomes.

    Reads the snapshots and outcomes (one record per aggregate, one per outcome of the last
    retention); folds a partition from its events only where its newest snapshots were
    written for another shape of the state class. Outcomes don't depend on that shape.
    """
    started = time.monotonic()
    now_ms = int(time.time() * 1000)
    latest: dict[int, dict[str, tuple[bytes, int]]] = {p: {} for p in partitions}
    indexes = {p: OutcomeIndex(outcome_retention_ms) for p in partitions}
    sources = [(t, p) for t in (topics.state, topics.outcomes) for p in partitions]
    for message in read_to_end(new_consumer, sources):
        partition, key, value = message.partition() or 0, message.key(), message.value()
        if key is None:
            continue
        written_ms = _timestamp_ms(message, now_ms)
        if message.topic() == topics.outcomes:
            indexes[partition].load(key, value, written_ms, now_ms)
        elif value is None:
            latest[partition].pop(key.decode(), None)
        else:
            latest[partition][key.decode()] = (value, written_ms)  # a later record replaces it
    restored = {
        p: _from_snapshots(aggregate, topics.events, latest[p], indexes[p], now_ms)
        for p in partitions
    }
    for partition, rebuilt in restored.items():
        if rebuilt.folded:
            log.warning(
                "%s snapshots of %s[%d] have another state shape; rebuilding from its events",
                aggregate.name,
                topics.state,
                partition,
            )
            rebuilt.hosted = fold_events(
                aggregate, topics.events, partition, new_consumer, codec, mapper
            )
    log.info(
        "restored %d %s aggregates of partitions %s in %.2fs (%d outcomes)",
        sum(len(r.hosted) for r in restored.values()),
        aggregate.name,
        partitions,
        time.monotonic() - started,
        sum(len(r.outcomes) for r in restored.values()),
    )
    return restored


def _from_snapshots(
    aggregate: AggregateType[Any],
    events_topic: str,
    latest: dict[str, tuple[bytes, int]],
    outcomes: OutcomeIndex,
    now_ms: int,
) -> RestoredPartition:
    """The partition from each aggregate's newest snapshot; `folded` if one is stale."""
    snapshots = SnapshotCodec(aggregate)
    restored = RestoredPartition({}, outcomes)
    for aggregate_id, (value, written_ms) in latest.items():
        if b'"outcomes"' in value:  # written before outcomes had their own topic
            _import_legacy(restored, aggregate_id, value, written_ms, now_ms)
        if restored.folded:
            continue
        try:
            restored.hosted[aggregate_id] = snapshots.decode(value)
        except StaleSnapshot:
            restored.folded = True
    return restored


def _import_legacy(
    restored: RestoredPartition, aggregate_id: str, value: bytes, written_ms: int, now_ms: int
) -> None:
    """An old snapshot's outcomes, where the outcomes topic has none for their keys yet."""
    if written_ms <= now_ms - restored.outcomes.retention_ms:
        return
    for key, outcome in legacy_outcomes(value).items():
        record = record_key(aggregate_id, key)
        if not restored.outcomes.contains(record):
            restored.outcomes.put(record, outcome, written_ms)
            restored.imported[record] = outcome


def _timestamp_ms(message: Message, default: int) -> int:
    kind, value = message.timestamp()
    return value if kind != TIMESTAMP_NOT_AVAILABLE else default


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
