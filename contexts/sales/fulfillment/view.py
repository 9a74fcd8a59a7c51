"""`sales.sagas`: each saga's newest state, projected from the saga table's changelog.

The changelog is the saga's durable, event-carried state (keyed by order id, in order per
key), so the read model keeps the newest value per key; the projection runtime gives it
generations, checkpoints in the same transaction, replay and read-your-writes.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Column, Engine, MetaData, String, Table, select

from contexts.sales.fulfillment.topics import CHANGELOG
from projections.model import PostgresProjection, Row, StateTable

metadata = MetaData()
sagas = Table(
    "sales_sagas",
    metadata,
    Column("order_id", String, primary_key=True),
    Column("phase", String, nullable=False),
    Column("state", JSON, nullable=False),
)


def _row(order_id: str, state: dict[str, Any]) -> Row:
    return {"order_id": order_id, "phase": state["phase"], "state": state}


projection = PostgresProjection(
    name="sales.sagas",
    topics=(CHANGELOG,),
    metadata=metadata,
    states=(StateTable(sagas, CHANGELOG, _row, lambda order_id: {"order_id": order_id}),),
)


def get_saga(engine: Engine, order_id: str) -> dict[str, Any] | None:
    """A saga's newest state as the read model has it, or None."""
    with engine.connect() as conn:
        row = conn.execute(select(sagas.c.state).where(sagas.c.order_id == order_id)).first()
    return None if row is None else dict(row.state)
