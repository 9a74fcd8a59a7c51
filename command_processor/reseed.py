"""After a restore, write what it rebuilt that its topics lack, so the next restore is bounded.

A partition folded from its events (its snapshots had another state shape) gets a fresh
snapshot per aggregate; outcomes read from snapshots written before the outcomes topic go
onto that topic (their record time is now, so they may live up to one retention longer).
Both in one transaction of the partition's writer, before it takes any command.
"""

from __future__ import annotations

from typing import Any

from command_processor.outcomes import encode_outcome
from command_processor.restore import RestoredPartition, RestoreTopics
from command_processor.snapshots import SnapshotCodec
from command_processor.writer import PartitionWriter, WriterFenced
from eventstore.aggregate import AggregateType

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
    """Write them and clear them from `restored`; returns how many records (0: no transaction)."""
    records = restored_records(aggregate, topics, restored)
    if not records:
        return 0
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
    restored.folded = False
    restored.imported.clear()
    return len(records)
