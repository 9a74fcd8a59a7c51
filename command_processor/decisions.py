"""Pure command handling: idempotency, optimistic concurrency, then the aggregate's decider.

No Kafka here: the processor feeds an aggregate, a command and the partition's outcomes in,
and gets back the events to append and the reply to send, which it completes with positions
once the events landed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import reduce
from typing import Any

from command_processor.hosted import HostedAggregate
from command_processor.outcomes import Outcomes
from eventstore.aggregate import AggregateType
from producers.messages import CommandMessage, OutcomeKind, Reply


@dataclass(slots=True)
class Decision:
    """What one command does: events to append, and the reply (position filled in later)."""

    events: list[object]
    reply: Reply
    replayed: bool = False  # the reply is a remembered outcome; nothing new happens
    first_version: int = 0


def decide(
    aggregate: AggregateType[Any],
    hosted: HostedAggregate[Any],
    message: CommandMessage,
    command: object,
    outcomes: Outcomes,
) -> Decision:
    """Decide one command against a hosted aggregate and update it in place."""
    key = message.idempotency_key
    stored = outcomes.get(message.aggregate_id, key) if key is not None else None
    if stored is not None:
        if stored.fingerprint != message.request_fingerprint:
            detail = f"Idempotency-Key {key!r} was already used for a different request"
            return Decision([], Reply(OutcomeKind.KEY_REUSED, detail=detail), replayed=True)
        return Decision([], stored.reply, replayed=True)
    if message.expected_version is not None and message.expected_version != hosted.version:
        detail = (
            f"{aggregate.name} {message.aggregate_id} is at version {hosted.version}, "
            f"not {message.expected_version}"
        )
        conflict = OutcomeKind.VERSION_CONFLICT
        return _rejected(hosted, message, outcomes, conflict, detail, "WrongExpectedVersion")
    try:
        events = aggregate.decide(hosted.state, command)
    except aggregate.domain_error as error:
        rejected = OutcomeKind.REJECTED
        return _rejected(hosted, message, outcomes, rejected, str(error), type(error).__name__)
    first_version = hosted.version + 1
    hosted.state = reduce(aggregate.evolve, events, hosted.state)
    hosted.version += len(events)
    reply = Reply(
        OutcomeKind.ACCEPTED,
        aggregate_id=message.aggregate_id,
        created=bool(events) and first_version == 1,
        version=hosted.version,
        events=tuple(type(event).__name__ for event in events),
    )
    if key is not None:
        # Remembered now, so a duplicate later in the same batch replays it; `complete`
        # swaps in the reply with its position once the events have landed.
        outcomes.remember(message.aggregate_id, key, message.request_fingerprint, reply)
    return Decision(events, reply, first_version=first_version)


def _rejected(
    hosted: HostedAggregate[Any],
    message: CommandMessage,
    outcomes: Outcomes,
    kind: OutcomeKind,
    detail: str,
    error: str,
) -> Decision:
    reply = Reply(kind, error=error, detail=detail, current_version=hosted.version)
    if message.idempotency_key is not None:
        key, fingerprint = message.idempotency_key, message.request_fingerprint
        outcomes.remember(message.aggregate_id, key, fingerprint, reply)
    return Decision([], reply)


def complete(
    outcomes: Outcomes,
    message: CommandMessage,
    decision: Decision,
    position_token: str | None,
) -> Reply:
    """The final reply once the events have positions; remembered for idempotent retries.

    Completions run in batch order, so a replayed duplicate finds its original's final reply.
    """
    key = message.idempotency_key
    if decision.replayed:
        stored = outcomes.get(message.aggregate_id, key) if key is not None else None
        if stored is not None and stored.fingerprint == message.request_fingerprint:
            return stored.reply
        return decision.reply
    if not decision.reply.accepted:
        return decision.reply
    reply = replace(decision.reply, position=position_token)
    if key is not None:
        outcomes.remember(message.aggregate_id, key, message.request_fingerprint, reply)
    return reply
