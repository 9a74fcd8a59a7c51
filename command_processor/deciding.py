"""One partition's share of a transaction: decide each command against working copies of
its aggregates and pending idempotency outcomes, and queue the events; replies, outcome
records and snapshots follow once the events have positions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import Message

from command_processor.aggregate_store import AggregateStore
from command_processor.decisions import Decision, complete, decide
from command_processor.hosted import HostedAggregate
from command_processor.outcomes import OutcomeIndex, PendingOutcomes
from command_processor.session import Positions, TransactionSession
from command_processor.snapshots import SnapshotCodec
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

Parsed = tuple[CommandMessage, object] | str


@dataclass(frozen=True, slots=True)
class PartitionTarget:
    """Where one command partition's outcomes go."""

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


@dataclass(slots=True)
class PartitionStep:
    """A partition's decided commands; on commit the changed aggregates of `working` replace
    the hosted ones, with the `snapshots` written for them, and `pending` joins its outcome
    index (`PendingOutcomes.commit`)."""

    target: PartitionTarget
    pending: PendingOutcomes
    working: dict[str, HostedAggregate[Any]] = field(default_factory=dict)
    snapshots: dict[str, bytes] = field(default_factory=dict)
    handled: list[_Handled] = field(default_factory=list)
    refusals: list[tuple[str, str, str, Reply]] = field(default_factory=list)
    outcomes: list[OutcomeKind] = field(default_factory=list)

    @property
    def appended(self) -> int:
        return sum(len(i.decision.events) for i in self.handled if not i.decision.replayed)


def decide_partition(
    target: PartitionTarget,
    hosted: AggregateStore,
    outcomes: OutcomeIndex,
    batch: list[tuple[Message, Parsed]],
    session: TransactionSession,
    now_ms: int,
) -> PartitionStep:
    """Decide the batch in order, queueing the events; `outcomes` changes only on commit."""
    step = PartitionStep(target, PendingOutcomes(outcomes, now_ms))
    aggregate = target.aggregate
    for raw, parsed in batch:
        if isinstance(parsed, str):
            refusal = _refusal(raw, parsed)
            if refusal is not None:
                step.refusals.append(refusal)
            continue
        message, command = parsed
        aggregate_id = message.aggregate_id
        if aggregate_id not in step.working:
            current = hosted.get(aggregate_id) or HostedAggregate(aggregate.initial)
            step.working[aggregate_id] = current.copy()
        working = step.working[aggregate_id]
        decision = decide(aggregate, working, message, command, step.pending)
        ticket = None
        stream = Stream(target.events_topic, aggregate.name, aggregate_id)
        for offset, event in enumerate(decision.events):
            outgoing = target.event_records.build(
                stream,
                event,
                decision.first_version + offset,
                message.correlation_id,
                message.correlation_id,
                message.traceparent,
            )
            ticket = session.produce(
                target.events_topic,
                outgoing.key,
                outgoing.value,
                outgoing.headers,
                target.partition,
            )
        step.handled.append(_Handled(message, working, decision, ticket))
    return step


def _snapshot_changed(step: PartitionStep, session: TransactionSession) -> None:
    # Only events change a state; outcomes have their own records.
    target = step.target
    snapshots = SnapshotCodec(target.aggregate)
    changed = {i.message.aggregate_id for i in step.handled if i.decision.events}
    for aggregate_id in changed:
        snapshot = snapshots.encode(step.working[aggregate_id])
        session.produce(target.state_topic, aggregate_id.encode(), snapshot, [], target.partition)
        step.snapshots[aggregate_id] = snapshot


def finish_partition(
    step: PartitionStep, positions: Positions, session: TransactionSession
) -> None:
    """Queue every reply (accepted ones carry their last event's position), then the new
    idempotency outcomes and the changed aggregates' snapshots."""
    for item in step.handled:
        ticket = item.last_event_ticket
        token = positions[ticket].token() if ticket is not None else None
        reply = complete(step.pending, item.message, item.decision, token)
        key = item.message.reply_key or item.message.correlation_id
        _produce_reply(session, item.message.reply_to, item.message.correlation_id, key, reply)
        step.outcomes.append(reply.kind)
    for reply_to, correlation_id, reply_key, reply in step.refusals:
        _produce_reply(session, reply_to, correlation_id, reply_key, reply)
        step.outcomes.append(reply.kind)
    target = step.target
    for record, value in step.pending.records():
        session.produce(target.outcomes_topic, record, value, [], target.partition)
    _snapshot_changed(step, session)


def _refusal(raw: Message, reason: str) -> tuple[str, str, str, Reply] | None:
    headers = raw.headers()
    reply_to = header_value(headers, REPLY_TO)
    correlation_id = header_value(headers, CORRELATION_ID)
    if not reply_to or not correlation_id or not is_topic_name(reply_to):
        return None  # nobody (reachable) to tell; the offset still moves past it
    reply_key = header_value(headers, REPLY_KEY) or correlation_id
    return (reply_to, correlation_id, reply_key, Reply(OutcomeKind.UNREADABLE, detail=reason))


def _produce_reply(
    session: TransactionSession, reply_to: str, correlation_id: str, key: str, reply: Reply
) -> None:
    if not session.reaches(reply_to):  # nobody reads there, and the produce would stall
        return
    session.produce(
        reply_to, key.encode(), reply.encode(), [(CORRELATION_ID, correlation_id.encode())]
    )
