"""The stream aggregates' agents: order lines by SKU into hourly buckets, stock per SKU.

Each table changes only in its own agent, co-partitioned with its source (orders by order id,
stock events and re-keyed sales by SKU), and every change publishes the key's full current value.
"""

from __future__ import annotations

import json
from typing import Any

import faust

from contexts.inventory.aggregates import STOCK
from contexts.sales.aggregates import ORDER
from eventstore.envelope import Envelope
from processors.stats import aggregates as agg
from processors.stats.topics import SKU_HOURLY, SKU_SALES, STOCK_CURRENT
from skald.services import Services

_RAW: dict[str, Any] = {
    "key_type": bytes,
    "value_type": bytes,
    "key_serializer": "raw",
    "value_serializer": "raw",
}
_PLACED, _CONFIRMED = b"sales.order.OrderPlaced", b"sales.order.OrderConfirmed"


def wire(app: faust.App, services: Services) -> None:
    """Add the stats topics, tables and agents to `app`."""
    topic = services.settings.topic
    order_events = app.topic(topic(ORDER.events_topic), **_RAW)
    stock_events = app.topic(topic(STOCK.events_topic), **_RAW)
    sku_sales = app.topic(topic(SKU_SALES.name), **_RAW)
    hourly_out = app.topic(topic(SKU_HOURLY.name), **_RAW)
    stock_out = app.topic(topic(STOCK_CURRENT.name), **_RAW)
    lines = app.Table("stats_order_lines", default=None, key_type=bytes)
    hourly = app.Table("stats_sku_hourly", default=None, key_type=bytes)
    stock = app.Table("stats_stock", default=None, key_type=bytes)

    def decode(value: bytes) -> dict[str, Any]:
        return services.codec.decode(value)[1]

    @app.agent(order_events, name="stats_confirmed_lines")
    async def confirmed_lines(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            kind = dict(event.message.headers or ()).get("ce_type")
            if kind == _PLACED:
                body = decode(event.value)
                per_sku: dict[str, list[int]] = {}
                for item in body["items"]:
                    units, cents = per_sku.get(item["sku"], [0, 0])
                    amount = item["quantity"] * item["unit_price_cents"]
                    per_sku[item["sku"]] = [units + item["quantity"], cents + amount]
                lines[event.key] = per_sku
            elif kind == _CONFIRMED and lines.get(event.key) is not None:
                body = decode(event.value)
                hour = agg.hour_of(body["confirmed_at"])
                for sku, (units, cents) in lines[event.key].items():
                    sale = {"sku": sku, "hour": hour, "units": units, "cents": cents}
                    sale["order_id"] = body["order_id"]
                    await sku_sales.send(key=sku.encode(), value=json.dumps(sale).encode())

    @app.agent(sku_sales, name="stats_hourly_sales")
    async def hourly_sales(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            sale = json.loads(event.value)
            key = f"{sale['sku']}|{sale['hour']}".encode()
            bucket = agg.add_sale(hourly.get(key), sale)
            if bucket is not None:
                hourly[key] = bucket
                value = json.dumps(agg.public_bucket(bucket)).encode()
                await hourly_out.send(key=key, value=value)

    @app.agent(stock_events, name="stats_current_stock")
    async def current_stock(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            envelope = Envelope.from_headers(list(event.message.headers or ()))
            kind = envelope.event_type.rsplit(".", 1)[1]
            sku = envelope.aggregate_id
            state = agg.evolve_stock(
                stock.get(event.key), sku, envelope.aggregate_version, kind, decode(event.value)
            )
            if state is not None:
                stock[event.key] = state
                value = json.dumps(agg.stock_value(state)).encode()
                await stock_out.send(key=sku.encode(), value=value)
