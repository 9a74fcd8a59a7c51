"""Row folds and rollups: read a batch's rows once, fold in memory, write each change once."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable

from sqlalchemy import Connection, Table, delete

from projections.model import Contribution, ProjectedEvent, Row, RowFold
from projections.postgres.upsert import upsert

Rows = dict[str, Row | None]  # by key; None = no row


def fold(
    conn: Connection,
    schema: str,
    table: Table,
    fold: RowFold,
    events: list[ProjectedEvent],
    gate: bool,
) -> tuple[Rows, Rows]:
    """The touched rows before and after folding the events in, by key.

    With `gate`, events at or below a row's `version` are skipped (already folded in).
    """
    relevant = [item for item in events if type(item.event) in fold.handlers]
    if not relevant:
        return {}, {}
    (pk,) = [column.name for column in table.primary_key.columns]
    keys = {fold.key(item.event) for item in relevant}
    before: Rows = {row[pk]: row for row in _rows_with_keys(conn, schema, table, pk, keys)}
    after = dict(before)
    for item in relevant:
        key = fold.key(item.event)
        row = after.get(key)
        if gate and row is not None and item.envelope.aggregate_version <= row["version"]:
            continue  # already folded in
        after[key] = fold.handlers[type(item.event)](row, item.event, item.envelope)
    return before, after


def _rows_with_keys(
    conn: Connection, schema: str, table: Table, pk: str, keys: set[str]
) -> list[Row]:
    """The rows whose primary key is one of `keys`, as dicts.

    One statement whose one parameter is a JSON array: `IN` with a bound parameter per key
    cost SQLAlchemy a rendering and psycopg a parse of a statement with thousands of
    placeholders every batch (a sixth of the apply thread).
    """
    key_type = table.c[pk].type.compile(dialect=conn.dialect)
    result = conn.exec_driver_sql(
        f'SELECT * FROM "{schema}"."{table.name}" WHERE "{pk}" IN '
        f"(SELECT k::{key_type} FROM json_array_elements_text(%s::json) AS k)",
        (json.dumps(sorted(keys)),),
    )
    return [dict(row) for row in result.mappings()]


def store(conn: Connection, schema: str, table: Table, before: Rows, after: Rows) -> Rows:
    """Write the rows that changed (upsert or delete); returns them by key."""
    (pk,) = [column.name for column in table.primary_key.columns]
    changed = {key: row for key, row in after.items() if row is not before.get(key)}
    rows = [row for _key, row in sorted(changed.items()) if row is not None]
    if rows:
        upsert(conn, schema, table, rows, excluded)
    gone = [key for key, row in changed.items() if row is None]
    if gone:
        conn.execute(delete(table).where(table.c[pk].in_(gone)))
    return changed


def excluded(name: str) -> str:
    """On conflict, take the new value."""
    return f'EXCLUDED."{name}"'


def roll_up(
    conn: Connection,
    schema: str,
    table: Table,
    contribution: Contribution,
    before: Rows,
    changed: Rows,
) -> None:
    """Add each changed row's contribution minus its old one to the rollup's counters."""
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
    upsert(conn, schema, table, rows, _adding(table))


def _adding(table: Table) -> Callable[[str], str]:
    return lambda name: f'"{table.name}"."{name}" + EXCLUDED."{name}"'
