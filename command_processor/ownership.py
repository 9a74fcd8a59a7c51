"""Which command partitions this instance owns, and their hosted aggregates: restored on
assignment (and again after a fatal producer error), dropped on revocation.

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

from command_processor.deciding import PartitionTarget
from command_processor.partitions import OwnedPartition, Topology
from command_processor.restore import restore
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
    ) -> None:
        self._topologies = topologies
        self._new_reader = new_reader
        self._codec = codec
        self._mapper = mapper
        self._records = records
        self.owned: dict[PartitionKey, OwnedPartition] = {}

    def take(self, consumer: Consumer, partitions: list[TopicPartition]) -> list[TopicPartition]:
        """Restore the partitions; returns them at their committed offsets."""
        if not partitions:
            return []
        committed = self._stable_offsets(consumer, partitions)
        by_topic: dict[str, list[int]] = {}
        for tp in committed:
            by_topic.setdefault(tp.topic, []).append(tp.partition)
        for topic, numbers in by_topic.items():
            topology = self._topologies[topic]
            restored = restore(
                topology.aggregate,
                (topology.state, topology.events),
                numbers,
                self._new_reader,
                self._codec,
                self._mapper,
            )
            for number, hosted in restored.items():
                target = PartitionTarget(
                    topology.aggregate, number, topology.events, topology.state, self._records
                )
                self.owned[(topic, number)] = OwnedPartition(target, hosted)
        return committed

    def drop(self, partitions: list[TopicPartition]) -> None:
        for tp in partitions:
            self.owned.pop((tp.topic, tp.partition), None)

    def reload(self, consumer: Consumer) -> None:
        """Restore every owned partition and seek it to its committed offset: after a fatal
        producer error the outcome of the last transaction is known only to the log."""
        partitions = [TopicPartition(topic, number) for topic, number in self.owned]
        for tp in self.take(consumer, partitions):
            consumer.seek(tp)

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
