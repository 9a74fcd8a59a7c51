"""The fulfillment saga's state and the pure function that says what follows each message.

    RESERVING ──all reserved──► AUTHORIZING ──authorized──► CONFIRMING ──► SHIPPING ──► DONE
        │                           │                           │
        └── out of stock / declined / deadline / refused ───────┴──► COMPENSATING ──► CANCELLED

Each phase awaits a set of steps (`pending`); `commands_for` re-derives their commands from the
state, so re-sending them (the watchdog's re-drive, a redelivered message) is always the same
commands with the same idempotency keys. Compensation releases every SKU of the order, voids
the payment once an authorization was asked for, and cancels the order: each participant
receives these after the step they undo on the same key, so they never overtake it. Answers
for steps that are not pending (duplicates, late or stale replies) change nothing. The pivot
is the confirmation: it and shipping have no deadline and are re-driven until they land (a
deadline on the confirmation cancelled orders whose confirmation had landed, its reply late).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from contexts.inventory.stock.commands import ReleaseStock, ReserveStock
from contexts.payments.payment.commands import AuthorizePayment, VoidPayment
from contexts.sales.fulfillment.messages import (
    Answered,
    CardGiven,
    Line,
    OrderWasPlaced,
    SagaMessage,
    Tick,
)
from contexts.sales.order.commands import CancelOrder, ConfirmOrder, MarkOrderShipped


class Phase(StrEnum):
    """Where a saga stands; DONE and CANCELLED are final."""

    WAITING = "waiting"  # the card arrived before the order: nothing to do yet
    RESERVING = "reserving"
    AUTHORIZING = "authorizing"
    CONFIRMING = "confirming"
    SHIPPING = "shipping"
    DONE = "done"
    COMPENSATING = "compensating"
    CANCELLED = "cancelled"


FINAL = frozenset({Phase.DONE, Phase.CANCELLED})
# Confirming has no deadline: a timed-out ConfirmOrder may have landed (its reply late or lost),
# and compensating then cancels a confirmed order. The order is ours and idempotent, so the
# saga re-drives the confirmation until it is answered; only a refusal compensates.
_TIMED = frozenset({Phase.RESERVING, Phase.AUTHORIZING})


@dataclass(frozen=True, slots=True)
class Saga:
    """One order's fulfillment."""

    order_id: str
    phase: Phase = Phase.WAITING
    lines: tuple[Line, ...] = ()
    amount_cents: int = 0
    card_token: str | None = None
    since: datetime | None = None  # when the phase began: the `at` of its commands
    deadline: float = 0.0  # epoch seconds; 0: none
    pending: tuple[str, ...] = ()  # steps this phase awaits
    steps: tuple[str, ...] = ()  # steps done, in order
    compensations: tuple[str, ...] = ()  # compensating steps done, in order
    reason: str = ""  # why it was cancelled


@dataclass(frozen=True, slots=True)
class Send:
    """One command to a participant; `key` makes repeating it safe."""

    step: str
    command: object
    key: str


def react(
    saga: Saga | None, message: SagaMessage, now: datetime, step_seconds: float
) -> tuple[Saga, list[Send]]:
    """The saga after a message and the commands to send: the newly pending steps' commands,
    every pending step's on the watchdog's re-drive, none for duplicates."""
    current = saga or Saga(message.order_id)
    after = _next(current, message, now, step_seconds)
    if isinstance(message, Tick) and after == current:
        return after, commands_for(after)  # the watchdog's re-drive: every pending step again
    fresh = after.phase != current.phase
    return after, [s for s in commands_for(after) if fresh or s.step not in current.pending]


