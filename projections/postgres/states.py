"""State tables: one row per key of a state topic, the newest value of each key per batch."""

from __future__ import annotations

from sqlalchemy import Connection, delete, tuple_

from projections.model import ProjectedState, StateTable
from projections.postgres.folds import excluded
from projections.postgres.upsert import upsert


def store(conn: Connection, schema: str, state: StateTable, records: list[ProjectedState]) -> None:
    """Upsert each key's newest value and delete each key whose newest record is a tombstone.

    `records` are in log order per partition (as consumed), and a key lives on one
    partition, so the last record of a key is its newest. `state.row` may raise: the batch
    then fails and the applier isolates the record as a poison pill.
    """
    newest: dict[str, ProjectedState] = {}
    for record in records:
        if record.state == state.topic:
            newest[record.key] = record
    if not newest:
        return
    rows = [
        state.row(key, record.value)
        for key, record in sorted(newest.items())
        if record.value is not None
    ]
    if rows:
        # A row may leave a column out: it is NULL in the new value, like in a fresh insert.
        names = list(dict.fromkeys(name for row in rows for name in row))
        upsert(
            conn, schema, state.table, [{n: row.get(n) for n in names} for row in rows], excluded
        )
    gone = [state.primary_key(key) for key, record in newest.items() if record.value is None]
    if gone:
        keys = [column.name for column in state.table.primary_key.columns]
        columns = tuple_(*(state.table.c[name] for name in keys))
        conn.execute(
            delete(state.table).where(columns.in_([tuple(pk[n] for n in keys) for pk in gone]))
        )
