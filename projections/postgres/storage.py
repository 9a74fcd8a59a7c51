"""Generation storage: each generation of a read model is a PostgreSQL schema of its own.

Generation `n` of projection `p` in the namespace schema `s` is the schema
`generation_schema(s, p, n)` holding the projection's tables under their logical names
(indexes and constraints keep theirs too). Queries read views `s.<table>` that select from
the live generation; a swap redefines the views and the registry row in one transaction;
dropping a generation drops its schema, so nothing of it is left.

Why schemas and not renamed tables: plain handlers are written against the projection's
schema-less SQLAlchemy tables and run arbitrary SQL. SQLAlchemy's `schema_translate_map`
points those tables at any schema, per connection and without rewriting SQL text, so
handlers, folds and rollups all write a generation simply by running on a connection
translated to its schema (`writing_to`). Table names stay the ones the code declares.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, MetaData, text

MAX_IDENTIFIER = 63  # PostgreSQL truncates longer names (NAMEDATALEN - 1), silently


def generation_schema(schema: str, projection: str, generation: int) -> str:
    """The schema that holds one generation: readable, unique per projection, <= 63 bytes.

    The digest keeps projections apart whose slugs agree (`a.b` and `a_b`); a name that
    would be too long keeps a prefix of the namespace schema and hashes the rest.
    """
    digest = hashlib.blake2s(f"{schema}/{projection}".encode()).hexdigest()
    slug = re.sub(r"[^a-z0-9]+", "_", projection.lower()).strip("_")
    name = f"{schema}_{slug}_{digest[:6]}_g{generation}"
    if len(name.encode()) <= MAX_IDENTIFIER:
        return name
    suffix = f"_{digest[:16]}_g{generation}"
    prefix = schema.encode()[: MAX_IDENTIFIER - len(suffix)].decode("utf-8", "ignore")
    return prefix + suffix


def exists(conn: Connection, schema: str) -> bool:
    found = conn.execute(
        text("SELECT 1 FROM pg_namespace WHERE nspname = :schema"), {"schema": schema}
    ).first()
    return found is not None


@contextmanager
def writing_to(conn: Connection, schema: str) -> Iterator[Connection]:
    """The connection with the projection's (schema-less) tables translated to `schema`.

    Changes the connection in place for the block, then restores its previous map, so the
    bookkeeping statements of the same transaction still reach the namespace schema.
    """
    previous = conn.get_execution_options().get("schema_translate_map")
    conn.execution_options(schema_translate_map={None: schema})
    try:
        yield conn
    finally:
        conn.execution_options(schema_translate_map=previous)


def target_schema(conn: Connection) -> str:
    """The schema `writing_to` points the connection's tables at, for SQL written as text."""
    translate = conn.get_execution_options().get("schema_translate_map") or {}
    schema = translate.get(None)
    if schema is None:
        raise RuntimeError("not inside a sink's batch: no generation to write to")
    return str(schema)


def create_generation(conn: Connection, schema: str, metadata: MetaData) -> None:
    """Create a generation's schema and its tables if missing (idempotent)."""
    conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    with writing_to(conn, schema):
        metadata.create_all(conn, checkfirst=True)


def drop_generation(conn: Connection, schema: str) -> None:
    """Drop a generation's schema with everything in it. Never call it on the live one: the
    views depend on its tables, and CASCADE would drop them too."""
    conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


def point_views(conn: Connection, schema: str, source: str, metadata: MetaData) -> None:
    """Make every `schema.<table>` view select from `source.<table>` (in the caller's txn).

    A regular table of the same name is a read model from before generations existed: it is
    dropped, as any read model may be, and rebuilt from the log.
    """
    for table in metadata.sorted_tables:
        name = table.name
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
        conn.execute(text(f'CREATE VIEW "{schema}"."{name}" AS SELECT * FROM "{source}"."{name}"'))


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


def adopt_versioned_tables(
    conn: Connection, schema: str, target: str, metadata: MetaData, generation: int
) -> bool:
    """Move a generation kept the old way (`schema.<table>_v<n>`) into its own schema.

    Deployments from before generation schemas keep their rows and checkpoints instead of
    showing an empty model until a rebuild. True when there was something to move.
    """
    moved = False
    for table in metadata.sorted_tables:
        old = f"{table.name}_v{generation}"
        if conn.execute(text("SELECT to_regclass(:n)"), {"n": f'"{schema}"."{old}"'}).scalar():
            conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{target}"'))
            conn.execute(text(f'ALTER TABLE "{schema}"."{old}" SET SCHEMA "{target}"'))
            conn.execute(text(f'ALTER TABLE "{target}"."{old}" RENAME TO "{table.name}"'))
            moved = True
    return moved


def drop_versioned_tables(
    conn: Connection, schema: str, metadata: MetaData, generation: int
) -> None:
    """Drop a generation kept the old way (an unfinished build: it restarts from scratch)."""
    for table in metadata.sorted_tables:
        conn.execute(text(f'DROP TABLE IF EXISTS "{schema}"."{table.name}_v{generation}"'))


def namespace_generations(conn: Connection, schema: str) -> list[str]:
    """Every generation schema of the namespace `schema`, for tearing a namespace down
    (dropping `schema` itself drops only the views). Namespace names over ~40 bytes are
    truncated in generation names, so only shorter ones are matched exactly."""
    pattern = re.escape(schema) + r"_[a-z0-9_]+_g[0-9]+"
    found = conn.execute(
        text("SELECT nspname FROM pg_namespace WHERE nspname ~ :pattern"),
        {"pattern": f"^{pattern}$"},
    )
    return sorted(row[0] for row in found)
