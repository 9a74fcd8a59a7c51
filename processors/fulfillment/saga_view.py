"""The `sagas` read model: each saga's newest state, fed from the saga table's changelog.

The changelog is the saga's durable, event-carried state (keyed by order id, in order per key),
so the read model is a last-write-wins upsert of it: replaying or redelivering a record writes
the same row again. Offsets commit after the rows, so a crash re-applies, never skips.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from confluent_kafka import Message
from sqlalchemy import JSON, Column, Engine, MetaData, String, Table, delete, select, text
from sqlalchemy.dialects.postgresql import insert

from processors import state_follower
from processors.fulfillment.app import app_id
from processors.fulfillment.topics import TABLE
from skald.services import Services

sagas = Table(
    "sales_sagas",
    MetaData(),
    Column("order_id", String, primary_key=True),
    Column("phase", String, nullable=False),
    Column("state", JSON, nullable=False),
)


def setup(engine: Engine, schema: str) -> None:
    """Create the table if missing (idempotent)."""
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        sagas.create(conn, checkfirst=True)


def apply(engine: Engine, messages: list[Message]) -> None:
    """Write the newest state of every saga in `messages` (a tombstone deletes it)."""
    newest: dict[str, bytes | None] = {}
    for message in messages:
        newest[(message.key() or b"").decode()] = message.value()
    with engine.begin() as conn:
        for order_id, value in newest.items():
            if value is None:
                conn.execute(delete(sagas).where(sagas.c.order_id == order_id))
                continue
            state = json.loads(value)
            row = {"order_id": order_id, "phase": state["phase"], "state": state}
            upsert = insert(sagas).values(row)
            conn.execute(upsert.on_conflict_do_update(index_elements=["order_id"], set_=row))


def get_saga(engine: Engine, order_id: str) -> dict[str, Any] | None:
    """A saga's newest state as the read model has it, or None."""
    with engine.connect() as conn:
        row = conn.execute(select(sagas.c.state).where(sagas.c.order_id == order_id)).first()
    return None if row is None else dict(row.state)


def follow(services: Services, stop: threading.Event) -> None:
    """Feed the read model from the changelog until `stop` is set (one group for all workers)."""
    settings = services.settings
    setup(services.engine, settings.pg_schema)
    changelog = f"{app_id(settings)}-{TABLE}-changelog"

    def write(batch: list[Message]) -> None:
        apply(services.engine, batch)

    state_follower.follow(settings, "skald.saga-view", [changelog], write, stop)


def start(services: Services) -> threading.Event:
    """Run `follow` on a daemon thread; set the returned event to stop it."""
    return state_follower.start("saga-view", lambda stop: follow(services, stop))
