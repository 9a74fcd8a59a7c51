"""The fulfillment saga's state and the pure function that says what follows each message.

    RESERVING ──all reserved and authorized──► CONFIRMING ──► SHIPPING ──► DONE
        │  (card late: AUTHORIZING once it comes)      │
        └── out of stock / declined / participant down / refused ┴──► COMPENSATING ──► CANCELLED

Each phase awaits a set of steps (`pending`); `commands_for` re-derives their commands from the
state, so a re-sent step is always the same command with the same idempotency key. Reserving
asks for the stock and the payment's authorization at once: both are undone alike (a release,
a void) if either fails, and one phase fewer is one round trip through Skald's queues fewer
for every order. A free order asks for no authorization. An order whose card comes after
its stock is reserved waits in AUTHORIZING for it (as sagas stored before the two steps ran
together may also stand). Shipping
ships the order and consumes each SKU's reservation (`dispatch`). Compensation releases every
SKU of the order, voids the payment once an authorization was asked for, and cancels the
order: each participant receives these after the step they undo on the same key, so they
never overtake it. Answers for steps that are not pending (duplicates, late or stale replies)
change nothing, and phases only move forward.

Timers mean a participant failed, never that Skald is busy (the watchdog's `Tick` says which):

* Commands travel on durable topics and their replies commit with their effects, so a command
  that was produced gets answered. A deadline (`step_seconds`, reserving and authorizing only)
  compensates only when a participant of a pending step is *stalled*: commands queued for it
  and no progress for that long. A participant that is merely busy moves the deadline on.
* A re-send helps only when a reply is truly missing: when every participant has *caught up*
  (handled everything queued, so ours too) and the answer still has not come. Re-sends back off
  exponentially with jitter (`redrive_seconds` doubling up to `max_backoff_seconds`) and are
  budgeted (`max_resends` per phase); a timed phase with no answer after its budget compensates,
  the pivot's phases keep their capped backoff.
* The pivot is the confirmation: confirming and shipping have no deadline (a deadline there
  cancelled orders whose confirmation had landed, its reply late).

State stays bounded: a final saga is remembered for `retention_seconds` (duplicates and late
answers find it and change nothing), then forgotten (`expired`); so is a card whose order never
came (its PlaceOrder refused). A message about a saga the worker does not know that is older
than the retention is ignored (`too_old`): it can only be about a forgotten saga, or work that
waited longer than the retention.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from contexts.inventory.stock.commands import ReleaseStock, ReserveStock, ShipStock
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
_TIMED = frozenset({Phase.RESERVING, Phase.AUTHORIZING})
# How far along each phase is; a saga never moves to a smaller rank (see `advances`).
RANK = {
    Phase.WAITING: 0,
    Phase.RESERVING: 1,
    Phase.AUTHORIZING: 2,
    Phase.CONFIRMING: 3,
    Phase.COMPENSATING: 4,  # a refused confirmation still compensates
    Phase.CANCELLED: 5,
    Phase.SHIPPING: 4,
    Phase.DONE: 5,
}
# How many of Skald's queues an order passes one after another when all goes well, each
# waiting behind what is queued there (the door's admission counts them): PlaceOrder through
# the processor and OrderPlaced through the worker, then for each phase (reserving with its
# authorization, confirming, shipping) its commands through the processor and their replies
# through the worker.
HOPS = 2 * (1 + 3)
# The confirmation landed: from here on nothing is undone.
_PAST_PIVOT = frozenset({Phase.SHIPPING, Phase.DONE})


@dataclass(frozen=True, slots=True)
class Timing:
    """The saga's clock: business deadlines and the re-send policy."""

    step_seconds: float = 30.0  # a stalled participant of a timed step fails it after this long
    redrive_seconds: float = 5.0  # first re-send of a step whose answer is truly missing
    max_resends: int = 5  # re-sends per phase before a timed phase gives up
    max_backoff_seconds: float = 60.0  # longest wait between two re-sends
    retention_seconds: float = 86400.0  # how long a final saga is remembered


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
    resends: int = 0  # re-sends of this phase's steps so far
    look_at: float = 0.0  # epoch seconds: when the watchdog looks at the saga next; 0: never
    # (a final or waiting saga: when it is forgotten)

    @property
    def due(self) -> float:
        """When the watchdog should look next (epoch seconds); 0: never."""
        if not is_live(self):
            return self.look_at  # final: when it may be forgotten
        times = [t for t in (self.look_at, self.deadline if self.phase in _TIMED else 0) if t]
        return min(times, default=0.0)


