"""Which command partitions this instance owns, their hosted aggregates and idempotency
outcomes: restored on assignment (and again after a fatal producer error), dropped on
revocation. A partition folded from its events (or holding outcomes only old snapshots
carried) is reseeded (`reseed.py`) through the session before it takes any command.

Restoring waits for the partitions' committed offsets to be stable first: the consumer
asks with `require_stable` (it is `read_committed`), so a previous owner's transaction
that already holds offsets is finished (committed by it, or aborted by the transaction
timeout) before the snapshots are read. Otherwise that transaction could commit after the
restore and the state decided on would miss its events.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, TopicPartition

from command_processor.aggregate_store import DEFAULT_CACHED_AGGREGATES
from command_processor.deciding import PartitionTarget
from command_processor.partitions import OwnedPartition, Topology
from command_processor.reseed import reseed
from command_processor.restore import RestoredPartition, RestoreTopics, restore
from command_processor.session import TransactionSession
from eventstore.codec import EventCodec
from eventstore.mapper import EventMapper
from eventstore.outgoing import EventRecordFactory

log = logging.getLogger(__name__)

PartitionKey = tuple[str, int]


class Ownership:
    """The owned partitions by (commands topic, partition)."""

    def __init__(
        self,
        topologies: dict[str, Topology],
        new_reader: Callable[[], Consumer],
        codec: EventCodec,
        mapper: EventMapper,
        records: EventRecordFactory,
        outcome_retention_ms: int,
        cached_aggregates: int = DEFAULT_CACHED_AGGREGATES,
    ) -> None:
        self._topologies = topologies
        self._new_reader = new_reader
        self._codec = codec
        self._mapper = mapper
        self._records = records
        self._outcome_retention_ms = outcome_retention_ms
        self._cached_aggregates = cached_aggregates
        self.owned: dict[PartitionKey, OwnedPartition] = {}

    def take(
        self,
        consumer: Consumer,
        partitions: list[TopicPartition],
        session: TransactionSession,
    ) -> list[TopicPartition]:
        """Restore the partitions (and reseed them where due); returns them at their
        committed offsets. Runs between transactions: `session` has none open."""
        if not partitions:
            return []
        committed = self._stable_offsets(consumer, partitions)
        by_topic: dict[str, list[TopicPartition]] = {}
        for tp in committed:
            by_topic.setdefault(tp.topic, []).append(tp)
        for topic, tps in by_topic.items():
            topology = self._topologies[topic]
            topics = RestoreTopics(topology.state, topology.events, topology.outcomes)
            restored = self._restored(topology, topics, [tp.partition for tp in tps])
            for tp in tps:
                partition = restored[tp.partition]
                metadata = consumer.consumer_group_metadata()
                reseed(session, topics, tp, partition, metadata)
                target = PartitionTarget(
                    topology.aggregate,
                    tp.partition,
                    topology.events,
                    topology.state,
                    self._records,
                    topology.outcomes,
                )
                self._drop((topic, tp.partition))  # a reload replaces it
                self.owned[(topic, tp.partition)] = OwnedPartition(
                    target, partition.hosted, partition.outcomes
                )
        return committed

    def drop(self, partitions: list[TopicPartition]) -> None:
        for tp in partitions:
            self._drop((tp.topic, tp.partition))

    def _drop(self, key: PartitionKey) -> None:
        owned = self.owned.pop(key, None)
        if owned is not None:
            owned.hosted.close()  # and their files with them
            owned.outcomes.close()

    def reload(self, consumer: Consumer, session: TransactionSession) -> None:
        """Restore every owned partition and seek it to its committed offset: after a fatal
        producer error the outcome of the last transaction is known only to the log."""
        partitions = [TopicPartition(topic, number) for topic, number in self.owned]
        for tp in self.take(consumer, partitions, session):
            consumer.seek(tp)

    def _restored(
        self, topology: Topology, topics: RestoreTopics, partitions: list[int]
    ) -> dict[int, RestoredPartition]:
        # Waits for the broker as long as it takes, like the offsets below: a restore that
        # gave up raised out of the assignment callback and ended the processor (and
        # `skald run` with it) over a broker that was only stalled.
        while True:
            try:
                return restore(
                    topology.aggregate,
                    topics,
                    partitions,
                    self._new_reader,
                    self._codec,
                    self._mapper,
                    self._outcome_retention_ms,
                    self._cached_aggregates,
                )
            except TimeoutError as error:
                log.warning("restoring %s timed out (%s); retrying", topology.commands, error)

    def _stable_offsets(
        self, consumer: Consumer, partitions: list[TopicPartition]
    ) -> list[TopicPartition]:
        # Waits for the broker as long as it takes: without offsets there is nothing to do.
        while True:
            try:
                found = consumer.committed(partitions, timeout=10.0)
                break
            except KafkaException as error:
                log.warning("committed offsets not available yet (%s); retrying", error)
        # A partition without a committed offset starts at the beginning (auto.offset.reset).
        return [
            TopicPartition(
                tp.topic, tp.partition, tp.offset if tp.offset >= 0 else OFFSET_BEGINNING
            )
            for tp in found
        ]
