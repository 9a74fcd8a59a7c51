"""One poll's commands as one transaction across every owned partition (exactly_once_v2):
decide and append the events, add the consumed offsets, then the replies, the new
idempotency outcomes and the changed snapshots once the events have positions, and commit.
The hosted aggregates and the outcome indexes change only on commit."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from confluent_kafka import Message, TopicPartition

from command_processor import metrics
from command_processor.aggregate_store import AggregateStore
from command_processor.deciding import (
    Parsed,
    PartitionStep,
    PartitionTarget,
    decide_partition,
    finish_partition,
)
from command_processor.outcomes import OutcomeIndex
from command_processor.session import TransactionSession

log = logging.getLogger(__name__)

PartitionKey = tuple[str, int]


@dataclass(frozen=True, slots=True)
class PartitionBatch:
    """One partition's commands of this poll, with where they go and what they decide on."""

    target: PartitionTarget
    hosted: AggregateStore
    outcomes: OutcomeIndex
    messages: list[tuple[Message, Parsed]]


def process_batch(
    session: TransactionSession,
    batches: dict[PartitionKey, PartitionBatch],
    group_metadata: Callable[[], object],
) -> None:
    """Commit every partition's batch in one transaction, or raise with none of it visible.

    Raises `TransactionAborted` or `SessionReset` (see `session`) for the caller to rewind.
    """
    started = time.perf_counter()
    now_ms = int(time.time() * 1000)
    session.begin()
    try:
        steps = [
            (
                b.hosted,
                decide_partition(b.target, b.hosted, b.outcomes, b.messages, session, now_ms),
            )
            for b in batches.values()
        ]
        # Sent before the flush, so their round trips overlap the events' delivery.
        session.send_offsets(_next_offsets(batches), group_metadata())
        positions = session.flush()
        flushed = time.perf_counter()
        for _, step in steps:
            finish_partition(step, positions, session)
        session.commit()
    except Exception:
        if session.in_transaction:
            session.abort()
        raise
    for hosted, step in steps:
        hosted.commit({i: (step.working[i], value) for i, value in step.snapshots.items()})
        step.pending.commit()  # only now can a retry find this transaction's outcomes
    _count([step for _, step in steps], time.perf_counter() - started)
    log.debug(
        "%d commands in %.1f ms (decide+flush %.1f ms, commit %.1f ms)",
        sum(len(b.messages) for b in batches.values()),
        (time.perf_counter() - started) * 1000,
        (flushed - started) * 1000,
        (time.perf_counter() - flushed) * 1000,
    )


def _next_offsets(
    batches: dict[PartitionKey, PartitionBatch],
) -> list[TopicPartition]:
    return [
        TopicPartition(topic, partition, (b.messages[-1][0].offset() or 0) + 1)
        for (topic, partition), b in batches.items()
    ]


def _count(steps: list[PartitionStep], seconds: float) -> None:
    """A committed transaction in the metrics, per aggregate type it touched."""
    commands = sum(len(step.outcomes) for step in steps)
    metrics.BATCH_COMMANDS.observe(commands)
    for name in {step.target.aggregate.name for step in steps}:
        metrics.TRANSACTIONS.labels(name, "committed").inc()
        metrics.BATCH_SECONDS.labels(name).observe(seconds)
    for step in steps:
        name = step.target.aggregate.name
        for kind in step.outcomes:
            metrics.COMMANDS.labels(name, kind.value).inc()
        if step.appended:
            metrics.EVENTS.labels(name).inc(step.appended)