def _next(saga: Saga, message: SagaMessage, now: datetime, step_seconds: float) -> Saga:
    match message:
        case OrderWasPlaced() if saga.phase is Phase.WAITING and not saga.lines:
            started = replace(saga, lines=message.lines, amount_cents=message.amount_cents)
            steps = tuple(f"reserve:{line.sku}" for line in message.lines)
            return _enter(started, Phase.RESERVING, steps, now, step_seconds)
        case CardGiven() if saga.card_token is None:
            with_card = replace(saga, card_token=message.token)
            if saga.phase is Phase.AUTHORIZING:  # the order was waiting for its card
                return replace(with_card, pending=("authorize",))
            return with_card
        case Answered() if message.step in saga.pending:
            return _answered(saga, message, now, step_seconds)
        case Tick() if saga.phase in _TIMED and saga.deadline and now.timestamp() >= saga.deadline:
            return _compensate(saga, f"timed out while {saga.phase}", now)
        case _:
            return saga


def _answered(saga: Saga, answer: Answered, now: datetime, step_seconds: float) -> Saga:
    rest = tuple(step for step in saga.pending if step != answer.step)
    if saga.phase is Phase.COMPENSATING:
        done = replace(saga, pending=rest, compensations=(*saga.compensations, answer.step))
        return done if rest else replace(done, phase=Phase.CANCELLED)
    if not answer.accepted or "PaymentDeclined" in answer.events:
        return _compensate(saga, _failure(answer), now)
    done = replace(saga, pending=rest, steps=(*saga.steps, answer.step))
    if rest:
        return done
    match saga.phase:
        case Phase.RESERVING:
            awaited = ("authorize",) if saga.card_token is not None else ()
            return _enter(done, Phase.AUTHORIZING, awaited, now, step_seconds)
        case Phase.AUTHORIZING:
            return _enter(done, Phase.CONFIRMING, ("confirm",), now, 0)
        case Phase.CONFIRMING:
            return _enter(done, Phase.SHIPPING, ("ship",), now, 0)
        case _:
            return replace(done, phase=Phase.DONE)


def _failure(answer: Answered) -> str:
    if "PaymentDeclined" in answer.events:
        return "payment declined"
    if answer.error == "InsufficientStock":
        return f"out of stock: {answer.step.removeprefix('reserve:')}"
    return f"{answer.step} refused: {answer.error or 'no reason given'}"


def _enter(
    saga: Saga, phase: Phase, pending: tuple[str, ...], now: datetime, step_seconds: float
) -> Saga:
    deadline = now.timestamp() + step_seconds if step_seconds else 0.0
    return replace(saga, phase=phase, pending=pending, since=now, deadline=deadline)


def _compensate(saga: Saga, reason: str, now: datetime) -> Saga:
    """Undo everything that may have happened: releases and voids of nothing change nothing."""
    undo = [f"release:{line.sku}" for line in saga.lines]
    if "authorize" in saga.steps or saga.phase is Phase.AUTHORIZING:
        undo.append("void")
    compensating = _enter(saga, Phase.COMPENSATING, (*undo, "cancel"), now, 0)
    return replace(compensating, reason=reason)


def commands_for(saga: Saga) -> list[Send]:
    """The commands of the steps the saga awaits, derived from its state alone."""
    return [_command(saga, step) for step in saga.pending]


def _command(saga: Saga, step: str) -> Send:
    order_id, at = saga.order_id, saga.since or datetime.fromtimestamp(0)
    key = f"saga:{order_id}:{step}"
    kind, _, sku = step.partition(":")
    quantity = {line.sku: line.quantity for line in saga.lines}.get(sku, 0)
    command: object
    match kind:
        case "reserve":
            command = ReserveStock(sku, order_id, quantity, at)
        case "release":
            command = ReleaseStock(sku, order_id, at)
        case "authorize":
            command = AuthorizePayment(order_id, saga.amount_cents, saga.card_token or "", at)
        case "void":
            command = VoidPayment(order_id, at)
        case "confirm":
            command = ConfirmOrder(order_id, at)
        case "ship":
            command = MarkOrderShipped(order_id, at)
        case _:
            command = CancelOrder(order_id, saga.reason, at)
    return Send(step, command, key)


def is_live(saga: Saga) -> bool:
    """Whether the watchdog should still look at the saga."""
    return saga.phase not in FINAL or bool(saga.pending)
