"""HTTP routes over the stream aggregates: hourly sales per SKU, top products of the last 24 h.

A SKU's stock is the inventory context's `GET /inventory/{sku}`: one fold of stock, one answer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from contexts.sales.stats import view
from producers.validation import Identifier, Instant
from projections.consistency import CONSISTENCY_RESPONSES
from skald.runtime import Runtime


class HourlySalesOut(BaseModel):
    sku: str
    hour: datetime
    revenue_cents: int
    units: int
    orders: int


class TopProductOut(BaseModel):
    sku: str
    revenue_cents: int
    units: int


def stats_routes(runtime: Runtime) -> APIRouter:
    """`GET /stats/sales` and `/stats/top-products` from the `sales.stats` read model."""
    router = APIRouter(
        tags=["stats"],
        dependencies=[Depends(runtime.read_your_writes(view.projection.name))],
        responses=CONSISTENCY_RESPONSES,
    )

    @router.get("/stats/sales", response_model=list[HourlySalesOut])
    async def hourly_sales(
        start: Annotated[Instant, Query(alias="from")],
        end: Annotated[Instant, Query(alias="to")],
        sku: Identifier | None = None,
    ) -> list[HourlySalesOut]:
        def read() -> list[HourlySalesOut]:
            rows = view.sales(runtime.engine, start, end, sku)
            return [HourlySalesOut.model_validate(r) for r in rows]

        return await run_in_threadpool(read)

    @router.get("/stats/top-products", response_model=list[TopProductOut])
    async def top_products(
        hours: Annotated[int, Query(ge=1, le=24 * 31)] = 24,
        limit: Annotated[int, Query(ge=1, le=100)] = 10,
    ) -> list[TopProductOut]:
        now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        since = now - timedelta(hours=hours - 1)  # this hour and the 23 before it

        def read() -> list[TopProductOut]:
            rows = view.top_products(runtime.engine, since, limit)
            return [TopProductOut.model_validate(r) for r in rows]

        return await run_in_threadpool(read)

    return router
