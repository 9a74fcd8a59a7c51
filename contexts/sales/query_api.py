"""HTTP query routes of the sales context: read an order, search orders."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel

from contexts.sales.queries import get_order, search_orders
from skald.services import Services


class OrderItemOut(BaseModel):
    sku: str
    name: str
    quantity: int
    unit_price_cents: int


class OrderOut(BaseModel):
    order_id: str
    customer_id: str
    status: str
    items: list[OrderItemOut]
    total_cents: int
    version: int
    placed_at: datetime
    updated_at: datetime


class OrderSearchOut(BaseModel):
    total: int
    orders: list[OrderOut]


class Problem(BaseModel):
    detail: str


def query_routes(services: Services) -> APIRouter:
    """The sales query routes, bound to this process's services."""
    router = APIRouter(tags=["orders"])

    @router.get(
        "/orders/{order_id}",
        summary="An order from the PostgreSQL read model",
        responses={404: {"model": Problem}},
    )
    def read_order(order_id: str) -> OrderOut:
        order = get_order(services.engine, order_id)
        if order is None:
            raise HTTPException(status_code=404, detail=f"order {order_id} not found")
        return OrderOut.model_validate(order)

    @router.get("/search/orders", summary="Full-text search over orders (OpenSearch)")
    def search(
        q: Annotated[str, Query(min_length=1, max_length=200, description="Free text")],
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
    ) -> OrderSearchOut:
        found = search_orders(services.opensearch, services.settings.index("orders"), q, limit)
        return OrderSearchOut.model_validate(found)

    return router
