"""The fulfillment saga's pure reactions: phases, compensation, duplicates, deadlines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from contexts.sales.fulfillment.messages import Answered, CardGiven, Line, OrderWasPlaced, Tick
from contexts.sales.fulfillment.saga import Phase, Saga, react

NOW = datetime(2026, 1, 1, tzinfo=UTC)
PLACED = OrderWasPlaced("o-1", (Line("A", 2), Line("B", 1)), 1500, NOW)


def run(*messages: object, now: datetime = NOW) -> tuple[Saga, list[str]]:
    saga: Saga | None = None
    steps: list[str] = []
    for message in messages:
        saga, sends = react(saga, message, now, 10)  # type: ignore[arg-type]
        steps += [send.step for send in sends]
    assert saga is not None
    return saga, steps


def ok(step: str, *events: str) -> Answered:
    return Answered("o-1", step, True, events)


def test_the_happy_path_runs_every_phase_in_order() -> None:
    saga, steps = run(
        CardGiven("o-1", "tok_visa"),
        PLACED,
        ok("reserve:A", "StockReserved"),
        ok("reserve:B", "StockReserved"),
        ok("authorize", "PaymentAuthorized"),
        ok("confirm", "OrderConfirmed"),
        ok("ship", "OrderShipped"),
    )
    assert saga.phase is Phase.DONE
    assert steps == ["reserve:A", "reserve:B", "authorize", "confirm", "ship"]


def test_out_of_stock_releases_everything_and_cancels() -> None:
    refused = Answered("o-1", "reserve:B", False, (), "InsufficientStock")
    saga, steps = run(CardGiven("o-1", "t"), PLACED, ok("reserve:A", "StockReserved"), refused)
    assert saga.phase is Phase.COMPENSATING
    assert saga.reason == "out of stock: B"
    assert steps[-3:] == ["release:A", "release:B", "cancel"]


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
    again, sends = react(saga, ok("reserve:A"), NOW, 10)
    assert (again, sends) == (saga, [])
    again, sends = react(saga, PLACED, NOW, 10)
    assert (again, sends) == (saga, [])


def test_a_tick_redrives_before_the_deadline_and_compensates_after() -> None:
    saga, _ = run(CardGiven("o-1", "t"), PLACED)
    same, sends = react(saga, Tick("o-1"), NOW + timedelta(seconds=5), 10)
    assert same == saga and [s.step for s in sends] == ["reserve:A", "reserve:B"]
    assert [s.key for s in sends] == ["saga:o-1:reserve:A", "saga:o-1:reserve:B"]
    late, sends = react(saga, Tick("o-1"), NOW + timedelta(seconds=11), 10)
    assert late.reason == "timed out while reserving"
    assert [s.step for s in sends] == ["release:A", "release:B", "cancel"]


def test_the_confirmation_has_no_deadline_it_is_redriven_until_answered() -> None:
    saga, _ = run(CardGiven("o-1", "t"), PLACED, ok("reserve:A"), ok("reserve:B"), ok("authorize"))
    assert saga.phase is Phase.CONFIRMING
    much_later = NOW + timedelta(hours=1)
    same, sends = react(saga, Tick("o-1"), much_later, 10)
    assert same == saga and [s.step for s in sends] == ["confirm"]  # the same ConfirmOrder
    refused, sends = react(saga, Answered("o-1", "confirm", False, (), "OrderCancelled"), NOW, 10)
    assert refused.phase is Phase.COMPENSATING  # a refusal still compensates
