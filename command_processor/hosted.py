"""An aggregate as the processor hosts it in memory: state, version and remembered outcomes."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from producers.messages import Reply

S = TypeVar("S")

# Outcomes remembered per aggregate for idempotent retries; the oldest are forgotten first.
REMEMBERED_OUTCOMES = 256


@dataclass(frozen=True, slots=True)
class StoredOutcome:
    """The first reply to an idempotency key, and the request it answered."""

    fingerprint: str
    reply: Reply


@dataclass(slots=True)
class HostedAggregate(Generic[S]):
    """One aggregate as the processor holds it between commands (a snapshot's content)."""

    state: S
    version: int = 0
    outcomes: OrderedDict[str, StoredOutcome] = field(default_factory=OrderedDict)

    def remember(self, key: str, fingerprint: str, reply: Reply) -> None:
        """Keep the outcome for `key`, forgetting the oldest beyond the bound."""
        self.outcomes[key] = StoredOutcome(fingerprint, reply)
        while len(self.outcomes) > REMEMBERED_OUTCOMES:
            self.outcomes.popitem(last=False)

    def copy(self) -> HostedAggregate[S]:
        """A copy that a failed transaction can throw away (state itself is immutable)."""
        return HostedAggregate(self.state, self.version, OrderedDict(self.outcomes))

    def outcomes_json(self) -> list[dict[str, Any]]:
        return [
            {"key": key, "fingerprint": stored.fingerprint, "reply": stored.reply.to_json()}
            for key, stored in self.outcomes.items()
        ]

    @staticmethod
    def outcomes_from_json(items: list[dict[str, Any]]) -> OrderedDict[str, StoredOutcome]:
        return OrderedDict(
            (item["key"], StoredOutcome(item["fingerprint"], Reply.from_json(item["reply"])))
            for item in items
        )


# The hosted aggregates of one partition, by aggregate id.
HostedAggregates = dict[str, HostedAggregate[Any]]
