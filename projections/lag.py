"""Lag as a reader sees it: events not yet applied, not offsets.

A projection's checkpoint is the offset after the last record it consumed. Transactional
producers end every transaction with a commit marker that occupies an offset but is never
delivered, so at rest the end offset (the last stable offset, for read_committed) sits one
marker or more past the checkpoint. Offsets-minus-checkpoint would report lag forever on a
quiet system; here a partition whose checkpoint is short of its end is read from the
checkpoint, and if the end comes before any record, its lag is 0.
"""

from __future__ import annotations

import time

from confluent_kafka import Consumer, KafkaError, TopicPartition

from projections.model import PartitionKey


def event_lag(
    scanner: Consumer,
    next_offsets: dict[PartitionKey, int],
    ends: dict[PartitionKey, int],
    timeout: float = 10.0,
) -> dict[PartitionKey, int]:
    """Per partition, the records between `next_offsets` and `ends` (0 if only markers).

    `scanner` is a group-less read_committed consumer with `enable.partition.eof`. A
    partition with records left reports `end - next`: markers among them still count, but
    a partition at rest is 0. Partitions not answered within `timeout` keep that figure.
    """
    lag = {key: max(ends[key] - offset, 0) for key, offset in next_offsets.items()}
    behind = {key: offset for key, offset in next_offsets.items() if lag[key] > 0}
    if not behind:
        return lag
    scanner.assign([TopicPartition(t, p, offset) for (t, p), offset in behind.items()])
    deadline = time.monotonic() + timeout
    try:
        while behind and time.monotonic() < deadline:
            for message in scanner.consume(100, timeout=0.5):
                topic, partition = message.topic(), message.partition()
                assert topic is not None and partition is not None
                key = (topic, partition)
                if key not in behind:
                    continue
                error = message.error()
                if error is not None and error.code() == KafkaError._PARTITION_EOF:
                    lag[key] = 0  # nothing but markers between the checkpoint and the end
                    del behind[key]
                elif error is None:
                    del behind[key]  # a real record: the lag stands
    finally:
        scanner.unassign()
    return lag


def event_lags(
    scanner: Consumer,
    wanted: set[tuple[PartitionKey, int]],
    ends: dict[PartitionKey, int],
    timeout: float = 10.0,
) -> dict[tuple[PartitionKey, int], int]:
    """`event_lag` for many (partition, next offset) pairs, e.g. every projection's: one
    read per distinct offset of a partition, all partitions at once (projections that
    share a topic are usually at the same checkpoint, so this is one pass)."""
    found: dict[tuple[PartitionKey, int], int] = {}
    pending = sorted(wanted)
    while pending:
        round_: dict[PartitionKey, int] = {}
        later: list[tuple[PartitionKey, int]] = []
        for key, offset in pending:
            if key in round_:
                later.append((key, offset))
            else:
                round_[key] = offset
        lag = event_lag(scanner, round_, {key: ends[key] for key in round_}, timeout)
        found.update({(key, offset): lag[key] for key, offset in round_.items()})
        pending = later
    return found
