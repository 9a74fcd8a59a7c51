"""The watchdog's schedule: a look costs what is due, and a rebalance starts it afresh."""

from __future__ import annotations

from contexts.sales.fulfillment.worker import Schedule


def test_only_due_sagas_come_out_each_once_until_set_again() -> None:
    schedule = Schedule()
    for n in range(10_000):
        schedule.set(f"o-{n}".encode(), 1_000.0 + n)  # live sagas, mostly far from due
    assert schedule.due(999.0, limit=100) == []
    assert schedule.due(1_002.0, limit=100) == [b"o-0", b"o-1", b"o-2"]
    assert schedule.due(1_002.0, limit=100) == []  # popped: each is ticked once
    schedule.set(b"o-1", 1_005.0)  # its tick moved it on
    assert set(schedule.due(1_005.0, limit=100)) == {b"o-3", b"o-4", b"o-5", b"o-1"}
    assert schedule.due(10_999.0, limit=3) == [b"o-6", b"o-7", b"o-8"]  # bounded per look


def test_a_moved_or_finished_saga_is_not_ticked_for_its_old_time() -> None:
    schedule = Schedule()
    schedule.set(b"a", 10.0)
    schedule.set(b"a", 50.0)  # re-scheduled later
    schedule.set(b"b", 10.0)
    schedule.set(b"b", 0.0)  # final: forgotten
    assert schedule.due(20.0, limit=10) == []
    assert schedule.due(50.0, limit=10) == [b"a"]
    assert len(schedule) == 0


def test_a_new_assignment_asks_for_a_rebuild_once() -> None:
    schedule = Schedule()
    assert schedule.rebuild_needed(frozenset({1, 2}))
    schedule.set(b"a", 1.0)
    assert not schedule.rebuild_needed(frozenset({1, 2}))
    assert len(schedule) == 1
    assert schedule.rebuild_needed(frozenset({2}))
    assert len(schedule) == 0  # forgotten: rebuilt from the table by the caller
