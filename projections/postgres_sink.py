"""PostgreSQL sink: a batch's upserts and its partition offsets commit in one transaction.

Checkpoint rows are locked for the transaction and events below them are skipped, so a
batch applied twice (a redelivery, or a zombie instance after a rebalance) changes nothing.
Folds read each touched row once, fold the batch in memory, and write each changed row
once with one executemany upsert per table: a batch costs a handful of statements.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Table,
    delete,
    event,
    func,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import OperationalError
from sqlalchemy.schema import CreateSchema

from eventstore.position import Position
from projections.model import (
    GenerationMoved,
    PartitionKey,
    PostgresProjection,
    ProjectedEvent,
    Row,
    RowFold,
    behind,
)
from projections.postgres_storage import (
    checkpoints,
    drop_tables,
    generation_tables,
    generations,
    lock_views,
    pending_redrives,
    point_views,
    storage_metadata,
)


@event.listens_for(Engine, "before_cursor_execute", retval=True)
def _generation_tables(
    conn: Connection,
    cursor: Any,
    statement: str,
    parameters: Any,
    context: Any,
    executemany: bool,
) -> tuple[str, Any]:
    """Rewrite `schema.table` to `schema.table_v<n>` while a sink runs plain handlers."""
    renames = conn.get_execution_options().get("skald_tables")
    if renames is not None:
        pattern, names = renames
        statement = pattern.sub(
            lambda m: m.group(0)[: -len(m.group(1))] + names[m.group(1)], statement
        )
    return statement, parameters


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
        self._pinned = generation
        self._following: int | None = None  # the live generation we last wrote to
        self.projection_name = projection.name

    # --- storage -----------------------------------------------------------------------

    def setup(self) -> None:
        """Create the schema, the bookkeeping tables and generation 1 with its views."""
        with self._engine.begin() as conn:
            conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": self._schema})
            conn.execute(CreateSchema(self._schema, if_not_exists=True))
            storage_metadata.create_all(conn)
            live = self._registry(conn, lock=True)[0]
            if live is None:
                live = 1
                conn.execute(generations.insert().values(projection=self.projection_name, live=1))
            self._create_tables(conn, live)
            point_views(conn, self._schema, self._projection.metadata, live)

    def _create_tables(self, conn: Connection, generation: int) -> None:
        for table in generation_tables(self._projection.metadata, generation).values():
            table.create(conn, checkfirst=True)

    def _registry(self, conn: Connection, lock: bool = False) -> tuple[int | None, int | None]:
        query = select(generations.c.live, generations.c.building).where(
            generations.c.projection == self.projection_name
        )
        row = conn.execute(query.with_for_update() if lock else query).first()
        return (row.live, row.building) if row is not None else (None, None)

    def handled_types(self) -> set[type]:
        """Event classes with a handler."""
        return self._projection.handled_types()

    # --- generations -------------------------------------------------------------------

    def generation(self) -> int:
        if self._pinned is not None:
            return self._pinned
        if self._following is None:
            self._following = self.live_generation()
        return self._following

    def live_generation(self) -> int:
        with self._engine.connect() as conn:
            live = self._registry(conn)[0]
        if live is None:
            raise LookupError(f"projection {self.projection_name} is not set up")
        return live

    def building_generation(self) -> int | None:
        with self._engine.connect() as conn:
            return self._registry(conn)[1]

    def pinned(self, generation: int) -> PostgresSink:
        return PostgresSink(self._engine, self._projection, self._schema, generation)

    def create_generation(self) -> int:
        with self._engine.begin() as conn:
            live, building = self._registry(conn, lock=True)
            new = max(live or 0, building or 0) + 1
            self._create_tables(conn, new)
            conn.execute(
                update(generations)
                .where(generations.c.projection == self.projection_name)
                .values(building=new, updated_at=func.now())
            )
        return new

    def checkpoints(self, generation: int) -> dict[PartitionKey, int]:
        c = checkpoints.c
        query = select(c.topic, c.partition, c.next_offset).where(
            c.projection == self.projection_name, c.generation == generation
        )
        with self._engine.connect() as conn:
            return {(r.topic, r.partition): r.next_offset for r in conn.execute(query)}

    def seed_offsets(self, offsets: dict[PartitionKey, int]) -> None:
        with self._engine.begin() as conn:
            self._write_offsets(conn, self.generation(), {}, offsets)

    def swap(self, generation: int, force: bool = False) -> bool:
        """Point the views at `generation` and make it live, atomically.

        Locking the registry row waits for in-flight batches of the live generation (they
        hold it FOR SHARE), so the comparison of checkpoints is stable while we decide.
        """
        try:
            with self._engine.begin() as conn:
                # Give way to readers instead of deadlocking with one that reads two views.
                conn.execute(text(f"SET LOCAL lock_timeout = '{SWAP_LOCK_TIMEOUT_MS}ms'"))
                live, _building = self._registry(conn, lock=True)
                if live == generation:
                    return True
                candidate, current = self._read_all(conn, generation), self._read_all(conn, live)
                if not force and behind(candidate, current):
                    return False
                lock_views(conn, self._schema, self._projection.metadata)
                point_views(conn, self._schema, self._projection.metadata, generation)
                conn.execute(
                    update(generations)
                    .where(generations.c.projection == self.projection_name)
                    .values(live=generation, building=None, updated_at=func.now())
                )
        except OperationalError as error:
            if getattr(error.orig, "sqlstate", None) == LOCK_NOT_AVAILABLE:
                return False  # readers hold the views; the caller tries again shortly
            raise
        return True

    def drop_generation(self, generation: int) -> None:
        with self._engine.begin() as conn:
            live, building = self._registry(conn, lock=True)
            if generation == live:
                raise ValueError(f"generation {generation} is live; swap before dropping it")
            drop_tables(conn, self._schema, self._projection.metadata, generation)
            for table in (checkpoints, pending_redrives):
                conn.execute(
                    delete(table).where(
                        table.c.projection == self.projection_name,
                        table.c.generation == generation,
                    )
                )
            if building == generation:
                conn.execute(
                    update(generations)
                    .where(generations.c.projection == self.projection_name)
                    .values(building=None)
                )

    def _read_all(self, conn: Connection, generation: int | None) -> dict[PartitionKey, int]:
        c = checkpoints.c
        query = select(c.topic, c.partition, c.next_offset).where(
            c.projection == self.projection_name, c.generation == generation
        )
        return {(r.topic, r.partition): r.next_offset for r in conn.execute(query)}

    # --- applying ----------------------------------------------------------------------

    def stored_offsets(self, partitions: list[PartitionKey]) -> dict[PartitionKey, int]:
        """Next offsets stored for these partitions in the generation we write to."""
        if self._pinned is None:
            self._following = self.live_generation()
        with self._engine.connect() as conn:
            return self._read_offsets(conn, self.generation(), partitions, lock=False)

    def apply(
        self,
        batch: list[ProjectedEvent],
        next_offsets: dict[PartitionKey, int],
        dead_lettered: tuple[Position, ...] = (),
    ) -> None:
        """Apply unseen events, record dead letters and advance checkpoints atomically."""
        with self._engine.begin() as conn:
            generation = self._writing_generation(conn)
            stored = self._lock_offsets(conn, generation, sorted(next_offsets))
            fresh = [
                item
                for item in batch
                if item.position.offset
                >= stored.get((item.position.topic, item.position.partition), 0)
            ]
            self._write(conn, generation, fresh, gate=True)
            if dead_lettered:
                conn.execute(
                    insert(pending_redrives)
                    .values([self._pending(generation, p) for p in dead_lettered])
                    .on_conflict_do_nothing()
                )
            self._write_offsets(conn, generation, stored, next_offsets)

    def make_visible(self) -> None:
        """Committed is visible: nothing to do."""

    def redrive(self, event: ProjectedEvent) -> bool:
        """Apply a dead-lettered event to the live generation once, in one transaction."""
        p = pending_redrives.c
        with self._engine.begin() as conn:
            generation = self._registry(conn)[0] if self._pinned is None else self._pinned
            key = self._pending(generation or 0, event.position)
            found = conn.execute(
                select(p.offset)
                .where(*(p[name] == value for name, value in key.items()))
                .where(p.redriven_at.is_(None))
                .with_for_update()
            ).first()
            if found is None:
                return False
            # No version gate: the fold was already past this event when it failed.
            self._write(conn, generation or 0, [event], gate=False)
            conn.execute(
                update(pending_redrives)
                .where(*(p[name] == value for name, value in key.items()))
                .values(redriven_at=func.now())
            )
        return True

    def _writing_generation(self, conn: Connection) -> int:
        if self._pinned is not None:
            return self._pinned
        live = conn.execute(
            select(generations.c.live)
            .where(generations.c.projection == self.projection_name)
            .with_for_update(read=True)
        ).scalar_one()
        if self._following is not None and live != self._following:
            self._following = live
            raise GenerationMoved(f"{self.projection_name}: generation {live} is live now")
        self._following = live
        return int(live)

    def _write(
        self, conn: Connection, generation: int, events: list[ProjectedEvent], gate: bool
    ) -> None:
        handlers = self._projection.handlers
        if handlers:
            # Plain handlers name the logical tables; point them at this generation's.
            conn.execution_options(skald_tables=self._renames(generation))
            try:
                for item in events:
                    handler = handlers.get(type(item.event))
                    if handler is not None:
                        handler(conn, item.event, item.envelope)
            finally:
                conn.execution_options(skald_tables=None)
        tables = generation_tables(self._projection.metadata, generation)
        for fold in self._projection.folds:
            before, after = _fold(conn, tables, fold, events, gate)
            self._store(conn, tables, fold, before, after)

    def _renames(self, generation: int) -> tuple[re.Pattern[str], dict[str, str]]:
        names = {t.name: c.name for t, c in self._generation_pairs(generation)}
        alternatives = "|".join(re.escape(name) for name in names)
        pattern = re.compile(rf"\b{re.escape(self._schema)}\.({alternatives})\b")
        return pattern, names

    def _generation_pairs(self, generation: int) -> list[tuple[Table, Table]]:
        copies = generation_tables(self._projection.metadata, generation)
        return [(table, copies[table.name]) for table in self._projection.metadata.sorted_tables]

    def _store(
        self,
        conn: Connection,
        tables: dict[str, Any],
        fold: RowFold,
        before: dict[str, Row | None],
        after: dict[str, Row | None],
    ) -> None:
        table = tables[fold.table.name]
        (pk,) = [column.name for column in table.primary_key.columns]
        changed = {key: row for key, row in after.items() if row is not before.get(key)}
        rows = [row for _key, row in sorted(changed.items()) if row is not None]
        if rows:
            upsert(conn, self._schema, table, rows, lambda name: f"EXCLUDED.{name}")
        gone = [key for key, row in changed.items() if row is None]
        if gone:
            conn.execute(delete(table).where(table.c[pk].in_(gone)))
        for rollup in self._projection.rollups:
            if rollup.source.name == fold.table.name:
                table = tables[rollup.table.name]
                _roll_up(conn, self._schema, table, rollup.contribution, before, changed)

    def _lock_offsets(
        self, conn: Connection, generation: int, partitions: list[PartitionKey]
    ) -> dict[PartitionKey, int]:
        if not partitions:
            return {}
        # Make sure a row exists to lock: two first-ever batches then serialize on it.
        conn.execute(
            insert(checkpoints)
            .values([self._row(generation, t, p, 0) for t, p in partitions])
            .on_conflict_do_nothing()
        )
        return self._read_offsets(conn, generation, partitions, lock=True)

    def _read_offsets(
        self, conn: Connection, generation: int, partitions: list[PartitionKey], lock: bool
    ) -> dict[PartitionKey, int]:
        if not partitions:
            return {}
        c = checkpoints.c
        query = (
            select(c.topic, c.partition, c.next_offset)
            .where(
                c.projection == self.projection_name,
                c.generation == generation,
                tuple_(c.topic, c.partition).in_(partitions),
            )
            .order_by(c.topic, c.partition)  # one lock order for every instance: no deadlock
        )
        if lock:
            query = query.with_for_update()
        return {(row.topic, row.partition): row.next_offset for row in conn.execute(query)}

    def _row(self, generation: int, topic: str, partition: int, offset: int) -> dict[str, Any]:
        return {
            "projection": self.projection_name,
            "generation": generation,
            "topic": topic,
            "partition": partition,
            "next_offset": offset,
        }

    def _pending(self, generation: int, position: Position) -> dict[str, Any]:
        return {
            "projection": self.projection_name,
            "generation": generation,
            "topic": position.topic,
            "partition": position.partition,
            "offset": position.offset,
        }

    def _write_offsets(
        self,
        conn: Connection,
        generation: int,
        stored: dict[PartitionKey, int],
        offsets: dict[PartitionKey, int],
    ) -> None:
        rows = [
            self._row(generation, t, p, o)
            for (t, p), o in sorted(offsets.items())
            if o > stored.get((t, p), 0) or (t, p) not in stored
        ]
        if not rows:
            return
        statement = insert(checkpoints).values(rows)
        conn.execute(
            statement.on_conflict_do_update(
                index_elements=list(checkpoints.primary_key.columns),
                set_={"next_offset": statement.excluded.next_offset, "updated_at": func.now()},
            )
        )


def _fold(
    conn: Connection,
    tables: dict[str, Any],
    fold: RowFold,
    events: list[ProjectedEvent],
    gate: bool,
) -> tuple[dict[str, Row | None], dict[str, Row | None]]:
    """The touched rows before and after folding the events in, by key."""
    relevant = [item for item in events if type(item.event) in fold.handlers]
    if not relevant:
        return {}, {}
    table = tables[fold.table.name]
    (pk,) = [column.name for column in table.primary_key.columns]
    keys = {fold.key(item.event) for item in relevant}
    found = conn.execute(select(table).where(table.c[pk].in_(keys))).mappings()
    before: dict[str, Row | None] = {row[pk]: dict(row) for row in found}
    after = dict(before)
    for item in relevant:
        key = fold.key(item.event)
        row = after.get(key)
        if gate and row is not None and item.envelope.aggregate_version <= row["version"]:
            continue  # already folded in
        after[key] = fold.handlers[type(item.event)](row, item.event, item.envelope)
    return before, after


def _roll_up(
    conn: Connection,
    schema: str,
    table: Table,
    contribution: Any,
    before: dict[str, Row | None],
    changed: dict[str, Row | None],
) -> None:
    totals: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for key, row in changed.items():
        for source, sign in ((before.get(key), -1), (row, 1)):
            part = contribution(source) if source is not None else None
            if part is not None:
                group, counters = part
                for name, value in counters.items():
                    totals[group][name] += sign * value
    (pk,) = [column.name for column in table.primary_key.columns]
    rows = [
        {pk: group, **counters}
        for group, counters in sorted(totals.items())
        if any(counters.values())
    ]
    if not rows:
        return
    names = sorted({name for row in rows for name in row if name != pk})
    rows = [{pk: row[pk], **{n: row.get(n, 0) for n in names}} for row in rows]
    upsert(conn, schema, table, rows, lambda name: f'"{table.name}"."{name}" + EXCLUDED."{name}"')


def upsert(
    conn: Connection,
    schema: str,
    table: Table,
    rows: list[Row],
    new_value: Callable[[str], str],
) -> None:
    """Insert or update many rows in one statement whose one parameter is a JSON array.

    Several times faster than executemany or array parameters: the json module encodes
    the batch in C and the server unpacks it with `json_to_recordset`, one plan per batch.
    """
    names = list(rows[0])
    (pk,) = [column.name for column in table.primary_key.columns]
    record = ", ".join(
        f'"{name}" {table.c[name].type.compile(dialect=conn.dialect)}' for name in names
    )
    quoted = ", ".join(f'"{name}"' for name in names)
    updates = ", ".join(f'"{name}" = {new_value(name)}' for name in names if name != pk)
    conn.exec_driver_sql(
        f'INSERT INTO "{schema}"."{table.name}" ({quoted}) '
        f"SELECT {quoted} FROM json_to_recordset(%s::json) AS r({record}) "
        f'ON CONFLICT ("{pk}") DO UPDATE SET {updates}',
        (json.dumps(rows, default=_json_value, separators=(",", ":")),),
    )


def _json_value(value: object) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
