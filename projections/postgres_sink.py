"""PostgreSQL sink: a batch's upserts and its partition offsets commit in one transaction.

Checkpoint rows are locked for the transaction and events below them are skipped, so a
batch applied twice (a redelivery, or a zombie instance after a rebalance) changes nothing.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    DateTime,
    Engine,
    Integer,
    MetaData,
    Table,
    Text,
    func,
    select,
    tuple_,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.schema import CreateSchema

from projections.model import PartitionKey, PostgresProjection, ProjectedEvent

checkpoint_metadata = MetaData()
checkpoints = Table(
    "skald_checkpoints",
    checkpoint_metadata,
    Column("projection", Text, primary_key=True),
    Column("topic", Text, primary_key=True),
    Column("partition", Integer, primary_key=True),
    Column("next_offset", BigInteger, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)


class PostgresSink:
    """Applies a PostgresProjection's handlers inside checkpointed transactions."""

    def __init__(self, engine: Engine, projection: PostgresProjection, schema: str) -> None:
        # Tables are declared schema-less; the translate map puts them in our namespace.
        self._engine = engine.execution_options(schema_translate_map={None: schema})
        self._schema = schema
        self._projection = projection
        self.projection_name = projection.name

    def setup(self) -> None:
        """Create the schema, the checkpoint table and the read model's tables."""
        with self._engine.begin() as conn:
            conn.execute(CreateSchema(self._schema, if_not_exists=True))
            checkpoint_metadata.create_all(conn)
            self._projection.metadata.create_all(conn)

    def stored_offsets(self, partitions: list[PartitionKey]) -> dict[PartitionKey, int]:
        """Next offsets stored for these partitions."""
        with self._engine.connect() as conn:
            return self._read_offsets(conn, partitions, lock=False)

    def apply(self, batch: list[ProjectedEvent], next_offsets: dict[PartitionKey, int]) -> None:
        """Apply unseen events and advance checkpoints atomically."""
        with self._engine.begin() as conn:
            stored = self._lock_offsets(conn, list(next_offsets))
            for item in batch:
                key = (item.position.topic, item.position.partition)
                if item.position.offset < stored.get(key, 0):
                    continue  # applied by an earlier transaction
                handler = self._projection.handlers[type(item.event)]
                handler(conn, item.event, item.envelope)
            self._write_offsets(conn, stored, next_offsets)

    def handled_types(self) -> set[type]:
        """Event classes with a handler."""
        return set(self._projection.handlers)

    def _lock_offsets(
        self, conn: Connection, partitions: list[PartitionKey]
    ) -> dict[PartitionKey, int]:
        # Make sure a row exists to lock: two first-ever batches then serialize on it.
        conn.execute(
            insert(checkpoints)
            .values([self._row(t, p, 0) for t, p in partitions])
            .on_conflict_do_nothing()
        )
        return self._read_offsets(conn, partitions, lock=True)

    def _read_offsets(
        self, conn: Connection, partitions: list[PartitionKey], lock: bool
    ) -> dict[PartitionKey, int]:
        if not partitions:
            return {}
        c = checkpoints.c
        query = select(c.topic, c.partition, c.next_offset).where(
            c.projection == self.projection_name,
            tuple_(c.topic, c.partition).in_(partitions),
        )
        if lock:
            query = query.with_for_update()
        return {(row.topic, row.partition): row.next_offset for row in conn.execute(query)}

    def _row(self, topic: str, partition: int, next_offset: int) -> dict[str, object]:
        return {
            "projection": self.projection_name,
            "topic": topic,
            "partition": partition,
            "next_offset": next_offset,
        }

    def _write_offsets(
        self, conn: Connection, stored: dict[PartitionKey, int], offsets: dict[PartitionKey, int]
    ) -> None:
        rows = [self._row(t, p, o) for (t, p), o in offsets.items() if o > stored.get((t, p), 0)]
        if not rows:
            return
        statement = insert(checkpoints).values(rows)
        conn.execute(
            statement.on_conflict_do_update(
                index_elements=list(checkpoints.primary_key.columns),
                set_={"next_offset": statement.excluded.next_offset, "updated_at": func.now()},
            )
        )
