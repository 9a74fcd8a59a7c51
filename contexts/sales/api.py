"""HTTP command routes of the sales context: place, confirm, cancel and ship orders."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from contexts.sales.aggregates import ORDER
from contexts.sales.fulfillment import saga
from contexts.sales.order import decider
from contexts.sales.order.commands import CancelOrder, ConfirmOrder, MarkOrderShipped, PlaceOrder
from contexts.sales.order.events import OrderItem
from producers.admission import ADMISSION_RESPONSES
from producers.http_commands import (
    COMMAND_RESPONSES,
    CommandAccepted,
    Rejections,
    accepted_responses,
    execute,
    links_by_id,
    options_for,
)
from producers.validation import (
    BodyInt,
    ExpectedVersion,
    Identifier,
    ItemName,
    PaymentToken,
    Reason,
)
from skald.runtime import Runtime

# What the order's domain errors answer on HTTP; an error not listed here is a 422.
ORDER_REJECTIONS: Rejections = {
    decider.OrderNotFound: 404,
    decider.OrderAlreadyPlaced: 409,
    decider.OrderTransitionForbidden: 409,
    decider.InvalidOrder: 422,
}

# Order ids derived from an Idempotency-Key: a retried POST /orders targets the same order.
ORDER_ID_NAMESPACE = uuid.UUID("6f1c9a3e-5d4b-4c7e-9a51-0d2b8e7f3c10")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")  # numbers are BodyInt: `false` is no price


class OrderItemIn(_Strict):
    sku: Identifier = Field(examples=["SKU-1"])
    name: ItemName = Field(examples=["Espresso beans 1kg"])
    quantity: BodyInt = Field(gt=0, le=10_000, examples=[2])
    unit_price_cents: BodyInt = Field(ge=0, le=100_000_000, examples=[1250])


class PlaceOrderIn(_Strict):
    customer_id: Identifier = Field(examples=["cust-42"])
    items: list[OrderItemIn] = Field(min_length=1, max_length=500)
    payment_token: PaymentToken | None = Field(
        None,
        description="Card token the fulfillment saga authorizes; `tok_declined` always declines",
    )


class ChangeOrderIn(_Strict):
    expected_version: ExpectedVersion | None = Field(
        None, description="Refuse with 409 unless the order is at this version"
    )


class CancelOrderIn(ChangeOrderIn):
    reason: Reason = "cancelled by request"


class OrderAccepted(CommandAccepted):
    order_id: str


# Where an accepted order's id leads (OpenAPI links).
ORDER_LINKS = links_by_id(
    "order_id",
    [
        ("/orders/{order_id}", "get"),
        ("/orders/{order_id}/events", "get"),
        ("/sagas/{order_id}", "get"),
        ("/orders/{order_id}/confirm", "post"),
        ("/orders/{order_id}/cancel", "post"),
        ("/orders/{order_id}/ship", "post"),
    ],
)


def command_routes(runtime: Runtime) -> APIRouter:
    """The sales command routes."""
    responses = {**COMMAND_RESPONSES, **accepted_responses(OrderAccepted, ORDER_LINKS)}
    router = APIRouter(tags=["orders"], responses=responses)

    async def send(
        command: object, request: Request, body: BaseModel | None, expected_version: int | None
    ) -> JSONResponse:
        options = options_for(request, body, expected_version)
        bus, timeout = runtime.command_bus, runtime.command_timeout
        return await execute(bus, ORDER, command, options, timeout, "order_id", ORDER_REJECTIONS)

    @router.post(
        "/orders",
        status_code=201,
        summary="Place an order",
        response_model=OrderAccepted,
        responses=ADMISSION_RESPONSES,  # it starts a saga: refused while Skald is at capacity
        dependencies=[Depends(runtime.admission_gate("place_order", hops=saga.HOPS))],
    )
    async def place_order(body: PlaceOrderIn, request: Request) -> JSONResponse:
        key = request.headers.get("Idempotency-Key")
        order_id = str(uuid.uuid5(ORDER_ID_NAMESPACE, key) if key else uuid.uuid4())
        items = tuple(OrderItem(**item.model_dump()) for item in body.items)
        now = datetime.now(UTC)
        command = PlaceOrder(order_id, body.customer_id, items, now, body.payment_token)
        return await send(command, request, body, None)

    @router.post(
        "/orders/{order_id}/confirm", summary="Confirm a placed order", response_model=OrderAccepted
    )
    async def confirm_order(
        order_id: Identifier, request: Request, body: ChangeOrderIn | None = None
    ) -> JSONResponse:
        body = body or ChangeOrderIn()
        command = ConfirmOrder(order_id, datetime.now(UTC))
        return await send(command, request, body, body.expected_version)

    @router.post(
        "/orders/{order_id}/cancel",
        summary="Cancel an order that has not shipped",
        response_model=OrderAccepted,
    )
    async def cancel_order(
        order_id: Identifier, request: Request, body: CancelOrderIn | None = None
    ) -> JSONResponse:
        body = body or CancelOrderIn()
        command = CancelOrder(order_id, body.reason, datetime.now(UTC))
        return await send(command, request, body, body.expected_version)

    @router.post(
        "/orders/{order_id}/ship",
        summary="Record that a confirmed order shipped",
        response_model=OrderAccepted,
    )
    async def ship_order(
        order_id: Identifier, request: Request, body: ChangeOrderIn | None = None
    ) -> JSONResponse:
        body = body or ChangeOrderIn()
        command = MarkOrderShipped(order_id, datetime.now(UTC))
        return await send(command, request, body, body.expected_version)

    return router
