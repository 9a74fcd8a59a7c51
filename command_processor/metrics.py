"""Prometheus metrics of the command processor: what it decided and how its transactions went."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

COMMANDS = Counter(
    "skald_processor_commands_total",
    "Commands decided, by aggregate type and outcome (replayed duplicates included)",
    ["aggregate", "outcome"],
)
UNREADABLE = Counter(
    "skald_processor_unreadable_total",
    "Command records that could not be read (refused when they name a reply topic, else skipped)",
    ["aggregate"],
)
EVENTS = Counter(
    "skald_processor_events_total", "Events appended, by aggregate type", ["aggregate"]
)
TRANSACTIONS = Counter(
    "skald_processor_transactions_total",
    "Partition batches, by result: committed, aborted (retried) or fenced (partition lost)",
    ["aggregate", "result"],
)
BATCH_SECONDS = Histogram(
    "skald_processor_batch_seconds",
    "One partition batch: decide, append, reply, commit",
    ["aggregate"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
