"""HTTP route over the fulfillment saga: its phase, steps done and compensations."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from contexts.sales.fulfillment import view
from producers.errors import Problem
from producers.validation import Identifier
from projections.consistency import CONSISTENCY_RESPONSES
from skald.runtime import Runtime


class SagaOut(BaseModel):
    order_id: str
    phase: str
    pending: list[str]
    steps: list[str]
    compensations: list[str]
    reason: str
    deadline: float
    since: str | None = None


def saga_routes(runtime: Runtime) -> APIRouter:
    """`GET /sagas/{order_id}` from the `sales.sagas` read model."""
    router = APIRouter(tags=["sagas"])
    consistent = Depends(runtime.read_your_writes(view.projection.name))

    @router.get(
        "/sagas/{order_id}",
        summary="The fulfillment saga of an order",
        response_model=SagaOut,
        responses={404: {"model": Problem}, **CONSISTENCY_RESPONSES},
        dependencies=[consistent],
    )
    async def read_saga(order_id: Identifier) -> SagaOut:
        state = await run_in_threadpool(view.get_saga, runtime.engine, order_id)
        if state is None:
            raise HTTPException(404, f"no saga for order {order_id}")
        return SagaOut.model_validate(state)

    return router
