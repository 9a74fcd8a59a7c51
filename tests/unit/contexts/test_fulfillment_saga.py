"""The fulfillment saga's pure reactions: phases, compensation, duplicates, and timers that mean
a participant failed, never that Skald is busy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from contexts.sales.fulfillment.messages import Answered, CardGiven, Line, OrderWasPlaced, Tick
from contexts.sales.fulfillment.saga import (
    Phase,
    Saga,
    Timing,
    advances,
    backoff,
    expired,
    react,
    too_old,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)
PLACED = OrderWasPlaced("o-1", (Line("A", 2), Line("B", 1)), 1500, NOW)
TIMING = Timing(
    step_seconds=10, redrive_seconds=2, max_resends=3, max_backoff_seconds=8, retention_seconds=60
)
BUSY = Tick("o-1", stalled=False, caught_up=False)  # participants progressing, ours queued
STALLED = Tick("o-1", stalled=True, caught_up=False)  # queued for it, no progress
CAUGHT_UP = Tick("o-1", stalled=False, caught_up=True)  # it handled ours: the answer is missing


def run(*messages: object, now: datetime = NOW) -> tuple[Saga, list[str]]:
    saga: Saga | None = None
    steps: list[str] = []
    for message in messages:
        saga, sends = react(saga, message, now, TIMING)  # type: ignore[arg-type]
        steps += [send.step for send in sends]
    assert saga is not None
    return saga, steps


def at(seconds: float) -> datetime:
    return NOW + timedelta(seconds=seconds)


def ok(step: str, *events: str) -> Answered:
    return Answered("o-1", step, True, events)


def test_the_happy_path_runs_every_phase_in_order_and_ships_the_stock() -> None:
    reserving, steps = run(CardGiven("o-1", "tok_visa"), PLACED)
    assert reserving.phase is Phase.RESERVING  # stock and payment asked for at once
    assert steps == ["reserve:A", "reserve:B", "authorize"]
    saga, steps = run(
        CardGiven("o-1", "tok_visa"),
        PLACED,
        ok("reserve:A", "StockReserved"),
        ok("reserve:B", "StockReserved"),
        ok("authorize", "PaymentAuthorized"),
        ok("confirm", "OrderConfirmed"),
        ok("dispatch:B", "StockShipped"),
        ok("ship", "OrderShipped"),
        ok("dispatch:A", "StockShipped"),
    )
    assert saga.phase is Phase.DONE and saga.due == NOW.timestamp() + 60  # then forgotten
    assert steps == [
        "reserve:A",
        "reserve:B",
        "authorize",
        "confirm",
        "ship",
        "dispatch:A",
        "dispatch:B",
    ]


def test_a_free_order_needs_no_authorization() -> None:
    free = OrderWasPlaced("o-1", (Line("A", 1),), 0, NOW)
    saga, steps = run(CardGiven("o-1", "tok_on_file"), free, ok("reserve:A"))
    assert saga.phase is Phase.CONFIRMING and steps == ["reserve:A", "confirm"]
    saga, _ = run(
        CardGiven("o-1", "tok_on_file"),
        free,
        ok("reserve:A"),
        ok("confirm"),
        ok("ship"),
        ok("dispatch:A"),
    )
    assert saga.phase is Phase.DONE and "authorize" not in saga.steps


def test_out_of_stock_releases_everything_and_cancels() -> None:
    refused = Answered("o-1", "reserve:B", False, (), "InsufficientStock")
    saga, steps = run(CardGiven("o-1", "t"), PLACED, ok("reserve:A", "StockReserved"), refused)
    assert saga.phase is Phase.COMPENSATING
    assert saga.reason == "out of stock: B"
    # The authorization was asked for beside the stock: voided after it, on its key.
    assert steps[-4:] == ["release:A", "release:B", "void", "cancel"]


def test_a_card_that_comes_after_the_order_is_authorized_while_reserving() -> None:
    reserving, steps = run(PLACED, CardGiven("o-1", "t"))
    assert reserving.phase is Phase.RESERVING and steps == ["reserve:A", "reserve:B", "authorize"]
    saga, _ = run(PLACED, CardGiven("o-1", "t"), ok("authorize"), ok("reserve:A"), ok("reserve:B"))
    assert saga.phase is Phase.CONFIRMING and saga.steps[-1] == "reserve:B"


def test_stock_reserved_before_the_card_comes_waits_for_it_in_authorizing() -> None:
    waiting, steps = run(PLACED, ok("reserve:A"), ok("reserve:B"))
    assert (waiting.phase, waiting.pending, steps) == (Phase.AUTHORIZING, (), steps)
    saga, steps = run(PLACED, ok("reserve:A"), ok("reserve:B"), CardGiven("o-1", "t"))
    assert saga.phase is Phase.AUTHORIZING and steps[-1] == "authorize"
    saga, _ = run(PLACED, ok("reserve:A"), ok("reserve:B"), CardGiven("o-1", "t"), ok("authorize"))
    assert saga.phase is Phase.CONFIRMING


def test_a_decline_while_reserving_releases_the_stock_and_cancels() -> None:
    saga, steps = run(CardGiven("o-1", "t"), PLACED, ok("authorize", "PaymentDeclined"))
    assert (saga.phase, saga.reason) == (Phase.COMPENSATING, "payment declined")
    assert steps[-4:] == ["release:A", "release:B", "void", "cancel"]


def test_a_decline_voids_nothing_new_but_releases_and_cancels() -> None:
    saga, _ = run(
        CardGiven("o-1", "tok_declined"),
        PLACED,
        ok("reserve:A"),
        ok("reserve:B"),
        ok("authorize", "PaymentDeclined"),
        ok("release:A"),
        ok("release:B"),
        Answered("o-1", "void", False, (), "PaymentNotAuthorized"),
        ok("cancel", "OrderCancelled"),
    )
    assert (saga.phase, saga.reason) == (Phase.CANCELLED, "payment declined")
    assert saga.compensations == ("release:A", "release:B", "void", "cancel")


def test_duplicates_and_stale_answers_change_nothing() -> None:
    saga, _ = run(CardGiven("o-1", "t"), PLACED, ok("reserve:A"))
    again, sends = react(saga, ok("reserve:A"), NOW, TIMING)
    assert (again, sends) == (saga, [])
    again, sends = react(saga, PLACED, NOW, TIMING)
    assert (again, sends) == (saga, [])


def test_a_busy_participant_moves_the_deadline_on_and_gets_nothing_resent() -> None:
    saga, _ = run(CardGiven("o-1", "t"), PLACED)
    for seconds in (11, 25, 60, 600):  # far past the step's 10 s: still just busy
        saga, sends = react(saga, BUSY, at(seconds), TIMING)
        assert saga.phase is Phase.RESERVING and sends == []
        assert saga.deadline == at(seconds).timestamp() + 10
    assert saga.resends == 0


def test_a_stalled_participant_fails_the_step_only_after_its_deadline() -> None:
    saga, _ = run(CardGiven("o-1", "t"), PLACED)
    early, sends = react(saga, STALLED, at(5), TIMING)
    assert early.phase is Phase.RESERVING and sends == []
    late, sends = react(saga, STALLED, at(11), TIMING)
    assert late.reason == "timed out while reserving and authorizing"
    assert [s.step for s in sends] == ["release:A", "release:B", "void", "cancel"]
    reserved, _ = run(CardGiven("o-1", "t"), PLACED, ok("reserve:A"), ok("reserve:B"))
    late, _ = react(reserved, STALLED, at(11), TIMING)
    assert late.reason == "timed out while authorizing"  # payments, not the stock


def test_a_missing_answer_is_resent_with_backoff_within_a_budget() -> None:
    saga, _ = run(CardGiven("o-1", "t"), PLACED)
    nothing, sends = react(saga, CAUGHT_UP, at(1), TIMING)  # not due yet
    assert sends == [] and nothing == saga
    first, sends = react(saga, CAUGHT_UP, at(2), TIMING)
    keys = ["saga:o-1:reserve:A", "saga:o-1:reserve:B", "saga:o-1:authorize"]
    assert [s.key for s in sends] == keys
    assert first.resends == 1 and first.look_at == at(2).timestamp() + backoff(TIMING, "o-1", 1)
    waits = [backoff(TIMING, "o-1", n) for n in range(1, 6)]
    assert all(1.5 <= w <= 2.5 for w in waits[:1]) and all(w <= 8 * 1.25 for w in waits)
    assert waits[2] > waits[0]  # it backs off
    saga, clock = first, 2.0
    for _ in range(2):
        clock = saga.look_at - NOW.timestamp() + 0.001
        saga, sends = react(saga, CAUGHT_UP, at(clock), TIMING)
        assert len(sends) == 3
    assert saga.resends == 3  # the budget
    clock = saga.look_at - NOW.timestamp() + 0.001
    saga, sends = react(saga, CAUGHT_UP, at(clock), TIMING)
    assert saga.reason == "no answer while reserving and authorizing"
    assert [s.step for s in sends] == ["release:A", "release:B", "void", "cancel"]


def test_the_confirmation_has_no_deadline_and_keeps_a_capped_backoff() -> None:
    saga, _ = run(CardGiven("o-1", "t"), PLACED, ok("reserve:A"), ok("reserve:B"), ok("authorize"))
    assert saga.phase is Phase.CONFIRMING and saga.deadline == 0
    much_later = at(3600)
    later, sends = react(saga, STALLED, much_later, TIMING)
    assert later.phase is Phase.CONFIRMING  # never compensated for time
    for _ in range(10):
        when = datetime.fromtimestamp(later.look_at + 0.001, UTC)
        later, sends = react(later, CAUGHT_UP, when, TIMING)
        assert [s.step for s in sends] == ["confirm"]
    assert later.phase is Phase.CONFIRMING and later.look_at - much_later.timestamp() < 10 * 10
    refused, sends = react(
        saga, Answered("o-1", "confirm", False, (), "OrderCancelled"), NOW, TIMING
    )
    assert refused.phase is Phase.COMPENSATING  # a refused confirmation still compensates


def test_a_saga_never_moves_back_or_out_of_the_pivot() -> None:
    shipping = Saga("o-1", Phase.SHIPPING)
    assert not advances(shipping, Saga("o-1", Phase.COMPENSATING))
    assert not advances(shipping, Saga("o-1", Phase.RESERVING))
    assert not advances(Saga("o-1", Phase.DONE), Saga("o-1", Phase.CANCELLED))
    assert not advances(Saga("o-1", Phase.COMPENSATING), Saga("o-1", Phase.CONFIRMING))
    assert advances(Saga("o-1", Phase.CONFIRMING), Saga("o-1", Phase.COMPENSATING))
    assert advances(None, Saga("o-1", Phase.RESERVING))
    refused = Answered("o-1", "ship", False, (), "OrderTransitionForbidden")
    saga, _ = run(
        CardGiven("o-1", "t"), PLACED, ok("reserve:A"), ok("reserve:B"), ok("authorize"),
        ok("confirm"), refused, ok("dispatch:A"), ok("dispatch:B"),
    )  # fmt: skip
    assert saga.phase is Phase.DONE and "ship" in saga.reason  # noted, nothing undone


def test_a_final_saga_is_remembered_for_its_retention_then_forgotten() -> None:
    refused = Answered("o-1", "reserve:A", False, (), "InsufficientStock")
    steps = ("release:A", "release:B", "cancel")
    cancelled, _ = run(PLACED, refused, *(ok(s) for s in steps), now=at(5))
    assert cancelled.phase is Phase.CANCELLED and cancelled.due == at(65).timestamp()
    assert not expired(cancelled, at(64)) and expired(cancelled, at(65))
    # While remembered, a late or duplicate message changes nothing and sends nothing.
    again, sends = react(cancelled, ok("reserve:B"), at(30), TIMING)
    assert again == cancelled and sends == []
    again, sends = react(cancelled, CAUGHT_UP, at(30), TIMING)
    assert again == cancelled and sends == []


def test_a_card_whose_order_never_came_is_forgotten_after_the_retention() -> None:
    waiting, sends = run(CardGiven("o-1", "t"), now=at(5))
    assert waiting.phase is Phase.WAITING and sends == [] and waiting.due == at(65).timestamp()
    assert not expired(waiting, at(64)) and expired(waiting, at(65))
    # The order came after all: the saga starts and lives on, whatever the clock.
    started, steps = run(CardGiven("o-1", "t"), PLACED)
    assert started.phase is Phase.RESERVING and steps == ["reserve:A", "reserve:B", "authorize"]
    assert not expired(started, at(10**6))


def test_a_live_saga_never_expires_however_old() -> None:
    saga, _ = run(CardGiven("o-1", "t"), PLACED, ok("reserve:A"), ok("reserve:B"))
    assert saga.phase is Phase.RESERVING and not expired(saga, at(10**6))  # authorize pending


def test_only_a_message_older_than_the_retention_is_too_old() -> None:
    assert too_old(NOW.timestamp() - 61, NOW, TIMING)
    assert not too_old(NOW.timestamp() - 59, NOW, TIMING)
    assert not too_old(0.0, NOW, TIMING)  # no timestamp: not known to be old
