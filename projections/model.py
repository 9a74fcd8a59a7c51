"""What a projection declares: its topics, its read model and how each event changes it."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import Connection, MetaData, Table

from eventstore.envelope import Envelope, RawHeaders
from eventstore.position import Position

Row = dict[str, Any]
PartitionKey = tuple[str, int]  # (topic, partition)


@dataclass(frozen=True, slots=True)
class RawRecord:
    """The bytes an event arrived as: what a dead letter keeps."""

    key: bytes | None
    value: bytes | None
    headers: RawHeaders


@dataclass(frozen=True, slots=True)
class ProjectedEvent:
    """A decoded event with its envelope and its place in the log."""

    event: object
    envelope: Envelope
    position: Position
    raw: RawRecord | None = None


@dataclass(frozen=True, slots=True)
class ProjectedState:
    """One record of an event-carried state topic: a key's newest value, not an event.

    `state` names the StateTable it belongs to (its logical topic); `value` is the decoded
    JSON object, None for a tombstone.
    """

    state: str
    key: str
    value: dict[str, Any] | None
    position: Position
    raw: RawRecord | None = None


Projected = ProjectedEvent | ProjectedState
"""What a sink applies: decoded events and state records, each with its place in the log."""


Evolve = Callable[[Row | None, Any, Envelope], Row | None]
"""Pure: the row (or document) after the event; None deletes it. Never mutate the input."""


@dataclass(frozen=True, slots=True)
class RowFold:
    """One row per aggregate, folded from its events.

    The table's single-column primary key is `key(event)`; rows carry the aggregate
    `version` of the last event folded in, and events at or below it are skipped, so a
    redelivered event is a no-op even without the checkpoint.
    """

    table: Table
    key: Callable[[Any], str]
    handlers: Mapping[type, Evolve]


Contribution = Callable[[Row], tuple[str, dict[str, int]] | None]


@dataclass(frozen=True, slots=True)
class Rollup:
    """Counters kept from another fold's rows: each row change adds `new - old` contribution.

    Works for any additive summary (counts, sums) and never needs the events themselves,
    so an event that doesn't carry the rollup key (a cancel has no customer id) still counts.
    """

    table: Table
    source: Table
    contribution: Contribution


@dataclass(frozen=True, slots=True)
class StateTable:
    """Keeps the newest value of every key of an event-carried state topic (a compacted topic
    or a Faust table changelog: key = UTF-8 text, value = a JSON object, None = tombstone) as
    one row per key."""

    table: Table  # schema-less SQLAlchemy table in the projection's metadata
    topic: str  # logical topic name (namespaced by the runtime like every projection topic)
    row: Callable[[str, dict[str, Any]], Row]  # key + decoded JSON value -> the row to upsert
    primary_key: Callable[[str], Row]  # key -> the primary-key columns (for tombstones: delete)


PostgresHandler = Callable[[Connection, Any, Envelope], None]


@dataclass(frozen=True, slots=True)
class BatchHandler:
    """Applies a batch's events of `types` at once, in log order: a few set-based statements
    per batch (a multi-row insert, one lookup for every key) where a plain handler runs its
    statements once per event. Idempotent like a handler: a batch may be applied again."""

    types: frozenset[type]
    apply: Callable[[Connection, Sequence[ProjectedEvent]], None]


@dataclass(frozen=True, slots=True)
class PostgresProjection:
    """A read model in PostgreSQL: tables, folds and rollups (batched), or handlers.

    `handlers` run one statement per event in log order inside the batch transaction:
    simple, but slow; `batch_handlers` get the batch's events of their types at once;
    `folds` read the batch's rows once, fold in memory and write each changed row once.
    `states` keep one row per key of state topics (which `topics` includes): per batch the
    newest record of each key is upserted, or deleted if a tombstone, in the same
    transaction as the checkpoint.

    `linger_ms` is the model's freshness budget: while events keep coming, its projector
    commits at most one batch per `linger_ms` (the first event after a quiet spell at once;
    None: `SKALD_PROJECTION_LINGER_MS`). A transaction costs about 1.5 ms of CPU across the
    projector and its store whatever its size, so a model whose readers accept staler data
    (a search index visible only at its refresh, a history) batches longer and leaves that
    CPU to the command path under load. A budget of 100 ms or more also lets the broker hold
    the projector's fetches that long to gather records (`kafka_config.fetch_within`): a few
    fetches a second whatever the load, and a first event after a quiet spell may wait for it.
    """

    name: str
    topics: tuple[str, ...]
    metadata: MetaData
    handlers: Mapping[type, PostgresHandler] = field(default_factory=dict)
    batch_handlers: tuple[BatchHandler, ...] = ()
    folds: tuple[RowFold, ...] = ()
    rollups: tuple[Rollup, ...] = ()
    states: tuple[StateTable, ...] = ()
    linger_ms: int | None = None

    def handled_types(self) -> set[type]:
        batched = {cls for handler in self.batch_handlers for cls in handler.types}
        return set(self.handlers) | batched | {cls for f in self.folds for cls in f.handlers}


@dataclass(frozen=True, slots=True)
class OpenSearchProjection:
    """A read model in OpenSearch: one document per aggregate, folded like a RowFold.

    The sink reads the batch's current documents with a realtime mget, folds the events in,
    and indexes each whole document once with the aggregate version as external version.
    `linger_ms`: the freshness budget, as in `PostgresProjection`.
    """

    name: str
    topics: tuple[str, ...]
    index: str
    mappings: dict[str, Any]
    doc_id: Callable[[Any], str]
    handlers: Mapping[type, Evolve]
    settings: dict[str, Any] = field(default_factory=dict)
    linger_ms: int | None = None


class Sink(Protocol):
    """A read-model store that applies batches and keeps the offsets it has applied up to.

    Storage is versioned in generations: the live one serves queries; a replay builds the
    next beside it and `swap` makes it live. A sink made with `generation=None` follows the
    live generation and raises `GenerationMoved` when a swap happened under it.
    """

    projection_name: str

    def setup(self) -> None:
        """Create the live generation and checkpoint storage if missing (idempotent)."""

    def handled_types(self) -> set[type]:
        """Event classes this sink has a handler for; others are skipped undecoded."""

    def stored_offsets(self, partitions: list[PartitionKey]) -> dict[PartitionKey, int]:
        """The next offset to read per partition; partitions never checkpointed are absent."""

    def apply(
        self,
        batch: Sequence[Projected],
        next_offsets: dict[PartitionKey, int],
        dead_lettered: tuple[Position, ...] = (),
    ) -> None:
        """Apply the batch, record dead-lettered positions and move the checkpoints."""

    def redrive(self, event: Projected) -> bool:
        """Apply a dead-lettered event once; False when it was not pending (done before)."""

    def make_visible(self) -> None:
        """Make everything checkpointed so far visible to queries (a search refresh)."""

    def generation(self) -> int:
        """The generation this sink writes to now."""

    def live_generation(self) -> int:
        """The generation queries read."""

    def building_generation(self) -> int | None:
        """A generation a replay started and did not swap in yet."""

    def create_generation(self) -> int:
        """Create empty storage for the next generation and mark it as building."""

    def pinned(self, generation: int) -> Sink:
        """A sink that writes to one generation whatever is live (used by replays)."""

    def checkpoints(self, generation: int) -> dict[PartitionKey, int]:
        """Every checkpoint of one generation."""

    def seed_offsets(self, offsets: dict[PartitionKey, int]) -> None:
        """Set this generation's starting checkpoints (a replay from a position)."""

    def swap(self, generation: int, force: bool = False) -> bool:
        """Make `generation` live if its checkpoints are not behind the live one's."""

    def drop_generation(self, generation: int) -> None:
        """Delete a generation that is not live."""


def behind(candidate: dict[PartitionKey, int], live: dict[PartitionKey, int]) -> bool:
    """Whether a candidate generation lacks events the live one has applied."""
    return any(candidate.get(key, 0) < offset for key, offset in live.items())


class GenerationMoved(Exception):
    """The live generation changed under a following sink: reposition and carry on."""


class TransientSinkError(Exception):
    """The store is unavailable or throttling: retry the same batch later, never dead-letter."""
