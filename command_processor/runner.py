"""The command processor loop: owns command partitions through a consumer group and, per
partition and batch, commits events, snapshots, replies and the consumed offset in one
Kafka transaction.

Guarantees: one writer per partition (transactional id per partition, fencing on
assignment); per-aggregate versions contiguous; a crash anywhere either commits a batch
whole or leaves nothing of it, and the batch's commands are handled again from the last
committed offset with the state of the last committed snapshot.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from confluent_kafka import Consumer, KafkaException, Message, TopicPartition

from command_processor import metrics
from command_processor.batch import BatchContext, process_batch
from command_processor.partitions import OwnedPartition, Topology
from command_processor.reseed import reseed
from command_processor.restore import RestoreTopics, restore
from command_processor.writer import PartitionWriter, WriterFenced
from eventstore.codec import EventCodec
from eventstore.mapper import EventMapper
from eventstore.outgoing import EventRecordFactory
from producers.command_reader import reader_for
from producers.messages import CommandMessage, MalformedMessage

log = logging.getLogger(__name__)


class CommandProcessor:
    """Runs until `stop()`; see the module docstring for what it guarantees."""

    def __init__(
        self,
        consumer: Consumer,
        topologies: list[Topology],
        new_writer: Callable[[str, int], PartitionWriter],
        new_reader: Callable[[], Consumer],
        codec: EventCodec,
        mapper: EventMapper,
        records: EventRecordFactory,
        outcome_retention_ms: int,
        batch_size: int = 200,
    ) -> None:
        self._consumer = consumer
        self._by_commands = {t.commands: t for t in topologies}
        self._new_writer = new_writer
        self._new_reader = new_reader
        self._codec = codec
        self._mapper = mapper
        self._records = records
        self._outcome_retention_ms = outcome_retention_ms
        self._batch_size = batch_size
        self._owned: dict[tuple[str, int], OwnedPartition] = {}
        self._stopping = threading.Event()

    def run(self) -> None:
        """Consume and process commands until stopped."""
        self._consumer.subscribe(
            list(self._by_commands),
            on_assign=self._on_assign,
            on_revoke=self._on_revoke,
            on_lost=self._on_revoke,
        )
        # Partitions have independent writers: their transactions commit in parallel, and
        # the waits (flush, commit) release the GIL.
        with ThreadPoolExecutor(max_workers=8, thread_name_prefix="partition") as pool:
            try:
                while not self._stopping.is_set():
                    batches = _by_partition(self._next_batch()).items()
                    for done in [pool.submit(self._process, key, batch) for key, batch in batches]:
                        done.result()
            finally:
                self._consumer.close()

    def _next_batch(self) -> list[Message]:
        # Wait for one command, then take whatever else is already here: `consume(n, t)`
        # alone would hold a lone command back until n arrive or t passes.
        first = self._consumer.poll(0.1)
        if first is None:
            return []
        return [first, *self._consumer.consume(self._batch_size - 1, timeout=0)]

    def stop(self) -> None:
        self._stopping.set()

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # Fence every previous writer first, so the state restored next is final.
        with ThreadPoolExecutor(max_workers=8) as pool:
            writers = dict(
                zip(
                    [(tp.topic, tp.partition) for tp in partitions],
                    pool.map(lambda tp: self._new_writer(tp.topic, tp.partition), partitions),
                    strict=True,
                )
            )
        by_topic: dict[str, list[int]] = {}
        for tp in partitions:
            by_topic.setdefault(tp.topic, []).append(tp.partition)
        for topic, numbers in by_topic.items():
            topology = self._by_commands[topic]
            topics = RestoreTopics(topology.state, topology.events, topology.outcomes)
            restored = restore(
                topology.aggregate,
                topics,
                numbers,
                self._new_reader,
                self._codec,
                self._mapper,
                self._outcome_retention_ms,
            )
            for number, partition in restored.items():
                writer = writers[(topic, number)]
                metadata = consumer.consumer_group_metadata()
                reseed(writer, topology.aggregate, topics, number, partition, metadata)
                self._owned[(topic, number)] = OwnedPartition(
                    topology.aggregate, number, writer, partition.hosted, partition.outcomes
                )
        log.info("assigned %s", [f"{tp.topic}[{tp.partition}]" for tp in partitions])
        consumer.incremental_assign(partitions)

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        for tp in partitions:
            self._owned.pop((tp.topic, tp.partition), None)
        log.info("revoked %s", [f"{tp.topic}[{tp.partition}]" for tp in partitions])
        consumer.incremental_unassign(partitions)

    def _process(self, key: tuple[str, int], messages: list[Message]) -> None:
        owned = self._owned.get(key)
        if owned is None:
            return  # revoked while the batch was in flight; the new owner handles it
        topology = self._by_commands[key[0]]
        parsed = [(message, self._parse(topology, message)) for message in messages]
        context = BatchContext(
            topology.aggregate,
            key[1],
            topology.events,
            topology.state,
            self._records,
            topology.outcomes,
        )
        try:
            process_batch(context, owned, parsed, self._consumer)
        except WriterFenced as fenced:
            log.warning("%s[%d] fenced by a newer writer (%s); giving it up", *key, fenced)
            self._owned.pop(key, None)
        except KafkaException as error:
            log.error("%s[%d] batch failed and was aborted: %s; retrying it", *key, error)
            self._consumer.seek(TopicPartition(key[0], key[1], messages[0].offset() or 0))

    def _parse(self, topology: Topology, message: Message) -> tuple[CommandMessage, object] | str:
        """The command, or why it can't be handled (answered as unreadable, or skipped)."""
        try:
            reader = reader_for(topology.aggregate, self._mapper)
            return reader.read(message.key(), message.value(), message.headers())
        except MalformedMessage as error:
            metrics.UNREADABLE.labels(topology.aggregate.name).inc()
            where = f"{message.topic()}[{message.partition()}]@{message.offset()}"
            log.warning("%s: unreadable command, refused or skipped: %s", where, error)
            return f"unreadable command: {error}"


def _by_partition(messages: list[Message]) -> dict[tuple[str, int], list[Message]]:
    grouped: dict[tuple[str, int], list[Message]] = {}
    for message in messages:
        if message.error() is not None:
            log.error("consume error: %s", message.error())
            continue
        grouped.setdefault((message.topic() or "", message.partition() or 0), []).append(message)
    return grouped
