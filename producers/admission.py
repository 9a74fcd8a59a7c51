"""Backpressure at the front door: refuse long work while the backlog can't drain in time."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Any

from fastapi import HTTPException

from producers.backlog import Backlog, BacklogMonitor
from producers.errors import Problem, retry_after_header
from producers.metrics import ADMISSION_REFUSED

log = logging.getLogger(__name__)
LOG_EVERY_SECONDS = 10.0  # a refusing door logs where the work waits, not every refusal
MAX_RETRY_AFTER = 60  # seconds: past this a client should rather hear again soon

# A route's OpenAPI entry for the refusal (merge into its `responses`).
ADMISSION_RESPONSES: dict[int | str, dict[str, Any]] = {
    503: {
        "model": Problem,
        "description": "Kafka did not accept the command, or Skald is at capacity: "
        "retry after the Retry-After header's seconds",
        "headers": retry_after_header(MAX_RETRY_AFTER),
    }
}


class Admission:
    """Refuses while at least `min_messages` are queued and they take over `max_seconds` to
    drain; admits with no monitor, a stale backlog or a rate not yet measured (fail open)."""

    def __init__(
        self, monitor: BacklogMonitor | None, max_seconds: float, min_messages: int
    ) -> None:
        self.monitor = monitor
        self.max_seconds = max_seconds
        self.min_messages = min_messages

    def verdict(self) -> float | None:
        """None to admit; else the Retry-After, whole seconds in 1..60."""
        refusal = self._refusal()
        return refusal[1] if refusal else None

    def _refusal(self) -> tuple[Backlog, float] | None:
        if self.monitor is None:
            return None
        backlog = self.monitor.snapshot()
        if backlog.stale or backlog.messages < self.min_messages:
            return None
        seconds = backlog.seconds_to_drain
        if seconds <= self.max_seconds:
            return None
        return backlog, self._retry_after(backlog, seconds)

    def _retry_after(self, backlog: Backlog, seconds: float) -> float:
        """Roughly when the backlog is back under the limit at the current rate."""
        if backlog.drain_rate <= 0:
            return float(MAX_RETRY_AFTER)
        under_time = seconds - self.max_seconds
        under_count = (backlog.messages - self.min_messages) / backlog.drain_rate
        wait = math.ceil(min(under_time, under_count))
        return float(min(MAX_RETRY_AFTER, max(1, wait)))


def admission_gate(admission: Admission, route_name: str) -> Callable[[], None]:
    """A FastAPI dependency: 503 with Retry-After while `admission` refuses."""

    logged = [-math.inf]
    logging_lock = threading.Lock()  # requests run in a thread pool: one of them logs

    def gate() -> None:
        refusal = admission._refusal()
        if refusal is None:
            return
        backlog, retry_after = refusal
        ADMISSION_REFUSED.labels(route_name).inc()
        with logging_lock:
            due = time.monotonic() - logged[0] >= LOG_EVERY_SECONDS
            if due:
                logged[0] = time.monotonic()
        if due:
            waiting = sorted(backlog.partitions, key=lambda p: -p.lag)[:3]
            log.warning(
                "refusing %s: %d messages queued, draining %.1f/s; most behind: %s",
                route_name,
                backlog.messages,
                backlog.drain_rate,
                ", ".join(
                    f"{p.group} {p.topic}[{p.partition}] {p.committed}/{p.end}" for p in waiting
                ),
            )
        seconds = backlog.seconds_to_drain
        queued = (
            f"about {seconds:.0f} s of work queued"
            if math.isfinite(seconds)
            else f"{backlog.messages} messages queued and none drained lately"
        )
        limit = f"{admission.max_seconds:g}"
        busiest = backlog.busiest_topic()
        where = f", most on {busiest}" if busiest else ""
        raise HTTPException(
            503,
            detail=f"Skald is at capacity: {queued}{where} (limit {limit} s); "
            f"retry after {retry_after:.0f} s",
            headers={"Retry-After": f"{retry_after:.0f}"},
        )

    return gate
