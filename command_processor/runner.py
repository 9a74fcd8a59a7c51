"""The command processor loop: owns command partitions through a consumer group and commits
each poll's commands, across every owned partition, as one Kafka transaction.

Guarantees: one writer per partition (the broker refuses the consumed offsets of a member
of an older group generation, KIP-447, so a zombie's transaction can't commit them);
per-aggregate versions contiguous; a crash anywhere either commits a batch whole or leaves
nothing of it, and the batch's commands are handled again from the last committed offsets
with the state of the last committed snapshots and outcomes. A transaction is only ever
open between two polls, so a rebalance callback (run inside a poll) never sees one in flight;
the one a callback itself runs (a reseed after a restore, see `reseed.py`) ends before it
returns.
A watchdog logs the loop's stack whenever it stops coming round for a minute (`watchdog.py`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from confluent_kafka import Consumer, Message, TopicPartition

from command_processor import metrics
from command_processor.aggregate_store import DEFAULT_CACHED_AGGREGATES
from command_processor.batch import PartitionBatch, PartitionKey, process_batch
from command_processor.collector import freeze_long_lived
from command_processor.deciding import Parsed
from command_processor.ownership import Ownership
from command_processor.partitions import Topology
from command_processor.session import SessionReset, TransactionAborted, TransactionSession
from command_processor.watchdog import LoopWatchdog
from eventstore.codec import EventCodec
from eventstore.mapper import EventMapper
from eventstore.outgoing import EventRecordFactory
from producers.command_reader import reader_for
from producers.messages import MalformedMessage

log = logging.getLogger(__name__)


class CommandProcessor:
    """Runs until `stop()`; see the module docstring for what it guarantees."""

    def __init__(
        self,
        consumer: Consumer,
        topologies: list[Topology],
        new_session: Callable[[], TransactionSession],
        new_reader: Callable[[], Consumer],
        codec: EventCodec,
        mapper: EventMapper,
        records: EventRecordFactory,
        outcome_retention_ms: int,
        batch_size: int = 2000,
        cached_aggregates: int = DEFAULT_CACHED_AGGREGATES,
        watchdog: LoopWatchdog | None = None,
    ) -> None:
        self._consumer = consumer
        self._by_commands = {t.commands: t for t in topologies}
        self._new_session = new_session
        self._ownership = Ownership(
            self._by_commands,
            new_reader,
            codec,
            mapper,
            records,
            outcome_retention_ms,
            cached_aggregates,
        )
        self._mapper = mapper
        self._batch_size = batch_size
        self._session: TransactionSession | None = None
        self._stopping = threading.Event()
        self._watchdog = watchdog or LoopWatchdog()

    def run(self) -> None:
        """Consume and process commands until stopped."""
        self._watchdog.start()
        try:
            self._run()
        finally:
            self._watchdog.stop()

    def _run(self) -> None:
        # Before joining the group: init_transactions fences an earlier instance with this id.
        self._session = self._new_session()
        self._consumer.subscribe(
            list(self._by_commands),
            on_assign=self._on_assign,
            on_revoke=self._on_revoke,
            on_lost=self._on_revoke,
        )
        try:
            while not self._stopping.is_set():
                self._watchdog.beat()
                messages = self._next_batch()
                if messages:
                    self._handle(self._session, messages)
        finally:
            self._session.close()
            self._consumer.close()

    def stop(self) -> None:
        self._stopping.set()

    def _next_batch(self) -> list[Message]:
        # Wait for one command, then take whatever else arrived, e.g. during the last commit:
        # the batch grows with the load, and a lone command is not held back.
        first = self._consumer.poll(0.1)
        if first is None:
            return []
        return [first, *self._consumer.consume(self._batch_size - 1, timeout=0)]

    def _handle(self, session: TransactionSession, messages: list[Message]) -> None:
        batches = self._batches(messages)
        if not batches:
            return
        try:
            process_batch(session, batches, self._consumer.consumer_group_metadata)
        except TransactionAborted as aborted:
            self._count("aborted", batches)
            log.warning(
                "transaction aborted (%s); rewinding to the last committed offsets", aborted
            )
            for (topic, partition), batch in batches.items():
                first = batch.messages[0][0].offset() or 0
                self._consumer.seek(TopicPartition(topic, partition, first))
        except SessionReset as reset:
            self._count("reset", batches)
            log.warning("producer replaced (%s); restoring every owned partition", reset)
            self._ownership.reload(self._consumer, session)

    def _batches(self, messages: list[Message]) -> dict[PartitionKey, PartitionBatch]:
        batches: dict[PartitionKey, PartitionBatch] = {}
        for message in messages:
            if message.error() is not None:
                log.error("consume error: %s", message.error())
                continue
            key = (message.topic() or "", message.partition() or 0)
            owned = self._ownership.owned.get(key)
            if owned is None:
                continue  # revoked during this poll; the new owner handles it
            if key not in batches:
                batches[key] = PartitionBatch(owned.target, owned.hosted, owned.outcomes, [])
            batches[key].messages.append((message, self._parse(self._by_commands[key[0]], message)))
        return batches

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        assert self._session is not None  # created before subscribing
        started = self._ownership.take(consumer, partitions, self._session)
        freeze_long_lived()  # the restored state is long-lived: no full collection walks it
        log.info("assigned %s", [f"{tp.topic}[{tp.partition}]" for tp in partitions])
        consumer.incremental_assign(started)

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        if self._session is not None and self._session.in_transaction:
            self._session.abort()  # never the case between polls; here for the invariant
        self._ownership.drop(partitions)
        log.info("revoked %s", [f"{tp.topic}[{tp.partition}]" for tp in partitions])
        consumer.incremental_unassign(partitions)

    def _parse(self, topology: Topology, message: Message) -> Parsed:
        """The command, or why it can't be handled (answered as unreadable, or skipped)."""
        try:
            reader = reader_for(topology.aggregate, self._mapper)
            return reader.read(message.key(), message.value(), message.headers())
        except MalformedMessage as error:
            metrics.UNREADABLE.labels(topology.aggregate.name).inc()
            where = f"{message.topic()}[{message.partition()}]@{message.offset()}"
            log.warning("%s: unreadable command, refused or skipped: %s", where, error)
            return f"unreadable command: {error}"

    @staticmethod
    def _count(result: str, batches: dict[PartitionKey, PartitionBatch]) -> None:
        for name in {batch.target.aggregate.name for batch in batches.values()}:
            metrics.TRANSACTIONS.labels(name, result).inc()
