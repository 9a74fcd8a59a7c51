"""HTTP routes over an order's history: its events, and its state as of a version."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path
from pydantic import BaseModel

from contexts.sales.history import order_events
from contexts.sales.read_models import order_history
from skald.runtime import Runtime

OrderId = Annotated[str, Path(min_length=1, max_length=64)]


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


class Problem(BaseModel):
    detail: str


def history_routes(runtime: Runtime) -> APIRouter:
    """The order history routes."""
    router = APIRouter(tags=["orders"])
    consistent = Depends(runtime.read_your_writes(order_history.projection.name))

    @router.get(
        "/orders/{order_id}/events",
        summary="An order's events with envelope fields",
        responses={404: {"model": Problem}},
        dependencies=[consistent],
    )
    def history(order_id: OrderId) -> OrderHistoryOut:
        rows = order_events(runtime.engine, order_id)
        if not rows:
            raise HTTPException(404, f"order {order_id} has no events")
        return OrderHistoryOut(order_id=order_id, events=[EventOut(**row) for row in rows])

    return router
