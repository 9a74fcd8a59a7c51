"""Checkpoints, pending redrives and the generation registry of PostgreSQL projections.

All three tables live in the namespace's schema beside the read models' views, and every
read or write here runs inside the caller's transaction: that is what makes a batch's rows
and its offsets commit together.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    DateTime,
    Integer,
    MetaData,
    Table,
    Text,
    delete,
    func,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import insert

from eventstore.position import Position
from projections.model import PartitionKey

storage_metadata = MetaData()

generations = Table(
    "skald_projection_generations",
    storage_metadata,
    Column("projection", Text, primary_key=True),
    Column("live", Integer, nullable=False),
    Column("building", Integer),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

checkpoints = Table(
    "skald_projection_checkpoints",
    storage_metadata,
    Column("projection", Text, primary_key=True),
    Column("generation", Integer, primary_key=True),
    Column("topic", Text, primary_key=True),
    Column("partition", Integer, primary_key=True),
    Column("next_offset", BigInteger, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

pending_redrives = Table(
    "skald_pending_redrives",
    storage_metadata,
    Column("projection", Text, primary_key=True),
    Column("generation", Integer, primary_key=True),
    Column("topic", Text, primary_key=True),
    Column("partition", Integer, primary_key=True),
    Column("offset", BigInteger, primary_key=True),
    Column("dead_lettered_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("redriven_at", DateTime(timezone=True)),
)


def batch_statements(schema: str) -> tuple[str, str]:
    """The SQL of a batch's bookkeeping: (lock the registry and checkpoints, write checkpoints).

    Fixed text with array parameters, the same for every batch: psycopg prepares it after a
    few executions and nothing is compiled per batch. (Core inserts with a VALUES row per
    partition were compiled afresh every batch: half of a small batch's CPU.) The registry
    row comes first, then the checkpoints in one order for every instance (no deadlock).
    """
    q = f'"{schema}"'
    lock = (
        "WITH registry AS MATERIALIZED ("
        f" SELECT live FROM {q}.skald_projection_generations"
        " WHERE projection = %(projection)s AND %(registry)s FOR SHARE"
        "), locked AS MATERIALIZED ("
        f' SELECT topic, "partition", next_offset FROM {q}.skald_projection_checkpoints'
        " WHERE projection = %(projection)s AND generation = %(generation)s"
        ' AND (topic, "partition") IN'
        " (SELECT * FROM unnest(%(topics)s::text[], %(partitions)s::int[]))"
        ' ORDER BY topic, "partition" FOR UPDATE'
        ") SELECT NULL::text, NULL::int, live::bigint FROM registry"
        ' UNION ALL SELECT topic, "partition", next_offset FROM locked'
    )
    write = (
        f"INSERT INTO {q}.skald_projection_checkpoints"
        ' (projection, generation, topic, "partition", next_offset)'
        " SELECT %(projection)s, %(generation)s, t, p, o FROM"
        " unnest(%(topics)s::text[], %(partitions)s::int[], %(offsets)s::bigint[]) AS r(t, p, o)"
        ' ON CONFLICT (projection, generation, topic, "partition")'
        " DO UPDATE SET next_offset = EXCLUDED.next_offset, updated_at = now()"
    )
    return lock, write


def forward(
    stored: dict[PartitionKey, int], offsets: dict[PartitionKey, int]
) -> list[tuple[PartitionKey, int]]:
    """The checkpoints to write, in partition order: new partitions, and those that moved
    forward (a checkpoint never moves back)."""
    return [
        (key, offset)
        for key, offset in sorted(offsets.items())
        if key not in stored or offset > stored[key]
    ]


class Bookkeeping:
    """One projection's rows in the registry, checkpoint and pending-redrive tables.

    `schema` is the namespace schema that holds the three tables: the statements every batch
    runs are fixed SQL text naming it (see `batch_statements`), not Core constructs.
    """

    def __init__(self, projection: str, schema: str) -> None:
        self.projection = projection
        self._lock_sql, self._write_sql = batch_statements(schema)

    # --- registry ----------------------------------------------------------------------

    def registry(self, conn: Connection, lock: bool = False) -> tuple[int | None, int | None]:
        """(live, building); FOR UPDATE when `lock` (setup, new generation, swap, drop)."""
        query = select(generations.c.live, generations.c.building).where(
            generations.c.projection == self.projection
        )
        row = conn.execute(query.with_for_update() if lock else query).first()
        return (row.live, row.building) if row is not None else (None, None)

    def register(self, conn: Connection, live: int) -> None:
        conn.execute(generations.insert().values(projection=self.projection, live=live))

    def set_registry(self, conn: Connection, **values: int | None) -> None:
        conn.execute(
            update(generations)
            .where(generations.c.projection == self.projection)
            .values(**values, updated_at=func.now())
        )

    # --- checkpoints -------------------------------------------------------------------

    def read_all(self, conn: Connection, generation: int | None) -> dict[PartitionKey, int]:
        """Every checkpoint of one generation."""
        c = checkpoints.c
        query = select(c.topic, c.partition, c.next_offset).where(
            c.projection == self.projection, c.generation == generation
        )
        return {(r.topic, r.partition): r.next_offset for r in conn.execute(query)}

    def read(
        self, conn: Connection, generation: int, partitions: list[PartitionKey], lock: bool
    ) -> dict[PartitionKey, int]:
        if not partitions:
            return {}
        c = checkpoints.c
        query = (
            select(c.topic, c.partition, c.next_offset)
            .where(
                c.projection == self.projection,
                c.generation == generation,
                tuple_(c.topic, c.partition).in_(partitions),
            )
            .order_by(c.topic, c.partition)  # one lock order for every instance: no deadlock
        )
        if lock:
            query = query.with_for_update()
        return {(row.topic, row.partition): row.next_offset for row in conn.execute(query)}

    def lock(
        self, conn: Connection, generation: int, partitions: list[PartitionKey]
    ) -> dict[PartitionKey, int]:
        """The stored offsets, locked until the transaction ends."""
        return self.lock_for_batch(conn, generation, partitions, registry=False)[1]

    def lock_for_batch(
        self, conn: Connection, generation: int, partitions: list[PartitionKey], registry: bool
    ) -> tuple[int | None, dict[PartitionKey, int]]:
        """(live generation, stored offsets) in one round trip: with `registry` the live
        generation held FOR SHARE (a swap waits for this batch to commit), then the
        checkpoints of `partitions` in `generation` FOR UPDATE, until the transaction ends.

        The checkpoints read are `generation`'s whatever is live: a caller that finds another
        generation live must not use them (it raises GenerationMoved).
        """
        live, stored = self._locked(conn, generation, partitions, registry)
        missing = [key for key in partitions if key not in stored]
        if missing:
            # Make sure a row exists to lock: two first-ever batches then serialize on it.
            conn.execute(
                insert(checkpoints)
                .values([self._row(generation, t, p, 0) for t, p in missing])
                .on_conflict_do_nothing()
            )
            live, stored = self._locked(conn, generation, partitions, registry)
        if registry and live is None:
            raise LookupError(f"projection {self.projection} is not set up")
        return live, stored

    def _locked(
        self, conn: Connection, generation: int, partitions: list[PartitionKey], registry: bool
    ) -> tuple[int | None, dict[PartitionKey, int]]:
        rows = conn.exec_driver_sql(
            self._lock_sql,
            {
                "projection": self.projection,
                "registry": registry,
                "generation": generation,
                "topics": [t for t, _p in partitions],
                "partitions": [p for _t, p in partitions],
            },
        ).fetchall()
        live = None
        stored: dict[PartitionKey, int] = {}
        for topic, partition, value in rows:
            if topic is None:
                live = int(value)  # the registry's row
            else:
                stored[(topic, partition)] = value
        return live, stored

    def write(
        self,
        conn: Connection,
        generation: int,
        stored: dict[PartitionKey, int],
        offsets: dict[PartitionKey, int],
    ) -> None:
        """Move checkpoints forward (never back) to `offsets`."""
        moved = forward(stored, offsets)
        if not moved:
            return
        conn.exec_driver_sql(
            self._write_sql,
            {
                "projection": self.projection,
                "generation": generation,
                "topics": [t for (t, _p), _o in moved],
                "partitions": [p for (_t, p), _o in moved],
                "offsets": [o for _key, o in moved],
            },
        )

    def _row(self, generation: int, topic: str, partition: int, offset: int) -> dict[str, Any]:
        return {
            "projection": self.projection,
            "generation": generation,
            "topic": topic,
            "partition": partition,
            "next_offset": offset,
        }

    # --- pending redrives --------------------------------------------------------------

    def add_pending(
        self, conn: Connection, generation: int, positions: tuple[Position, ...]
    ) -> None:
        if positions:
            conn.execute(
                insert(pending_redrives)
                .values([self._pending(generation, p) for p in positions])
                .on_conflict_do_nothing()
            )

    def take_pending(self, conn: Connection, generation: int, position: Position) -> bool:
        """Lock a pending marker not redriven yet; False when there is none."""
        p = pending_redrives.c
        key = self._pending(generation, position)
        found = conn.execute(
            select(p.offset)
            .where(*(p[name] == value for name, value in key.items()))
            .where(p.redriven_at.is_(None))
            .with_for_update()
        ).first()
        return found is not None

    def mark_redriven(self, conn: Connection, generation: int, position: Position) -> None:
        p = pending_redrives.c
        key = self._pending(generation, position)
        conn.execute(
            update(pending_redrives)
            .where(*(p[name] == value for name, value in key.items()))
            .values(redriven_at=func.now())
        )

    def _pending(self, generation: int, position: Position) -> dict[str, Any]:
        return {
            "projection": self.projection,
            "generation": generation,
            "topic": position.topic,
            "partition": position.partition,
            "offset": position.offset,
        }

    def forget(self, conn: Connection, generation: int) -> None:
        """Delete one generation's checkpoints and pending markers."""
        for table in (checkpoints, pending_redrives):
            conn.execute(
                delete(table).where(
                    table.c.projection == self.projection, table.c.generation == generation
                )
            )
