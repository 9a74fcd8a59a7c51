"""PostgreSQL sink: a batch's rows and its partition offsets commit in one transaction.

Checkpoint rows are locked for the transaction and events below them are skipped, so a
batch applied twice (a redelivery, or a zombie instance after a rebalance) changes nothing.
Plain handlers run one statement per event, batch handlers a few per batch; folds read each
touched row once, fold the batch in memory and write each changed row once: a batch costs a
handful of statements.
Every write reaches the generation's own schema through `storage.writing_to`.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.schema import CreateSchema

from eventstore.position import Position
from projections.generations import GenerationTracker
from projections.model import (
    PartitionKey,
    PostgresProjection,
    Projected,
    ProjectedEvent,
    ProjectedState,
    behind,
)
from projections.postgres import folds, states, storage
from projections.postgres.bookkeeping import Bookkeeping, storage_metadata

SWAP_LOCK_TIMEOUT_MS = 300
LOCK_NOT_AVAILABLE = "55P03"


class PostgresSink:
    """Applies a PostgresProjection inside checkpointed transactions, per generation."""

    def __init__(
        self,
        engine: Engine,
        projection: PostgresProjection,
        schema: str,
        generation: int | None = None,
    ) -> None:
        # Tables are declared schema-less; the translate map puts them in our namespace.
        self._engine = engine.execution_options(schema_translate_map={None: schema})
        self._schema = schema
        self._projection = projection
        self._books = Bookkeeping(projection.name, schema)
        self._generations = GenerationTracker(projection.name, self.live_generation, generation)
        self.projection_name = projection.name

    def storage_schema(self, generation: int) -> str:
        """The PostgreSQL schema that holds one generation's tables."""
        return storage.generation_schema(self._schema, self.projection_name, generation)

    # --- storage -----------------------------------------------------------------------

    def setup(self) -> None:
        """Create the schema, the bookkeeping tables and generation 1 with its views."""
        metadata = self._projection.metadata
        with self._engine.begin() as conn:
            conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": self._schema})
            conn.execute(CreateSchema(self._schema, if_not_exists=True))
            storage_metadata.create_all(conn)
            live, building = self._books.registry(conn, lock=True)
            if live is None:
                live = 1
                self._books.register(conn, live)
            target = self.storage_schema(live)
            if not storage.exists(conn, target):
                storage.adopt_versioned_tables(conn, self._schema, target, metadata, live)
            if building is not None and not storage.exists(conn, self.storage_schema(building)):
                # A build begun before generation schemas: start it over.
                storage.drop_versioned_tables(conn, self._schema, metadata, building)
                self._books.forget(conn, building)
                self._books.set_registry(conn, building=None)
            storage.create_generation(conn, target, metadata)
            storage.point_views(conn, self._schema, target, metadata)

    def handled_types(self) -> set[type]:
        """Event classes with a handler."""
        return self._projection.handled_types()

    # --- generations -------------------------------------------------------------------

    def generation(self) -> int:
        return self._generations.current()

    def live_generation(self) -> int:
        with self._engine.connect() as conn:
            live = self._books.registry(conn)[0]
        if live is None:
            raise LookupError(f"projection {self.projection_name} is not set up")
        return live

    def building_generation(self) -> int | None:
        with self._engine.connect() as conn:
            return self._books.registry(conn)[1]

    def pinned(self, generation: int) -> PostgresSink:
        return PostgresSink(self._engine, self._projection, self._schema, generation)

    def create_generation(self) -> int:
        with self._engine.begin() as conn:
            live, building = self._books.registry(conn, lock=True)
            new = max(live or 0, building or 0) + 1
            storage.create_generation(conn, self.storage_schema(new), self._projection.metadata)
            self._books.set_registry(conn, building=new)
        return new

    def checkpoints(self, generation: int) -> dict[PartitionKey, int]:
        with self._engine.connect() as conn:
            return self._books.read_all(conn, generation)

    def seed_offsets(self, offsets: dict[PartitionKey, int]) -> None:
        with self._engine.begin() as conn:
            self._books.write(conn, self.generation(), {}, offsets)

    def swap(self, generation: int, force: bool = False) -> bool:
        """Point the views at `generation` and make it live, atomically.

        Locking the registry row waits for in-flight batches of the live generation (they
        hold it FOR SHARE), so the comparison of checkpoints is stable while we decide.
        """
        metadata = self._projection.metadata
        try:
            with self._engine.begin() as conn:
                # Give way to readers instead of deadlocking with one that reads two views.
                conn.execute(text(f"SET LOCAL lock_timeout = '{SWAP_LOCK_TIMEOUT_MS}ms'"))
                live, _building = self._books.registry(conn, lock=True)
                if live == generation:
                    return True
                candidate = self._books.read_all(conn, generation)
                if not force and behind(candidate, self._books.read_all(conn, live)):
                    return False
                storage.lock_views(conn, self._schema, metadata)
                storage.point_views(conn, self._schema, self.storage_schema(generation), metadata)
                self._books.set_registry(conn, live=generation, building=None)
        except OperationalError as error:
            if getattr(error.orig, "sqlstate", None) == LOCK_NOT_AVAILABLE:
                return False  # readers hold the views; the caller tries again shortly
            raise
        return True

    def drop_generation(self, generation: int) -> None:
        """Drop the generation's schema, checkpoints and pending redrives."""
        with self._engine.begin() as conn:
            live, building = self._books.registry(conn, lock=True)
            if generation == live:
                raise ValueError(f"generation {generation} is live; swap before dropping it")
            storage.drop_generation(conn, self.storage_schema(generation))
            self._books.forget(conn, generation)
            if building == generation:
                self._books.set_registry(conn, building=None)

    # --- applying ----------------------------------------------------------------------

    def stored_offsets(self, partitions: list[PartitionKey]) -> dict[PartitionKey, int]:
        """Next offsets stored for these partitions in the generation we write to."""
        generation = self._generations.refresh()
        with self._engine.connect() as conn:
            return self._books.read(conn, generation, partitions, lock=False)

    def apply(
        self,
        batch: Sequence[Projected],
        next_offsets: dict[PartitionKey, int],
        dead_lettered: tuple[Position, ...] = (),
    ) -> None:
        """Apply unseen events, record dead letters and advance checkpoints atomically."""
        with self._engine.begin() as conn:
            generation, stored = self._lock_batch(conn, sorted(next_offsets))
            fresh = [
                item
                for item in batch
                if item.position.offset
                >= stored.get((item.position.topic, item.position.partition), 0)
            ]
            self._write(conn, generation, fresh, gate=True)
            self._books.add_pending(conn, generation, dead_lettered)
            self._books.write(conn, generation, stored, next_offsets)

    def _lock_batch(
        self, conn: Connection, partitions: list[PartitionKey]
    ) -> tuple[int, dict[PartitionKey, int]]:
        """The generation this batch writes and its partitions' stored offsets, locked.

        Following the live generation, the registry and the checkpoints of the generation we
        follow are locked in one statement; if a swap made another one live, those
        checkpoints are not used: GenerationMoved, and the transaction rolls back.
        """
        tracker = self._generations
        if tracker.pinned is not None:
            return tracker.pinned, self._books.lock(conn, tracker.pinned, partitions)
        expected = tracker.current()
        live, stored = self._books.lock_for_batch(conn, expected, partitions, registry=True)
        assert live is not None  # lock_for_batch raised if the projection is not set up
        return tracker.writing(lambda: live), stored

    def make_visible(self) -> None:
        """Committed is visible: nothing to do."""

    def redrive(self, event: Projected) -> bool:
        """Apply a dead-lettered event to the live generation once, in one transaction.

        A state record is written as it is: if a newer value of its key arrived after it
        was dead-lettered, replay instead (the pending marker does not know keys).
        """
        generation = self._generations.redrive_target()
        with self._engine.begin() as conn:
            if not self._books.take_pending(conn, generation, event.position):
                return False
            # No version gate: the fold was already past this event when it failed.
            self._write(conn, generation, [event], gate=False)
            self._books.mark_redriven(conn, generation, event.position)
        return True

    def _write(
        self, conn: Connection, generation: int, batch: Sequence[Projected], gate: bool
    ) -> None:
        target = self.storage_schema(generation)
        projection = self._projection
        events = [item for item in batch if isinstance(item, ProjectedEvent)]
        records = [item for item in batch if isinstance(item, ProjectedState)]
        with storage.writing_to(conn, target):
            for state in projection.states:
                states.store(conn, target, state, records)
            for item in events:
                handler = projection.handlers.get(type(item.event))
                if handler is not None:
                    handler(conn, item.event, item.envelope)
            for batch_handler in projection.batch_handlers:
                mine = [item for item in events if type(item.event) in batch_handler.types]
                if mine:
                    batch_handler.apply(conn, mine)
            for fold in projection.folds:
                before, after = folds.fold(conn, target, fold.table, fold, events, gate)
                changed = folds.store(conn, target, fold.table, before, after)
                for rollup in projection.rollups:
                    if rollup.source.name == fold.table.name:
                        folds.roll_up(
                            conn, target, rollup.table, rollup.contribution, before, changed
                        )