@dataclass(frozen=True, slots=True)
class Send:
    """One command to a participant; `key` makes repeating it safe."""

    step: str
    command: object
    key: str


def react(
    saga: Saga | None, message: SagaMessage, now: datetime, timing: Timing
) -> tuple[Saga, list[Send]]:
    """The saga after a message and the commands to send: the newly pending steps' commands,
    the pending ones again when a tick finds an answer missing, none for duplicates."""
    current = saga or Saga(message.order_id)
    if isinstance(message, Tick):
        return _tick(current, message, now, timing)
    after = _next(current, message, now, timing)
    fresh = after.phase != current.phase
    return after, [s for s in commands_for(after) if fresh or s.step not in current.pending]


def expired(saga: Saga, now: datetime) -> bool:
    """Whether a final saga, or a card whose order never came, has been remembered for its
    retention and may be forgotten."""
    resting = not is_live(saga) or saga.phase is Phase.WAITING
    return resting and 0 < saga.look_at <= now.timestamp()


def too_old(sent_at: float, now: datetime, timing: Timing) -> bool:
    """Whether a message sent at `sent_at` (epoch seconds) about a saga nobody remembers is
    past the retention: it may be about a saga already forgotten, so it starts nothing."""
    return 0 < sent_at < now.timestamp() - timing.retention_seconds


def advances(before: Saga | None, after: Saga) -> bool:
    """Whether `after` may replace `before`: never back to an earlier phase, never out of the
    pivot's side into compensation (a guard for state restored out of order)."""
    if before is None or after.phase == before.phase:
        return True
    if before.phase in _PAST_PIVOT and after.phase in (Phase.COMPENSATING, Phase.CANCELLED):
        return False
    return RANK[after.phase] > RANK[before.phase]


def _next(saga: Saga, message: SagaMessage, now: datetime, timing: Timing) -> Saga:
    match message:
        case OrderWasPlaced() if saga.phase is Phase.WAITING and not saga.lines:
            started = replace(saga, lines=message.lines, amount_cents=message.amount_cents)
            steps = tuple(f"reserve:{line.sku}" for line in message.lines)
            if _needs_authorization(started):
                steps += ("authorize",)
            return _enter(started, Phase.RESERVING, steps, now, timing, timed=True)
        case CardGiven() if saga.card_token is None:
            with_card = replace(saga, card_token=message.token)
            if saga.phase is Phase.WAITING:  # forgotten if its order never comes
                return replace(with_card, look_at=now.timestamp() + timing.retention_seconds)
            if saga.phase is Phase.AUTHORIZING and not saga.pending:  # waited for its card
                return _enter(with_card, Phase.AUTHORIZING, ("authorize",), now, timing, True)
            if saga.phase is Phase.RESERVING and _needs_authorization(with_card):
                return replace(with_card, pending=(*saga.pending, "authorize"))  # sent at once
            return with_card
        case Answered() if message.step in saga.pending:
            return _answered(saga, message, now, timing)
        case _:
            return saga


def _tick(saga: Saga, tick: Tick, now: datetime, timing: Timing) -> tuple[Saga, list[Send]]:
    if not is_live(saga):
        return saga, []
    t = now.timestamp()
    if saga.phase in _TIMED and saga.deadline and t >= saga.deadline:
        if tick.stalled:
            return _compensating(saga, f"timed out while {_activity(saga)}", now, timing)
        saga = replace(saga, deadline=t + timing.step_seconds)  # busy, not failed: wait on
    if not saga.pending or t < saga.look_at:
        return saga, []
    if not tick.caught_up:  # our commands are still queued: their answers will come
        return replace(saga, look_at=t + timing.redrive_seconds), []
    if saga.resends >= timing.max_resends and saga.phase in _TIMED:
        return _compensating(saga, f"no answer while {_activity(saga)}", now, timing)
    resends = saga.resends + 1
    later = replace(saga, resends=resends, look_at=t + backoff(timing, saga.order_id, resends))
    return later, commands_for(saga)


