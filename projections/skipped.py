"""What a replay that starts after the beginning of the log would leave out.

A replay folds into an empty generation. Started at a later position it can only equal a
rebuild from scratch if nothing before that position is an event the projection applies:
otherwise an aggregate whose history straddles the start fails ("never placed") or folds
wrong, and one whose history ends before it is missing. `first_skipped_event` finds the
first such event, reading the skipped ranges by header only (nothing is decoded).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from confluent_kafka import Consumer, KafkaError, Message, TopicPartition

from eventstore.envelope import header_value
from eventstore.position import Position
from projections.model import PartitionKey


@dataclass(frozen=True, slots=True)
class SkippedEvent:
    """The first record before a start that the projection would have applied."""

    position: Position
    subject: str  # the aggregate id (`ce_subject`), "" when the record has none


class ScanTimedOut(Exception):
    """The skipped ranges could not be read in time."""


def first_skipped_event(
    scanner: Consumer,
    ranges: dict[PartitionKey, tuple[int, int]],
    handles: Callable[[Message], bool],
    timeout: float = 60.0,
) -> SkippedEvent | None:
    """The first record in `ranges` ((topic, partition) -> [begin, end)) that `handles`.

    `scanner` must be a group-less consumer with `enable.partition.eof`: a range can end
    at the log's end, behind transaction markers, where only the EOF event says "done".
    """
    pending = {key: span for key, span in ranges.items() if span[0] < span[1]}
    if not pending:
        return None
    scanner.assign([TopicPartition(t, p, begin) for (t, p), (begin, _end) in pending.items()])
    deadline = time.monotonic() + timeout
    try:
        while pending:
            if time.monotonic() > deadline:
                raise ScanTimedOut(f"reading {len(pending)} partitions before the start")
            for message in scanner.consume(500, timeout=1.0):
                found = _examine(message, pending, handles)
                if found is not None:
                    return found
    finally:
        scanner.unassign()
    return None


def _examine(
    message: Message,
    pending: dict[PartitionKey, tuple[int, int]],
    handles: Callable[[Message], bool],
) -> SkippedEvent | None:
    topic, partition, offset = message.topic(), message.partition(), message.offset()
    assert topic is not None and partition is not None
    key = (topic, partition)
    if key not in pending:
        return None
    error = message.error()
    if error is not None:
        if error.code() == KafkaError._PARTITION_EOF:
            del pending[key]  # read to the end: nothing more before the start
        return None
    assert offset is not None
    if offset >= pending[key][1]:
        del pending[key]  # reached the start
        return None
    if handles(message):
        subject = header_value(message.headers(), "ce_subject") or ""
        return SkippedEvent(Position(topic, partition, offset), subject)
    return None
