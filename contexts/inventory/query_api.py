"""HTTP query routes of the inventory context: stock levels per SKU."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel

from contexts.inventory.queries import get_stock_level
from contexts.inventory.read_models import stock_levels
from producers.errors import Problem
from producers.validation import Identifier
from projections.consistency import CONSISTENCY_RESPONSES
from skald.runtime import Runtime


class StockLevelOut(BaseModel):
    sku: str
    on_hand: int
    reserved: int
    available: int
    version: int
    updated_at: datetime


def query_routes(runtime: Runtime) -> APIRouter:
    """The inventory query routes."""
    router = APIRouter(tags=["inventory"])
    consistent = runtime.read_your_writes(stock_levels.projection.name)

    @router.get(
        "/inventory/{sku}",
        summary="A SKU's stock level from the PostgreSQL read model",
        responses={404: {"model": Problem}, **CONSISTENCY_RESPONSES},
        dependencies=[Depends(consistent)],
    )
    def read_stock_level(sku: Identifier) -> StockLevelOut:
        level = get_stock_level(runtime.engine, sku)
        if level is None:
            raise HTTPException(status_code=404, detail=f"SKU {sku} has no stock level")
        return StockLevelOut.model_validate(level)

    return router
