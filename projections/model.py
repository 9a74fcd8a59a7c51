"""What a projection declares: its topics, its read model and a handler per event type."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import Connection, MetaData

from eventstore.envelope import Envelope
from eventstore.position import Position


@dataclass(frozen=True, slots=True)
class ProjectedEvent:
    """A decoded event with its envelope and its place in the log."""

    event: object
    envelope: Envelope
    position: Position


PartitionKey = tuple[str, int]  # (topic, partition)


class Sink(Protocol):
    """A read-model store that applies batches and keeps the offsets it has applied up to."""

    projection_name: str

    def setup(self) -> None:
        """Create the read model and checkpoint storage if missing (idempotent)."""

    def stored_offsets(self, partitions: list[PartitionKey]) -> dict[PartitionKey, int]:
        """The next offset to read per partition; partitions never checkpointed are absent."""

    def apply(self, batch: list[ProjectedEvent], next_offsets: dict[PartitionKey, int]) -> None:
        """Apply the batch and move the checkpoints to `next_offsets`, all or nothing."""

    def handled_types(self) -> set[type]:
        """Event classes this sink has a handler for; others are skipped undecoded."""


PostgresHandler = Callable[[Connection, Any, Envelope], None]


@dataclass(frozen=True, slots=True)
class PostgresProjection:
    """A read model in PostgreSQL: tables plus a handler per event class."""

    name: str
    topics: tuple[str, ...]
    metadata: MetaData
    handlers: Mapping[type, PostgresHandler]


@dataclass(frozen=True, slots=True)
class IndexDocument:
    """A document write; `version` is external, so an older write never wins."""

    doc_id: str
    version: int
    source: dict[str, Any]


OpenSearchHandler = Callable[[Any, Envelope], list[IndexDocument]]


@dataclass(frozen=True, slots=True)
class OpenSearchProjection:
    """A read model in OpenSearch: an index (behind an alias) plus handlers."""

    name: str
    topics: tuple[str, ...]
    index: str
    mappings: dict[str, Any]
    handlers: Mapping[type, OpenSearchHandler]
    settings: dict[str, Any] = field(default_factory=dict)
