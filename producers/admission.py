"""Backpressure at the front door: refuse long work while the backlog can't drain in time."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Any

from fastapi import HTTPException

from producers.backlog import RATE_SAMPLES, Backlog, BacklogMonitor
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
    """Refuses work that would take over `max_seconds` to finish behind the queued messages
    (never while fewer than `min_messages` are queued); admits with no monitor or a stale
    backlog (fail open); with work queued and no rate measured yet (the API just started),
    refuses until it is, a few seconds.

    Work that passes Skald's queues `hops` times, one after another (a saga: a command
    through the processor, its reply through the worker, the next command...), waits behind
    the queue at every hop: it finishes in about `hops` times the time the queues take to
    drain, and that is what is held under `max_seconds`.
    """

    def __init__(
        self, monitor: BacklogMonitor | None, max_seconds: float, min_messages: int
    ) -> None:
        self.monitor = monitor
        self.max_seconds = max_seconds
        self.min_messages = min_messages

    def verdict(self, hops: int = 1) -> float | None:
        """None to admit; else the Retry-After, whole seconds in 1..60."""
        refusal = self._refusal(hops)
        return refusal[1] if refusal else None

    def _refusal(self, hops: int) -> tuple[Backlog, float] | None:
        if self.monitor is None:
            return None
        backlog = self.monitor.snapshot()
        if backlog.stale or backlog.messages < self.min_messages:
            return None
        if not backlog.rate_known:  # just started, work queued: back once the rate is known
            return backlog, float(RATE_SAMPLES)
        per_hop = backlog.seconds_to_drain
        if hops * per_hop <= self.max_seconds:
            return None
        return backlog, self._retry_after(backlog, per_hop, self.max_seconds / hops)

    def _retry_after(self, backlog: Backlog, per_hop: float, allowed: float) -> float:
        """Roughly when the queues are back under `allowed` seconds a hop, as they drain."""
        if backlog.drain_rate <= 0 or not math.isfinite(per_hop):
            return float(MAX_RETRY_AFTER)
        under_time = per_hop - allowed
        under_count = (backlog.messages - self.min_messages) / backlog.drain_rate
        wait = math.ceil(min(under_time, under_count))
        return float(min(MAX_RETRY_AFTER, max(1, wait)))


def admission_gate(admission: Admission, route_name: str, hops: int = 1) -> Callable[[], None]:
    """A FastAPI dependency: 503 with Retry-After while `admission` refuses work of `hops`."""

    logged = [-math.inf]
    logging_lock = threading.Lock()  # requests run in a thread pool: one of them logs

    def gate() -> None:
        refusal = admission._refusal(hops)
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
            lags = backlog.group_lags()
            log.warning(
                "refusing %s: %d messages queued (%s); most behind: %s",
                route_name,
                backlog.messages,
                ", ".join(
                    f"{group} {lag} at {backlog.group_rates.get(group, 0.0):.1f}/s"
                    for group, lag in sorted(lags.items())
                ),
                ", ".join(
                    f"{p.group} {p.topic}[{p.partition}] {p.committed}/{p.end}" for p in waiting
                ),
            )
        seconds = hops * backlog.seconds_to_drain
        if not backlog.rate_known:
            queued = f"{backlog.messages} messages queued, drain rate not measured yet"
        elif math.isfinite(seconds):
            queued = f"new work would wait about {seconds:.0f} s in its queues"
        else:
            queued = f"{backlog.messages} messages queued and none drained lately"
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
