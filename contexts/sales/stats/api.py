"""HTTP routes over the stream aggregates: hourly sales per SKU, top products of the last 24 h.

A SKU's stock is the inventory context's `GET /inventory/{sku}`: one fold of stock, one answer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from contexts.sales.stats import view
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
        tags=["stats"], dependencies=[Depends(runtime.read_your_writes(view.projection.name))]
    )

    @router.get("/stats/sales", response_model=list[HourlySalesOut])
    async def hourly_sales(
        start: Annotated[datetime, Query(alias="from")],
        end: Annotated[datetime, Query(alias="to")],
        sku: str | None = None,
    ) -> list[HourlySalesOut]:
        if start.tzinfo is None or end.tzinfo is None:
            raise HTTPException(400, "from and to need a UTC offset")

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
