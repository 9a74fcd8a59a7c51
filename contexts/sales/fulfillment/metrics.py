"""Prometheus metrics of the fulfillment saga worker."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

TRANSITIONS = Counter(
    "skald_saga_transitions_total",
    "Sagas entering a phase (done and cancelled are final)",
    ["phase"],
)
BATCH_MESSAGES = Histogram(
    "skald_saga_batch_messages",
    "Messages per saga batch (one durable write of the states each)",
    buckets=(1, 2, 5, 10, 25, 50, 100, 250, 500),
)
COMMANDS = Counter(
    "skald_saga_commands_total",
    "Commands the saga sent: a step's first send, or a re-send of a missing answer",
    ["send"],
)
DUE = Gauge(
    "skald_saga_due",
    "Sagas of this worker the watchdog keeps an eye on (live, or final until forgotten)",
)
TICKS = Counter("skald_saga_ticks_total", "Sagas the watchdog found due and looked at")
REFUSED_MOVES = Counter(
    "skald_saga_refused_moves_total",
    "State changes refused because they would move a saga back (restored state out of order)",
)
FORGOTTEN = Counter(
    "skald_saga_forgotten_total", "Final sagas deleted from the table after their retention"
)
TOO_OLD = Counter(
    "skald_saga_too_old_total",
    "Messages about an unknown saga older than the retention, ignored (it may have been forgotten)",
)
