"""HTTP routes over an order's history: its events, and its state as of a version."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel

from contexts.sales.history import order_events
from contexts.sales.read_models import order_history
from producers.errors import Problem
from producers.validation import Identifier
from projections.consistency import CONSISTENCY_RESPONSES
from skald.runtime import Runtime


class EventOut(BaseModel):
    version: int
    event_id: str
    event_type: str
    schema_version: int
    occurred_at: datetime
    correlation_id: str
    causation_id: str
    source: str
    payload: dict[str, Any]


class OrderHistoryOut(BaseModel):
    order_id: str
    events: list[EventOut]


def history_routes(runtime: Runtime) -> APIRouter:
    """The order history routes."""
    router = APIRouter(tags=["orders"])
    consistent = Depends(runtime.read_your_writes(order_history.projection.name))

    @router.get(
        "/orders/{order_id}/events",
        summary="An order's events with envelope fields",
        responses={404: {"model": Problem}, **CONSISTENCY_RESPONSES},
        dependencies=[consistent],
    )
    def history(order_id: Identifier) -> OrderHistoryOut:
        rows = order_events(runtime.engine, order_id)
        if not rows:
            raise HTTPException(404, f"order {order_id} has no events")
        return OrderHistoryOut(order_id=order_id, events=[EventOut(**row) for row in rows])

    return router
