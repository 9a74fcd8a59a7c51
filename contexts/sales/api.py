"""HTTP command routes of the sales context."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from contexts.sales.order.commands import PlaceOrder
from contexts.sales.order.decider import INITIAL, OrderError, decide
from contexts.sales.order.events import OrderItem
from contexts.sales.topics import ORDER_EVENTS
from eventstore.appender import Stream
from skald.services import Services


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class OrderItemIn(_Strict):
    sku: str = Field(min_length=1, max_length=64, examples=["SKU-1"])
    name: str = Field(min_length=1, max_length=200, examples=["Espresso beans 1kg"])
    quantity: int = Field(gt=0, le=10_000, examples=[2])
    unit_price_cents: int = Field(ge=0, le=100_000_000, examples=[1250])


class PlaceOrderIn(_Strict):
    customer_id: str = Field(min_length=1, max_length=128, examples=["cust-42"])
    items: list[OrderItemIn] = Field(min_length=1, max_length=500)


class OrderAccepted(BaseModel):
    order_id: str
    version: int = Field(description="The order's version after this command")
    position: str = Field(description="Opaque consistency token: where the event landed")


class Problem(BaseModel):
    detail: str


def command_routes(services: Services) -> APIRouter:
    """The sales command routes, bound to this process's services."""
    router = APIRouter(tags=["orders"])
    topic = services.settings.topic(ORDER_EVENTS)

    @router.post(
        "/orders",
        status_code=201,
        summary="Place an order",
        responses={413: {"model": Problem}, 422: {"model": Problem}, 503: {"model": Problem}},
    )
    async def place_order(body: PlaceOrderIn) -> OrderAccepted:
        command = PlaceOrder(
            order_id=str(uuid.uuid4()),
            customer_id=body.customer_id,
            items=tuple(OrderItem(**item.model_dump()) for item in body.items),
            at=datetime.now(UTC),
        )
        try:
            events = decide(INITIAL, command)
        except OrderError as error:
            raise HTTPException(status_code=422, detail=str(error)) from error
        stream = Stream(topic, "order", command.order_id)
        appended = await services.appender.append(stream, events, first_version=1)
        last = appended[-1]
        return OrderAccepted(
            order_id=command.order_id,
            version=last.envelope.aggregate_version,
            position=last.position.token(),
        )

    return router
