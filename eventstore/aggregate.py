"""An aggregate type: a pure decider plus the names and classes the runtime needs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from eventstore.topics import EVENT_TOPIC_CONFIG, TopicSpec

S = TypeVar("S")

# Snapshots keep only the newest state per aggregate: compaction bounds restore time.
STATE_TOPIC_CONFIG = {
    "cleanup.policy": "compact",
    "min.compaction.lag.ms": "0",
    "segment.ms": "3600000",
}
COMMAND_TOPIC_CONFIG = {"cleanup.policy": "delete", "retention.ms": str(7 * 24 * 3600 * 1000)}
DEFAULT_OUTCOME_RETENTION_MS = 24 * 3600 * 1000


def outcomes_topic_config(retention_ms: int) -> dict[str, str]:
    """Idempotency outcomes live for the retention; restore reads at most one segment more."""
    return {
        "cleanup.policy": "compact,delete",  # one record per key, and none past the retention
        "retention.ms": str(retention_ms),
        # Deletion drops whole segments: rolling every 1/24 of the retention keeps what a
        # restore reads within 25/24 of it.
        "segment.ms": str(max(retention_ms // 24, 60_000)),
        "min.compaction.lag.ms": "0",
    }


@dataclass(frozen=True, slots=True)
class AggregateType(Generic[S]):
    """Everything the command processor needs to host one kind of aggregate.

    A command the decider refuses raises a subclass of `domain_error`; the processor answers
    it as a rejection naming that class, and the edge (HTTP) decides what a caller sees.
    Topics are `<context>.<name>.{commands,events,state,outcomes}`, co-partitioned so one
    partition's commands, events, snapshots and idempotency outcomes live together.
    """

    context: str
    name: str
    initial: S
    evolve: Callable[[S, Any], S]
    decide: Callable[[S, Any], list[Any]]
    state_class: type[S]
    event_classes: tuple[type, ...]
    command_classes: tuple[type, ...]
    aggregate_id: Callable[[Any], str]
    domain_error: type[Exception] = Exception

    @property
    def events_topic(self) -> str:
        return f"{self.context}.{self.name}.events"

    @property
    def commands_topic(self) -> str:
        return f"{self.context}.{self.name}.commands"

    @property
    def state_topic(self) -> str:
        return f"{self.context}.{self.name}.state"

    @property
    def outcomes_topic(self) -> str:
        return f"{self.context}.{self.name}.outcomes"

    def topics(
        self, outcome_retention_ms: int = DEFAULT_OUTCOME_RETENTION_MS
    ) -> tuple[TopicSpec, ...]:
        """The four co-partitioned topics of this aggregate type."""
        return (
            TopicSpec(self.events_topic, dict(EVENT_TOPIC_CONFIG), events=True),
            TopicSpec(self.commands_topic, dict(COMMAND_TOPIC_CONFIG)),
            TopicSpec(self.state_topic, dict(STATE_TOPIC_CONFIG)),
            TopicSpec(self.outcomes_topic, outcomes_topic_config(outcome_retention_ms)),
        )
