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
    "Transactions touching an aggregate type, by result: committed, aborted (input rewound "
    "and retried) or reset (a fatal error replaced the producer; state restored)",
    ["aggregate", "result"],
)
BATCH_SECONDS = Histogram(
    "skald_processor_batch_seconds",
    "One transaction: decide, append, reply, commit",
    ["aggregate"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
BATCH_COMMANDS = Histogram(
    "skald_processor_batch_commands",
    "Commands in one transaction (it grows with load: the next batch gathers during a commit)",
    buckets=(1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500),
)
