"""HTTP query routes of the sales context: an order, a customer's orders, order search.

Every route takes `X-Skald-Position` (read-your-writes) and waits for its own read model.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel

from contexts.sales.history import order_as_of
from contexts.sales.queries import InvalidCursor, customer_orders, get_order, search_orders
from contexts.sales.read_models import order_history, order_search, orders
from producers.errors import Problem
from producers.validation import Cents, Identifier, Instant, SearchText, Version
from projections.consistency import CONSISTENCY_RESPONSES, POSITION_HEADER
from skald.runtime import Runtime


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
    confirmed_at: datetime | None = None
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None
    shipped_at: datetime | None = None
    updated_at: datetime


class CustomerSummaryOut(BaseModel):
    orders: int
    placed: int
    confirmed: int
    shipped: int
    cancelled: int
    total_cents: int


class CustomerOrdersOut(BaseModel):
    customer_id: str
    summary: CustomerSummaryOut | None
    orders: list[OrderOut]
    next_cursor: str | None


class OrderAsOfOut(BaseModel):
    """An order as it stood at a version, folded from its events with the decider's evolve."""

    order_id: str
    version: int
    status: str
    customer_id: str
    items: list[OrderItemOut]
    total_cents: int


class OrderSearchOut(BaseModel):
    total: int
    orders: list[OrderOut]


def query_routes(runtime: Runtime) -> APIRouter:
    """The sales query routes."""
    router = APIRouter(tags=["orders"])
    in_orders = Depends(runtime.read_your_writes(orders.projection.name))
    in_search = Depends(runtime.read_your_writes(order_search.projection.name))
    in_history = runtime.read_your_writes(order_history.projection.name)

    @router.get(
        "/orders/{order_id}",
        summary="An order from the PostgreSQL read model",
        responses={404: {"model": Problem}, **CONSISTENCY_RESPONSES},
        dependencies=[in_orders],
    )
    def read_order(
        order_id: Identifier,
        request: Request,
        as_of_version: Annotated[
            Version | None,
            Query(description="Fold the order's events up to this version instead"),
        ] = None,
    ) -> OrderOut | OrderAsOfOut:
        if as_of_version is not None:
            return _as_of(order_id, as_of_version, request.headers.get(POSITION_HEADER))
        order = get_order(runtime.engine, order_id)
        if order is None:
            raise HTTPException(status_code=404, detail=f"order {order_id} not found")
        return OrderOut.model_validate(order)

    def _as_of(order_id: str, version: int, token: str | None) -> OrderAsOfOut:
        in_history(token)  # temporal queries fold the order_history read model: wait for it too
        state = order_as_of(runtime.engine, order_id, version)
        if state is None:
            raise HTTPException(404, f"order {order_id} has no version {version}")
        return OrderAsOfOut.model_validate(state)

    @router.get(
        "/customers/{customer_id}/orders",
        summary="A customer's order summary and orders, newest first",
        responses={
            400: {"model": Problem, "description": "A bad cursor or position token"},
            504: CONSISTENCY_RESPONSES[504],
        },
        dependencies=[in_orders],
    )
    def read_customer_orders(
        customer_id: Identifier,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
        cursor: Annotated[
            str | None, Query(max_length=400, description="next_cursor of the previous page")
        ] = None,
    ) -> CustomerOrdersOut:
        try:
            found = customer_orders(runtime.engine, customer_id, limit, cursor)
        except InvalidCursor as error:
            raise HTTPException(status_code=400, detail=str(error)) from None
        return CustomerOrdersOut.model_validate(found)

    @router.get(
        "/search/orders",
        summary="Full-text search and filters over orders (OpenSearch)",
        responses=CONSISTENCY_RESPONSES,
        dependencies=[in_search],
    )
    def search(
        q: Annotated[
            SearchText | None,
            Query(description="Free text, or an order id, customer id or SKU (found first)"),
        ] = None,
        status: Annotated[
            str | None, Query(pattern="^(placed|confirmed|cancelled|shipped)$")
        ] = None,
        min_total: Annotated[Cents | None, Query(description="Cents")] = None,
        placed_from: Annotated[Instant | None, Query(alias="from")] = None,
        placed_to: Annotated[Instant | None, Query(alias="to")] = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
    ) -> OrderSearchOut:
        index = runtime.index(order_search.projection.index)
        found = search_orders(
            runtime.opensearch, index, q, limit, status, min_total, placed_from, placed_to
        )
        return OrderSearchOut.model_validate(found)

    return router
