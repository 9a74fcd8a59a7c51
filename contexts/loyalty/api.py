"""HTTP query route of the loyalty context: a customer's points."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel
from sqlalchemy import select

from contexts.loyalty.points import balances, projection
from producers.errors import Problem
from producers.validation import Identifier
from projections.consistency import CONSISTENCY_RESPONSES
from skald.runtime import Runtime


class BalanceOut(BaseModel):
    customer_id: str
    points: int
    orders: int


def query_routes(runtime: Runtime) -> APIRouter:
    """`GET /loyalty/{customer_id}`, with read-your-writes like every read model."""
    router = APIRouter(tags=["loyalty"])
    consistent = runtime.read_your_writes(projection.name)

    @router.get(
        "/loyalty/{customer_id}",
        summary="A customer's loyalty points",
        responses={404: {"model": Problem}, **CONSISTENCY_RESPONSES},
        dependencies=[Depends(consistent)],
    )
    def read_balance(customer_id: Identifier) -> BalanceOut:
        with runtime.engine.connect() as conn:
            query = select(balances).where(balances.c.customer_id == customer_id)
            row = conn.execute(query).mappings().first()
        if row is None:
            raise HTTPException(status_code=404, detail=f"{customer_id} has no points yet")
        return BalanceOut.model_validate(dict(row))

    return router
