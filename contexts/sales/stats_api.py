"""HTTP routes over the stream aggregates: hourly sales per SKU, top products of the last 24 h,
current stock per SKU."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from processors.stats import view
from skald.services import Services


class HourlySalesOut(BaseModel):
    sku: str
    hour: datetime
    revenue_cents: int
    units: int
    orders: int


class StockOut(BaseModel):
    sku: str
    on_hand: int
    reserved: int
    available: int


class TopProductOut(BaseModel):
    sku: str
    revenue_cents: int
    units: int


def stats_routes(services: Services) -> APIRouter:
    """`GET /stats/sales`, `/stats/top-products` and `/stats/stock/{sku}` (eventually
    consistent: they trail the worker's tables by a follower batch)."""
    router = APIRouter(tags=["stats"])
    created: list[bool] = []

    def ready() -> None:
        if not created:  # the worker creates them too; whoever comes first
            view.setup(services.engine, services.settings.pg_schema)
            created.append(True)

    @router.get("/stats/sales", response_model=list[HourlySalesOut])
    async def hourly_sales(
        start: Annotated[datetime, Query(alias="from")],
        end: Annotated[datetime, Query(alias="to")],
        sku: str | None = None,
    ) -> list[HourlySalesOut]:
        if start.tzinfo is None or end.tzinfo is None:
            raise HTTPException(400, "from and to need a UTC offset")

        def read() -> list[HourlySalesOut]:
            ready()
            rows = view.sales(services.engine, start, end, sku)
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
            ready()
            rows = view.top_products(services.engine, since, limit)
            return [TopProductOut.model_validate(r) for r in rows]

        return await run_in_threadpool(read)

    @router.get(
        "/stats/stock/{sku}",
        response_model=StockOut,
        responses={404: {"description": "No stock event for this SKU yet"}},
    )
    async def current_stock(sku: str) -> StockOut:
        def read() -> dict[str, object] | None:
            ready()
            return view.stock(services.engine, sku)

        found = await run_in_threadpool(read)
        if found is None:
            raise HTTPException(404, f"no stock recorded for SKU {sku!r}")
        return StockOut.model_validate(found)

    return router
