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

from command_processor.aggregate_store import DEFAULT_CACHED_AGGREGATES, AggregateStore
from command_processor.hosted import HostedAggregate
from command_processor.outcomes import OutcomeIndex, StoredOutcome, record_key
from command_processor.snapshots import SnapshotCodec, legacy_outcomes
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

    hosted: AggregateStore
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
    cached_aggregates: int = DEFAULT_CACHED_AGGREGATES,
) -> dict[int, RestoredPartition]:
    """Every aggregate of the partitions, hosted, with the partitions' unexpired outcomes.

    Reads the snapshots and outcomes (one record per aggregate, one per outcome of the last
    retention); folds a partition from its events only where its newest snapshots were
    written for another shape of the state class. Outcomes don't depend on that shape.
    Snapshots go to each partition's store as read, undecoded, so a restore holds in
    memory only a batch of them, however many aggregates the partition ever had.
    """
    started = time.monotonic()
    now_ms = int(time.time() * 1000)
    snapshots = SnapshotCodec(aggregate)
    rebuilding = {
        p: PartitionRestore(snapshots, OutcomeIndex(outcome_retention_ms), cached_aggregates)
        for p in partitions
    }
    sources = [(t, p) for t in (topics.state, topics.outcomes) for p in partitions]
    for message in read_to_end(new_consumer, sources):
        partition, key, value = message.partition() or 0, message.key(), message.value()
        if key is None:
            continue
        written_ms = _timestamp_ms(message, now_ms)
        if message.topic() == topics.outcomes:
            rebuilding[partition].outcome(key, value, written_ms, now_ms)
        else:
            rebuilding[partition].snapshot(key.decode(), value, written_ms)
    restored = {p: rebuilding[p].finish(now_ms) for p in partitions}
    for partition, rebuilt in restored.items():
        if rebuilt.folded:
            log.warning(
                "%s snapshots of %s[%d] have another state shape; rebuilding from its events",
                aggregate.name,
                topics.state,
                partition,
            )
            folded = fold_events(aggregate, topics.events, partition, new_consumer, codec, mapper)
            rebuilt.hosted.close()
            rebuilt.hosted = AggregateStore(snapshots, cached_aggregates)
            rebuilt.hosted.load(folded)
    log.info(
        "restored %d %s aggregates of partitions %s in %.2fs (%d outcomes)",
        sum(len(r.hosted) for r in restored.values()),
        aggregate.name,
        partitions,
        time.monotonic() - started,
        sum(len(r.outcomes) for r in restored.values()),
    )
    return restored


class PartitionRestore:
    """One partition's records as restore reads them, in order: snapshots and outcomes go to
    local disk in batches, undecoded; the newest snapshot of each aggregate that still
    carries outcomes (written before they had their own topic) is kept aside until every
    outcome record is read, since the outcomes topic wins over them."""

    BATCH = 5_000

    def __init__(
        self,
        snapshots: SnapshotCodec,
        outcomes: OutcomeIndex,
        cached_aggregates: int = DEFAULT_CACHED_AGGREGATES,
    ) -> None:
        self._restored = RestoredPartition(AggregateStore(snapshots, cached_aggregates), outcomes)
        self._batch: list[tuple[str, bytes | None]] = []
        self._outcomes: list[tuple[bytes, bytes | None, int]] = []
        self._legacy: dict[str, tuple[bytes, int]] = {}

    def outcome(self, key: bytes, value: bytes | None, written_ms: int, now_ms: int) -> None:
        self._outcomes.append((key, value, written_ms))
        if len(self._outcomes) >= self.BATCH:
            self._write_outcomes(now_ms)

    def snapshot(self, aggregate_id: str, value: bytes | None, written_ms: int) -> None:
        self._batch.append((aggregate_id, value))  # a later record replaces it
        if value is not None and b'"outcomes"' in value:
            self._legacy[aggregate_id] = (value, written_ms)
        else:
            self._legacy.pop(aggregate_id, None)
        if len(self._batch) >= self.BATCH:
            self._write()

    def finish(self, now_ms: int) -> RestoredPartition:
        """The partition; `folded` if any newest snapshot has another state shape."""
        self._write()
        self._write_outcomes(now_ms)  # every one before the legacy outcomes: the topic wins
        restored = self._restored
        for aggregate_id, (value, written_ms) in self._legacy.items():
            _import_legacy(restored, aggregate_id, value, written_ms, now_ms)
        restored.folded = restored.hosted.any_stale()
        return restored

    def _write(self) -> None:
        self._restored.hosted.write(self._batch)
        self._batch.clear()

    def _write_outcomes(self, now_ms: int) -> None:
        self._restored.outcomes.load_all(self._outcomes, now_ms)
        self._outcomes.clear()


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
) -> dict[str, HostedAggregate[Any]]:
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
