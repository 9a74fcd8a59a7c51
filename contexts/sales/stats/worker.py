"""The stream aggregates' agents: confirmed order lines by SKU into hourly buckets.

Each table changes only in its own agent, co-partitioned with its source (orders by order id,
re-keyed sales by SKU), and every change publishes the key's full current value.
"""

from __future__ import annotations

import json
from typing import Any

import faust

from contexts.sales.order.events import OrderConfirmed, OrderPlaced
from contexts.sales.stats import aggregates as agg
from contexts.sales.stats.topics import HOURLY_TABLE, ORDER_LINES_TABLE, SKU_HOURLY, SKU_SALES
from contexts.sales.topics import ORDER_EVENTS
from skald.context import Worker
from skald.runtime import Runtime

_RAW: dict[str, Any] = {
    "key_type": bytes,
    "value_type": bytes,
    "key_serializer": "raw",
    "value_serializer": "raw",
}
_PLACED, _CONFIRMED = OrderPlaced.EVENT_TYPE.encode(), OrderConfirmed.EVENT_TYPE.encode()


def wire(app: faust.App, runtime: Runtime) -> None:
    """Add the stats topics, tables and agents to `app`."""
    topic = runtime.topic
    order_events = app.topic(topic(ORDER_EVENTS), **_RAW)
    sku_sales = app.topic(topic(SKU_SALES.name), **_RAW)
    hourly_out = app.topic(topic(SKU_HOURLY.name), **_RAW)
    lines = app.Table(ORDER_LINES_TABLE, default=None, key_type=bytes)
    hourly = app.Table(HOURLY_TABLE, default=None, key_type=bytes)

    def decode(value: bytes) -> dict[str, Any]:
        return runtime.codec.decode(value)[1]

    @app.agent(order_events, name="sales_stats_confirmed_lines")
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

    @app.agent(sku_sales, name="sales_stats_hourly_sales")
    async def hourly_sales(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            sale = json.loads(event.value)
            key = f"{sale['sku']}|{sale['hour']}".encode()
            bucket = agg.add_sale(hourly.get(key), sale)
            if bucket is not None:
                hourly[key] = bucket
                value = json.dumps(agg.public_bucket(bucket)).encode()
                await hourly_out.send(key=key, value=value)


stats_worker = Worker("sales.stats", wire)
