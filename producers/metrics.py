"""Prometheus metrics of the command path as the API sees it: outcomes and latency."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

COMMANDS = Counter(
    "skald_commands_total",
    "Commands answered, by aggregate type and HTTP status",
    ["aggregate", "status"],
)
COMMAND_SECONDS = Histogram(
    "skald_command_seconds",
    "Time from producing a command to its reply (or timeout)",
    ["aggregate"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
