"""After a restore, write what it rebuilt that its topics lack, so the next restore is bounded.

A partition folded from its events (its snapshots had another state shape) gets a fresh
snapshot per aggregate; outcomes read from snapshots written before the outcomes topic go
onto that topic (their record time is now, so they may live up to one retention longer).
Both in one transaction of the partition's writer, before it takes any command.
"""

from __future__ import annotations

import logging
from typing import Any

from confluent_kafka import KafkaException

from command_processor.outcomes import encode_outcome
from command_processor.restore import RestoredPartition, RestoreTopics
from command_processor.snapshots import SnapshotCodec
from command_processor.writer import PartitionWriter, WriterFenced
from eventstore.aggregate import AggregateType

log = logging.getLogger(__name__)

Record = tuple[str, bytes, bytes]  # topic, key, value


def restored_records(
    aggregate: AggregateType[Any], topics: RestoreTopics, restored: RestoredPartition
) -> list[Record]:
    """What the partition's topics lack of `restored`: none if it came from current snapshots."""
    records: list[Record] = []
    if restored.folded:
        snapshots = SnapshotCodec(aggregate)
        records += [
            (topics.state, aggregate_id.encode(), snapshots.encode(hosted))
            for aggregate_id, hosted in restored.hosted.items()
        ]
    records += [
        (topics.outcomes, key, encode_outcome(outcome.fingerprint, outcome.reply))
        for key, outcome in restored.imported.items()
    ]
    return records


def reseed(
    writer: PartitionWriter,
    aggregate: AggregateType[Any],
    topics: RestoreTopics,
    partition: int,
    restored: RestoredPartition,
    group_metadata: object,
) -> int:
    """Write them and clear them from `restored`; returns how many records were written.

    A failure is logged, not raised: the partition serves from what restore rebuilt, and the
    next restore folds again and reads the old snapshots' outcomes again (unless a command
    has rewritten that aggregate's snapshot meanwhile).
    """
    records = restored_records(aggregate, topics, restored)
    if not records:
        return 0  # no transaction
    try:
        _write(writer, partition, records, group_metadata)
    except (KafkaException, WriterFenced) as error:
        log.warning("%s[%d]: restored records not rewritten: %s", topics.state, partition, error)
        return 0
    log.info("%s[%d]: wrote %d restored records", topics.state, partition, len(records))
    restored.folded = False
    restored.imported.clear()
    return len(records)


def _write(
    writer: PartitionWriter, partition: int, records: list[Record], group_metadata: object
) -> None:
    writer.begin()
    try:
        for topic, key, value in records:
            writer.produce(topic, key, value, [], partition)
        writer.flush()
        writer.commit([], group_metadata)  # no command consumed: no offset moves
    except WriterFenced:
        raise
    except Exception:
        writer.abort()
        raise
