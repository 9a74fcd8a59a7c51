"""One partition's batch of commands as one transaction: decide each, append the events,
then send the replies, the new idempotency outcomes, the changed snapshots and the consumed
offset, and commit."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer, Message, TopicPartition

from command_processor import metrics
from command_processor.decisions import Decision, complete, decide
from command_processor.hosted import HostedAggregate
from command_processor.outcomes import PendingOutcomes
from command_processor.partitions import OwnedPartition
from command_processor.snapshots import SnapshotCodec
from command_processor.writer import PartitionWriter, WriterFenced
from eventstore.aggregate import AggregateType
from eventstore.envelope import header_value
from eventstore.outgoing import EventRecordFactory, Stream
from producers.messages import (
    CORRELATION_ID,
    REPLY_KEY,
    REPLY_TO,
    CommandMessage,
    OutcomeKind,
    Reply,
    is_topic_name,
)

log = logging.getLogger(__name__)

Parsed = tuple[CommandMessage, object] | str


@dataclass(frozen=True, slots=True)
class BatchContext:
    """What a batch needs to know about where it writes."""

    aggregate: AggregateType[Any]
    partition: int
    events_topic: str
    state_topic: str
    event_records: EventRecordFactory
    outcomes_topic: str


@dataclass(slots=True)
class _Handled:
    message: CommandMessage
    hosted: HostedAggregate[Any]
    decision: Decision
    last_event_ticket: int | None


def process_batch(
    context: BatchContext,
    owned: OwnedPartition,
    batch: list[tuple[Message, Parsed]],
    consumer: Consumer,
) -> None:
    """Commit the batch or raise with nothing of it visible; `owned` changes only on commit."""
    writer = owned.writer
    working: dict[str, HostedAggregate[Any]] = {}
    pending = PendingOutcomes(owned.outcomes, int(time.time() * 1000))
    started = time.perf_counter()
    writer.begin()
    try:
        handled, refusals = _decide_all(context, owned, batch, working, pending, writer)
        outcomes: list[OutcomeKind] = []
        positions = writer.flush()
        flushed = time.perf_counter()
        for item in handled:
            ticket = item.last_event_ticket
            token = positions[ticket].token() if ticket is not None else None
            reply = complete(pending, item.message, item.decision, token)
            _send_reply(writer, item.message, reply)
            outcomes.append(reply.kind)
        for reply_to, correlation_id, reply_key, reply in refusals:
            _produce_reply(writer, reply_to, correlation_id, reply_key, reply)
            outcomes.append(reply.kind)
        for key, value in pending.records():
            writer.produce(context.outcomes_topic, key, value, [], context.partition)
        snapshots = SnapshotCodec(context.aggregate)
        # Only events change a state; outcomes have their own records.
        changed = {i.message.aggregate_id for i in handled if i.decision.events}
        for aggregate_id in changed:
            writer.produce(
                context.state_topic,
                aggregate_id.encode(),
                snapshots.encode(working[aggregate_id]),
                [],
                context.partition,
            )
        last = batch[-1][0]
        next_offset = TopicPartition(
            last.topic() or "", context.partition, (last.offset() or 0) + 1
        )
        writer.commit([next_offset], consumer.consumer_group_metadata())
    except WriterFenced:
        metrics.TRANSACTIONS.labels(context.aggregate.name, "fenced").inc()
        raise
    except Exception:
        metrics.TRANSACTIONS.labels(context.aggregate.name, "aborted").inc()
        writer.abort()
        raise
    owned.hosted.update(working)
    pending.commit()
    _count(context.aggregate.name, outcomes, handled, time.perf_counter() - started)
    log.debug(
        "%s[%d]: %d commands in %.1f ms (flush %.1f ms, commit %.1f ms)",
        context.aggregate.name,
        context.partition,
        len(batch),
        (time.perf_counter() - started) * 1000,
        (flushed - started) * 1000,
        (time.perf_counter() - flushed) * 1000,
    )


def _count(
    aggregate: str, outcomes: list[OutcomeKind], handled: list[_Handled], seconds: float
) -> None:
    """A committed batch in the metrics."""
    metrics.TRANSACTIONS.labels(aggregate, "committed").inc()
    metrics.BATCH_SECONDS.labels(aggregate).observe(seconds)
    for kind in outcomes:
        metrics.COMMANDS.labels(aggregate, kind.value).inc()
    appended = sum(len(item.decision.events) for item in handled if not item.decision.replayed)
    if appended:
        metrics.EVENTS.labels(aggregate).inc(appended)


def _decide_all(
    context: BatchContext,
    owned: OwnedPartition,
    batch: list[tuple[Message, Parsed]],
    working: dict[str, HostedAggregate[Any]],
    pending: PendingOutcomes,
    writer: PartitionWriter,
) -> tuple[list[_Handled], list[tuple[str, str, str, Reply]]]:
    handled: list[_Handled] = []
    refusals: list[tuple[str, str, str, Reply]] = []
    aggregate = context.aggregate
    for raw, parsed in batch:
        if isinstance(parsed, str):
            refusal = _refusal(raw, parsed)
            if refusal is not None:
                refusals.append(refusal)
            continue
        message, command = parsed
        aggregate_id = message.aggregate_id
        if aggregate_id not in working:
            current = owned.hosted.get(aggregate_id) or HostedAggregate(aggregate.initial)
            working[aggregate_id] = current.copy()
        hosted = working[aggregate_id]
        decision = decide(aggregate, hosted, message, command, pending)
        ticket = None
        stream = Stream(context.events_topic, aggregate.name, aggregate_id)
        for offset, event in enumerate(decision.events):
            outgoing = context.event_records.build(
                stream,
                event,
                decision.first_version + offset,
                message.correlation_id,
                message.correlation_id,
                message.traceparent,
            )
            ticket = writer.produce(
                context.events_topic,
                outgoing.key,
                outgoing.value,
                outgoing.headers,
                context.partition,
            )
        handled.append(_Handled(message, hosted, decision, ticket))
    return handled, refusals


def _refusal(raw: Message, reason: str) -> tuple[str, str, str, Reply] | None:
    headers = raw.headers()
    reply_to = header_value(headers, REPLY_TO)
    correlation_id = header_value(headers, CORRELATION_ID)
    if not reply_to or not correlation_id or not is_topic_name(reply_to):
        return None  # nobody (reachable) to tell; the offset still moves past it
    reply_key = header_value(headers, REPLY_KEY) or correlation_id
    return (reply_to, correlation_id, reply_key, Reply(OutcomeKind.UNREADABLE, detail=reason))


def _send_reply(writer: PartitionWriter, message: CommandMessage, reply: Reply) -> None:
    key = message.reply_key or message.correlation_id
    _produce_reply(writer, message.reply_to, message.correlation_id, key, reply)


def _produce_reply(
    writer: PartitionWriter, reply_to: str, correlation_id: str, key: str, reply: Reply
) -> None:
    writer.produce(
        reply_to, key.encode(), reply.encode(), [(CORRELATION_ID, correlation_id.encode())]
    )
