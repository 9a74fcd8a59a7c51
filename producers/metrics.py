"""Prometheus metrics of the command path as the API sees it: outcomes, latency, admission."""

from __future__ import annotations

from functools import cache

from prometheus_client import Counter, Gauge, Histogram

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
BACKLOG_MESSAGES = Gauge(
    "skald_backlog_messages", "Messages queued in Skald's own groups (commands, sagas)"
)
BACKLOG_SECONDS = Gauge(
    "skald_backlog_seconds",
    "Seconds the slowest of Skald's groups takes to drain its queue at its recent rate",
)
ADMISSION_REFUSED = Counter(
    "skald_admission_refused_total", "Requests refused at the door (503) over capacity", ["route"]
)


# The labelled children, looked up once: `labels()` validates and locks on every call, and
# the API counts every command (the same child object either way; none is ever removed).
@cache
def command_outcomes(aggregate: str, status: str) -> Counter:
    """`COMMANDS` for one aggregate type and HTTP status."""
    return COMMANDS.labels(aggregate, status)


@cache
def command_seconds(aggregate: str) -> Histogram:
    """`COMMAND_SECONDS` for one aggregate type."""
    return COMMAND_SECONDS.labels(aggregate)
