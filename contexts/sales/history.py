"""An order's history from the `order_history` read model, and its state as of a version."""

from __future__ import annotations

from functools import reduce
from typing import Any

from sqlalchemy import Engine, select

from contexts.sales.order import decider
from contexts.sales.order.events import EVENT_CLASSES
from contexts.sales.read_models.order_history import order_history
from eventstore.mapper import EventMapper, to_plain

_EVENTS = EventMapper(EVENT_CLASSES)


def order_events(engine: Engine, order_id: str, up_to: int | None = None) -> list[dict[str, Any]]:
    """The order's events in version order, each with its envelope fields."""
    query = select(order_history).where(order_history.c.order_id == order_id)
    if up_to is not None:
        query = query.where(order_history.c.version <= up_to)
    with engine.connect() as conn:
        return [
            dict(row) for row in conn.execute(query.order_by(order_history.c.version)).mappings()
        ]


def order_as_of(engine: Engine, order_id: str, version: int) -> dict[str, Any] | None:
    """The order's state folded from its events up to `version`; None if it has fewer."""
    rows = order_events(engine, order_id, up_to=version)
    if len(rows) < version or not rows:
        return None
    events = [_EVENTS.from_record(row["event_type"], row["payload"]) for row in rows]
    state = reduce(decider.evolve, events, decider.INITIAL)
    return {"order_id": order_id, "version": version, **to_plain(state)}
