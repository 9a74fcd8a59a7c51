"""Prometheus metrics of the fulfillment saga worker."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

TRANSITIONS = Counter(
    "skald_saga_transitions_total",
    "Sagas entering a phase (done and cancelled are final)",
    ["phase"],
)
BATCH_MESSAGES = Histogram(
    "skald_saga_batch_messages",
    "Messages per saga batch (one producer flush each)",
    buckets=(1, 2, 5, 10, 25, 50, 100, 250, 500),
)
