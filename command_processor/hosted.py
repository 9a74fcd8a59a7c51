"""An aggregate as the processor hosts it in memory: its state and version (a snapshot's content).

A partition's hosted aggregates are kept in an `AggregateStore` (`aggregate_store.py`);
idempotency outcomes are kept per partition, not per aggregate: see `outcomes.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

S = TypeVar("S")


@dataclass(slots=True)
class HostedAggregate(Generic[S]):
    """One aggregate as the processor holds it between commands."""

    state: S
    version: int = 0

    def copy(self) -> HostedAggregate[S]:
        """A copy that a failed transaction can throw away (state itself is immutable)."""
        return HostedAggregate(self.state, self.version)
