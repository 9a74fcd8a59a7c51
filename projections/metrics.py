"""Prometheus metrics of every projector in the process, labelled by projection.

Worker processes (`skald project --workers`) keep theirs in files for their supervisor to
serve (`worker_metrics.py`): counters and histograms are summed over the workers, and each
partition's lag is its owner's, the newest value written (`livemostrecent`; a dead worker's
values go with its file).
"""

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
    # Across worker processes a partition's newest value wins: the one who owns it now.
    multiprocess_mode="livemostrecent",
)
DEAD_LETTERS = Counter(
    "skald_projection_dead_letters_total", "Events sent to the dead-letter topic", ["projection"]
)
ERRORS = Counter(
    "skald_projection_errors_total",
    "Failed batch attempts, by kind (transient: retried; permanent: isolated)",
    ["projection", "kind"],
)
# The families above, by the name a collector reports them under.
FAMILIES = frozenset(
    family.name
    for metric in (EVENTS_APPLIED, BATCH_SECONDS, LAG, DEAD_LETTERS, ERRORS)
    for family in metric.describe()
)


def forget_lag(projection: str, topic: str, partition: int, gauge: Gauge = LAG) -> None:
    """Stop reporting a partition's lag: it moved to another consumer.

    In one process its series goes. A worker process keeps its values in a file, and nothing
    can be removed from it (prometheus_client's multiprocess mode): the value is written
    again with time 0, which `livemostrecent` never picks. The series is then the new
    owner's, or absent until the new owner reports it, as in one process.
    """
    labels = (projection, topic, str(partition))
    value = gauge.labels(*labels)._value  # no public way to write a gauge's timestamp
    if getattr(value, "_multiprocess", False):
        value.set(0.0, timestamp=0.0)
    else:
        gauge.remove(*labels)
