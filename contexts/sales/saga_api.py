"""HTTP route over the fulfillment saga: its phase, steps done and compensations."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from processors.fulfillment import saga_view
from skald.services import Services

OrderId = Annotated[str, Path(min_length=1, max_length=64)]


class SagaOut(BaseModel):
    order_id: str
    phase: str
    pending: list[str]
    steps: list[str]
    compensations: list[str]
    reason: str
    deadline: float
    since: str | None = None


def saga_routes(services: Services) -> APIRouter:
    """`GET /sagas/{order_id}` from the `sales_sagas` read model (eventually consistent)."""
    router = APIRouter(tags=["sagas"])
    created: list[bool] = []

    def read(order_id: str) -> dict[str, object] | None:
        if not created:  # the worker creates it too; whoever comes first
            saga_view.setup(services.engine, services.settings.pg_schema)
            created.append(True)
        return saga_view.get_saga(services.engine, order_id)

    @router.get("/sagas/{order_id}", response_model=SagaOut, responses={404: {}})
    async def read_saga(order_id: OrderId) -> SagaOut:
        state = await run_in_threadpool(read, order_id)
        if state is None:
            raise HTTPException(404, f"no saga for order {order_id}")
        return SagaOut.model_validate(state)

    return router
