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


class Bookkeeping:
    """One projection's rows in the registry, checkpoint and pending-redrive tables."""

    def __init__(self, projection: str) -> None:
        self.projection = projection

    # --- registry ----------------------------------------------------------------------

    def registry(self, conn: Connection, lock: bool = False) -> tuple[int | None, int | None]:
        """(live, building); FOR UPDATE when `lock` (setup, new generation, swap, drop)."""
        query = select(generations.c.live, generations.c.building).where(
            generations.c.projection == self.projection
        )
        row = conn.execute(query.with_for_update() if lock else query).first()
        return (row.live, row.building) if row is not None else (None, None)

    def live_for_batch(self, conn: Connection) -> int:
        """The live generation, held FOR SHARE so a swap waits for this batch to commit."""
        live = conn.execute(
            select(generations.c.live)
            .where(generations.c.projection == self.projection)
            .with_for_update(read=True)
        ).scalar_one()
        return int(live)

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
        if not partitions:
            return {}
        # Make sure a row exists to lock: two first-ever batches then serialize on it.
        conn.execute(
            insert(checkpoints)
            .values([self._row(generation, t, p, 0) for t, p in partitions])
            .on_conflict_do_nothing()
        )
        return self.read(conn, generation, partitions, lock=True)

    def write(
        self,
        conn: Connection,
        generation: int,
        stored: dict[PartitionKey, int],
        offsets: dict[PartitionKey, int],
    ) -> None:
        """Move checkpoints forward (never back) to `offsets`."""
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
