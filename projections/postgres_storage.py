"""Where a PostgreSQL projection keeps its generations, checkpoints and pending redrives.

Each generation `n` of a read model is a set of tables `<table>_v<n>` in the namespace's
schema; queries read views named `<table>` that select from the live generation. Swapping
generations redefines the views and the registry row in one transaction.
"""

from __future__ import annotations

from functools import cache

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    DateTime,
    Integer,
    MetaData,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.sql.elements import quoted_name

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


@cache
def generation_tables(metadata: MetaData, generation: int) -> dict[str, Table]:
    """The read model's tables as generation `generation` names them, by logical name."""
    copies = MetaData()
    tables = {}
    for table in metadata.sorted_tables:
        copy = table.to_metadata(copies, name=f"{table.name}_v{generation}")
        for index in copy.indexes:
            columns = "_".join(column.name for column in index.columns)
            index.name = quoted_name(f"ix_{copy.name}_{columns}"[:63], None)
        tables[table.name] = copy
    return tables


def point_views(conn: Connection, schema: str, metadata: MetaData, generation: int) -> None:
    """Make every `<table>` view select from generation `generation` (inside the caller's txn).

    A regular table of the same name is a read model from before generations existed: it is
    dropped, as any read model may be, and rebuilt from the log.
    """
    for name, table in generation_tables(metadata, generation).items():
        kind = conn.execute(
            text(
                "SELECT c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = :schema AND c.relname = :name"
            ),
            {"schema": schema, "name": name},
        ).scalar()
        if kind == "r":
            conn.execute(text(f'DROP TABLE "{schema}"."{name}" CASCADE'))
        elif kind == "v":
            conn.execute(text(f'DROP VIEW "{schema}"."{name}"'))
        conn.execute(
            text(f'CREATE VIEW "{schema}"."{name}" AS SELECT * FROM "{schema}"."{table.name}"')
        )


def lock_views(conn: Connection, schema: str, metadata: MetaData) -> None:
    """Take every view of the read model at once (or fail on the lock timeout)."""
    names = [
        f'"{schema}"."{table.name}"'
        for table in metadata.sorted_tables
        if conn.execute(
            text("SELECT to_regclass(:name)"), {"name": f'"{schema}"."{table.name}"'}
        ).scalar()
    ]
    if names:
        conn.execute(text(f"LOCK TABLE {', '.join(names)} IN ACCESS EXCLUSIVE MODE"))


def drop_tables(conn: Connection, schema: str, metadata: MetaData, generation: int) -> None:
    """Drop one generation's tables."""
    for table in generation_tables(metadata, generation).values():
        conn.execute(text(f'DROP TABLE IF EXISTS "{schema}"."{table.name}" CASCADE'))
