"""HTTP command routes of the inventory context: restock, reserve and release stock."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from contexts.inventory.aggregates import STOCK
from contexts.inventory.stock import decider
from contexts.inventory.stock.commands import ReleaseStock, ReserveStock, Restock
from producers.http_commands import (
    COMMAND_RESPONSES,
    CommandAccepted,
    Rejections,
    accepted_responses,
    execute,
    links_by_id,
    options_for,
)
from producers.validation import BodyInt, ExpectedVersion, Identifier
from skald.runtime import Runtime

# What the stock's domain errors answer on HTTP; an error not listed here is a 422.
STOCK_REJECTIONS: Rejections = {
    decider.InsufficientStock: 409,
    decider.ReservationMismatch: 409,
    decider.InvalidQuantity: 422,
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")  # numbers are BodyInt: `false` is no price
    expected_version: ExpectedVersion | None = Field(
        None, description="Refuse with 409 unless the stock is at this version"
    )


class RestockIn(_Strict):
    quantity: BodyInt = Field(gt=0, le=1_000_000, examples=[100])


class ReserveIn(_Strict):
    order_id: Identifier = Field(examples=["order-1"])
    quantity: BodyInt = Field(gt=0, le=1_000_000, examples=[2])


class ReleaseIn(_Strict):
    order_id: Identifier = Field(examples=["order-1"])


class StockAccepted(CommandAccepted):
    sku: str


# Where an accepted stock command's SKU leads (OpenAPI links).
STOCK_LINKS = links_by_id(
    "sku",
    [
        ("/inventory/{sku}", "get"),
        ("/inventory/{sku}/reserve", "post"),
        ("/inventory/{sku}/release", "post"),
    ],
)


def command_routes(runtime: Runtime) -> APIRouter:
    """The inventory command routes."""
    responses = {**COMMAND_RESPONSES, **accepted_responses(StockAccepted, STOCK_LINKS)}
    router = APIRouter(tags=["inventory"], responses=responses)

    async def send(command: object, request: Request, body: _Strict) -> JSONResponse:
        options = options_for(request, body, body.expected_version)
        bus, timeout = runtime.command_bus, runtime.command_timeout
        return await execute(bus, STOCK, command, options, timeout, "sku", STOCK_REJECTIONS)

    @router.post(
        "/inventory/{sku}/restock", summary="Add units of a SKU", response_model=StockAccepted
    )
    async def restock(sku: Identifier, body: RestockIn, request: Request) -> JSONResponse:
        return await send(Restock(sku, body.quantity, datetime.now(UTC)), request, body)

    @router.post(
        "/inventory/{sku}/reserve",
        summary="Reserve units of a SKU for an order",
        response_model=StockAccepted,
    )
    async def reserve(sku: Identifier, body: ReserveIn, request: Request) -> JSONResponse:
        command = ReserveStock(sku, body.order_id, body.quantity, datetime.now(UTC))
        return await send(command, request, body)

    @router.post(
        "/inventory/{sku}/release",
        summary="Release an order's reservation",
        response_model=StockAccepted,
    )
    async def release(sku: Identifier, body: ReleaseIn, request: Request) -> JSONResponse:
        return await send(ReleaseStock(sku, body.order_id, datetime.now(UTC)), request, body)

    return router
