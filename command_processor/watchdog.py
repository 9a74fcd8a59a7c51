"""Says so in the log when the processor's loop stops coming round, with the stack it is stuck
in, so a hang is diagnosable from the log alone.

The loop calls `beat()` once per round (a float store: free on the hot path). A daemon thread
looks every quarter of `after`; once the loop has not come round for `after` seconds it logs
the loop thread's stack, again every `after` seconds while the stall lasts, and once more when
the loop moves again. It only reports: every wait of the loop is bounded on its own.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
import traceback
from collections.abc import Callable

log = logging.getLogger(__name__)


def report_due(now: float, last_beat: float, last_report: float | None, after: float) -> bool:
    """A stall is reported once it lasts `after` seconds, then every `after` seconds."""
    if now - last_beat < after:
        return False
    return last_report is None or last_report < last_beat or now - last_report >= after


def thread_stack(thread_id: int) -> str:
    """The thread's current Python stack, innermost call last ('' if it has ended)."""
    frame = sys._current_frames().get(thread_id)
    return "".join(traceback.format_stack(frame)) if frame is not None else ""


class LoopWatchdog:
    """Watches the thread that calls `start()` (the loop's own thread)."""

    def __init__(self, after: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._after = after
        self._clock = clock
        self._last_beat = clock()
        self._last_report: float | None = None
        self._stopped = threading.Event()
        self._watched = 0
        self._thread: threading.Thread | None = None

    def beat(self) -> None:
        self._last_beat = self._clock()

    def start(self) -> None:
        self._watched = threading.get_ident()
        self.beat()
        self._thread = threading.Thread(target=self._watch, name="loop-watchdog", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def check(self) -> None:
        """One look: log a due report, or that a reported stall has ended."""
        now, last_beat = self._clock(), self._last_beat
        if report_due(now, last_beat, self._last_report, self._after):
            self._last_report = now
            log.error(
                "the command loop has not come round for %.0f s; it is here:\n%s",
                now - last_beat,
                thread_stack(self._watched),
            )
        elif self._last_report is not None and self._last_report < last_beat:
            log.warning("the command loop is moving again")
            self._last_report = None

    def _watch(self) -> None:
        while not self._stopped.wait(self._after / 4):
            self.check()
