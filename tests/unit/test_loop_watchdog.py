"""The loop watchdog reports a stalled loop with the stack it is stuck in, repeats while the
stall lasts, and says when the loop moves again."""

from __future__ import annotations

import logging
import threading

import pytest

from command_processor.watchdog import LoopWatchdog, report_due, thread_stack


@pytest.mark.parametrize(
    ("now", "last_beat", "last_report", "due"),
    [
        (59.0, 0.0, None, False),  # not stalled long enough
        (60.0, 0.0, None, True),  # first report
        (90.0, 0.0, 60.0, False),  # reported half a period ago
        (120.0, 0.0, 60.0, True),  # still stalled a period later: again
        (200.0, 130.0, 60.0, True),  # a new stall after the reported one ended
        (150.0, 130.0, 60.0, False),  # the loop moved since; not stalled long enough
    ],
)
def test_when_a_stall_is_reported(
    now: float, last_beat: float, last_report: float | None, due: bool
) -> None:
    assert report_due(now, last_beat, last_report, after=60.0) is due


def _stuck_in_here(entered: threading.Event, release: threading.Event) -> None:
    entered.set()
    release.wait(10)


def test_thread_stack_names_the_call_a_thread_is_in() -> None:
    entered, release = threading.Event(), threading.Event()
    thread = threading.Thread(target=_stuck_in_here, args=(entered, release))
    thread.start()
    entered.wait(5)
    try:
        assert thread.ident is not None
        assert "_stuck_in_here" in thread_stack(thread.ident)
    finally:
        release.set()
        thread.join()


def test_a_stalled_loop_is_logged_with_its_stack(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    watchdog = LoopWatchdog(after=60.0, clock=lambda: now[0])
    watchdog._watched = threading.get_ident()  # this thread plays the loop (check() by hand)
    caplog.set_level(logging.WARNING, "command_processor.watchdog")

    now[0] = 30.0
    watchdog.check()
    assert not caplog.records
    now[0] = 61.0
    watchdog.check()
    assert len(caplog.records) == 1
    assert "not come round for 61 s" in caplog.records[0].getMessage()
    assert "test_a_stalled_loop_is_logged_with_its_stack" in caplog.records[0].getMessage()
    now[0] = 80.0
    watchdog.check()
    assert len(caplog.records) == 1  # not again within the period
    watchdog.beat()
    now[0] = 81.0
    watchdog.check()
    assert caplog.records[-1].getMessage() == "the command loop is moving again"
