"""What the processor's loop and its transactions share: an aggregate type's topics, and a
partition this process owns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from command_processor.aggregate_store import AggregateStore
from command_processor.deciding import PartitionTarget
from command_processor.outcomes import OutcomeIndex
from eventstore.aggregate import AggregateType


@dataclass(frozen=True, slots=True)
class Topology:
    """The namespaced topics of one aggregate type."""

    aggregate: AggregateType[Any]
    commands: str
    events: str
    state: str
    outcomes: str


@dataclass(slots=True)
class OwnedPartition:
    """A command partition this process writes: where its outcomes go, its hosted aggregates
    and its committed idempotency outcomes."""

    target: PartitionTarget
    hosted: AggregateStore
    outcomes: OutcomeIndex
