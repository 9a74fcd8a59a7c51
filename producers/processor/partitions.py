"""What the processor's loop and its batches share: an aggregate type's topics, and a
partition this process owns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eventstore.aggregate import AggregateType
from producers.processor.restore import Records
from producers.processor.writer import PartitionWriter


@dataclass(frozen=True, slots=True)
class Topology:
    """The namespaced topics of one aggregate type."""

    aggregate: AggregateType[Any]
    commands: str
    events: str
    state: str


@dataclass(slots=True)
class OwnedPartition:
    """A command partition this process writes, with its writer and restored records."""

    aggregate: AggregateType[Any]
    partition: int
    writer: PartitionWriter
    records: Records