def backoff(timing: Timing, order_id: str, attempt: int) -> float:
    """Seconds before re-send `attempt + 1`: doubling, capped, with a jitter of +-25% that is a
    pure function of the saga and attempt (so sagas spread out and tests stay deterministic)."""
    base = min(timing.redrive_seconds * 2 ** (attempt - 1), timing.max_backoff_seconds)
    digest = hashlib.blake2b(f"{order_id}:{attempt}".encode(), digest_size=2).digest()
    return base * (0.75 + 0.5 * int.from_bytes(digest) / 0xFFFF)


def _answered(saga: Saga, answer: Answered, now: datetime, timing: Timing) -> Saga:
    rest = tuple(step for step in saga.pending if step != answer.step)
    if saga.phase is Phase.COMPENSATING:
        done = replace(saga, pending=rest, compensations=(*saga.compensations, answer.step))
        return done if rest else _final(done, Phase.CANCELLED, now, timing)
    if saga.phase in _PAST_PIVOT and not answer.accepted:
        # Nothing is undone past the pivot: a refused shipment is noted (an operator's case).
        noted = replace(saga, pending=rest, reason=_failure(answer))
        return noted if rest else _final(noted, Phase.DONE, now, timing)
    if not answer.accepted or "PaymentDeclined" in answer.events:
        return _compensate(saga, _failure(answer), now, timing)
    done = replace(saga, pending=rest, steps=(*saga.steps, answer.step))
    if rest:
        return done
    match saga.phase:
        case Phase.RESERVING if "authorize" in done.steps or saga.amount_cents == 0:
            return _enter(done, Phase.CONFIRMING, ("confirm",), now, timing)
        case Phase.RESERVING:  # reserved before its card came (or a saga stored before)
            awaited = ("authorize",) if saga.card_token is not None else ()
            return _enter(done, Phase.AUTHORIZING, awaited, now, timing, timed=True)
        case Phase.AUTHORIZING:
            return _enter(done, Phase.CONFIRMING, ("confirm",), now, timing)
        case Phase.CONFIRMING:
            dispatch = tuple(f"dispatch:{line.sku}" for line in saga.lines)
            return _enter(done, Phase.SHIPPING, ("ship", *dispatch), now, timing)
        case _:
            return _final(done, Phase.DONE, now, timing)


def _needs_authorization(saga: Saga) -> bool:
    """Whether reserving also asks for the payment: a card to charge and something to pay."""
    return saga.card_token is not None and saga.amount_cents > 0


def _activity(saga: Saga) -> str:
    """What a timed phase's pending steps are doing, for a cancellation's reason."""
    doing = {"reserve": "reserving", "authorize": "authorizing"}
    kinds = dict.fromkeys(doing.get(step.partition(":")[0], "") for step in saga.pending)
    return " and ".join(k for k in kinds if k) or saga.phase.value


def _final(saga: Saga, phase: Phase, now: datetime, timing: Timing) -> Saga:
    """Done or cancelled: remembered for the retention, then forgotten."""
    forget_at = now.timestamp() + timing.retention_seconds
    return replace(saga, phase=phase, look_at=forget_at)


def _failure(answer: Answered) -> str:
    if "PaymentDeclined" in answer.events:
        return "payment declined"
    if answer.error == "InsufficientStock":
        return f"out of stock: {answer.step.removeprefix('reserve:')}"
    return f"{answer.step} refused: {answer.error}"


def _enter(
    saga: Saga,
    phase: Phase,
    pending: tuple[str, ...],
    now: datetime,
    timing: Timing,
    timed: bool = False,
) -> Saga:
    t = now.timestamp()
    return replace(
        saga,
        phase=phase,
        pending=pending,
        since=now,
        deadline=t + timing.step_seconds if timed else 0.0,
        resends=0,
        look_at=t + timing.redrive_seconds if pending else 0.0,
    )


def _compensate(saga: Saga, reason: str, now: datetime, timing: Timing) -> Saga:
    """Undo everything that may have happened: releases and voids of nothing change nothing."""
    undo = [f"release:{line.sku}" for line in saga.lines]
    if "authorize" in (*saga.steps, *saga.pending) or saga.phase is Phase.AUTHORIZING:
        undo.append("void")
    compensating = _enter(saga, Phase.COMPENSATING, (*undo, "cancel"), now, timing)
    return replace(compensating, reason=reason)


def _compensating(
    saga: Saga, reason: str, now: datetime, timing: Timing
) -> tuple[Saga, list[Send]]:
    after = _compensate(saga, reason, now, timing)
    return after, commands_for(after)


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
        case "dispatch":
            command = ShipStock(sku, order_id, at)
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
