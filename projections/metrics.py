"""Prometheus metrics of every projector in the process, labelled by projection."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

EVENTS_APPLIED = Counter(
    "skald_projection_events_applied_total", "Events applied to a read model", ["projection"]
)
BATCH_SECONDS = Histogram(
    "skald_projection_batch_seconds",
    "Time to decode and apply one batch, retries included",
    ["projection"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
LAG = Gauge(
    "skald_projection_lag_events",
    "Events between a partition's checkpoint and its high watermark",
    ["projection", "topic", "partition"],
)
DEAD_LETTERS = Counter(
    "skald_projection_dead_letters_total", "Events sent to the dead-letter topic", ["projection"]
)
ERRORS = Counter(
    "skald_projection_errors_total",
    "Failed batch attempts, by kind (transient: retried; permanent: isolated)",
    ["projection", "kind"],
)
