"""The stream aggregates' agents: confirmed order lines by SKU into hourly buckets.

Each table changes only in its own agent, co-partitioned with its source (orders by order id,
re-keyed sales by SKU), and each key a batch changes publishes its full current value once. An
`OrderConfirmed` carries what was confirmed (schema v2), so an order is counted from its
confirmation alone. `sales_stats_order_lines` holds only the lines an earlier version kept
from `OrderPlaced` for orders whose v1 confirmation (without items) is still to come: nothing
writes it any more, and each entry is deleted (a changelog tombstone) once its order is
counted or cancelled, so it drains to empty. An hour's
bucket leaves `sales_stats_sku_hourly` once its window closes (`SKALD_STATS_GRACE_HOURS`
after the hour ends): a timer sends a close for it through the bucket's own partition of
`sales.stats.sku-sales`, where the agent that owns the bucket deletes it. So that table
holds the open hours of each SKU, not every hour that ever sold.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import faust

from contexts.sales.order.events import OrderCancelled, OrderConfirmed
from contexts.sales.stats import aggregates as agg
from contexts.sales.stats import metrics
from contexts.sales.stats.settings import StatsSettings
from contexts.sales.stats.topics import HOURLY_TABLE, ORDER_LINES_TABLE, SKU_HOURLY, SKU_SALES
from contexts.sales.topics import ORDER_EVENTS
from processors.batches import batches
from skald.context import Worker
from skald.runtime import Runtime

log = logging.getLogger("skald.stats")
_RAW: dict[str, Any] = {
    "key_type": bytes,
    "value_type": bytes,
    "key_serializer": "raw",
    "value_serializer": "raw",
}
_CONFIRMED = OrderConfirmed.EVENT_TYPE.encode()
_CANCELLED = OrderCancelled.EVENT_TYPE.encode()
_BATCH, _BATCH_SECONDS = 500, 0.005  # like the saga: one producer flush per batch

Lines = dict[str, list[int]]  # SKU -> [units, cents] of one order


def order_lines(order: dict[str, Any]) -> Lines:
    """An OrderPlaced or OrderConfirmed body's units and cents per SKU (items of one SKU
    merged)."""
    per_sku: Lines = {}
    for item in order["items"]:
        units, cents = per_sku.get(item["sku"], [0, 0])
        amount = item["quantity"] * item["unit_price_cents"]
        per_sku[item["sku"]] = [units + item["quantity"], cents + amount]
    return per_sku


def confirmed_lines_of(confirmed: dict[str, Any]) -> Lines | None:
    """What an OrderConfirmed says was confirmed; None for a v1 confirmation, which carries
    no items (its lines were kept from its OrderPlaced by an earlier version)."""
    return order_lines(confirmed) if confirmed.get("items") else None


def sales_of(lines: Lines, confirmed: dict[str, Any], source: list[int]) -> list[dict[str, Any]]:
    """One sale per SKU of a confirmed order, in the hour of its confirmation; `source` is
    where the confirmation sits in the order events ([partition, offset]): duplicates share it."""
    hour = agg.hour_of(confirmed["confirmed_at"])
    order_id = confirmed["order_id"]
    return [
        {
            "sku": sku,
            "hour": hour,
            "units": units,
            "cents": cents,
            "order_id": order_id,
            "source": source,
        }
        for sku, (units, cents) in lines.items()
    ]


def closes_order(kind: bytes | None) -> bool:
    """Whether the order's kept lines are no longer needed after this event: counted or
    cancelled. A redelivered OrderConfirmed re-sends the same sales, which the buckets
    recognise by their source."""
    return kind in (_CONFIRMED, _CANCELLED)


def wire(app: faust.App, runtime: Runtime) -> None:
    """Add the stats topics, tables and agents to `app`."""
    settings = StatsSettings()
    grace = timedelta(hours=settings.grace_hours)
    topic = runtime.topic
    order_events = app.topic(topic(ORDER_EVENTS), **_RAW)
    sku_sales = app.topic(topic(SKU_SALES.name), **_RAW)
    hourly_out = app.topic(topic(SKU_HOURLY.name), **_RAW)
    lines = app.Table(ORDER_LINES_TABLE, default=None, key_type=bytes)
    hourly = app.Table(HOURLY_TABLE, default=None, key_type=bytes)

    def decode(value: bytes) -> dict[str, Any]:
        return runtime.codec.decode(value)[1]

    def write(stream: faust.Stream[bytes], event: faust.EventT, change: Callable[[], None]) -> None:
        """A table change on `event`'s partition. The stream's current event is put back:
        Faust's own iterator, in another task, reads it after each event it delivers."""
        current = stream.current_event
        stream._set_current_event(event)
        try:
            change()
        finally:
            stream._set_current_event(current)

    async def count_orders(stream: faust.Stream[bytes], events: Sequence[faust.EventT]) -> None:
        """A batch of order events: the confirmed orders' sales sent, one flush, then any
        lines an earlier version kept for the closed orders deleted. The flush comes first so
        a tombstone never outlives lost sales: a crash before it re-delivers the batch with
        the lines still there."""
        sales: list[dict[str, Any]] = []
        closed: list[faust.EventT] = []
        for event in events:
            kind = dict(event.message.headers or ()).get("ce_type")
            if kind == _CONFIRMED:
                confirmed = decode(event.value)
                known = confirmed_lines_of(confirmed) or lines.get(event.key)
                if known is not None:
                    source = [event.message.partition, event.message.offset]
                    sales += sales_of(known, confirmed, source)
                else:
                    log.warning("order %s: confirmed without items or kept lines", event.key)
                    metrics.UNCOUNTED.inc()
            if closes_order(kind):
                closed.append(event)
        for sale in sales:
            await sku_sales.send(key=sale["sku"].encode(), value=json.dumps(sale).encode())
        if sales:
            await app.producer.flush()  # the sales are durable before any lines go
        for event in closed:
            if lines.get(event.key) is not None:  # a tombstone: the table drains
                write(stream, event, partial(lines.__delitem__, event.key))

    @app.agent(order_events, name="sales_stats_confirmed_lines")
    async def confirmed_lines(stream: faust.StreamT[bytes]) -> None:
        assert isinstance(stream, faust.Stream)
        async for events in batches(stream, _BATCH, _BATCH_SECONDS):
            await count_orders(stream, events)

    async def publish(key: bytes, bucket: dict[str, Any]) -> None:
        await hourly_out.send(key=key, value=json.dumps(agg.public_bucket(bucket)).encode())

    async def count_sales(stream: faust.Stream[bytes], events: Sequence[faust.EventT]) -> None:
        """A batch of sales (and the timer's closes) in order: each bucket they change is
        written and published once, with all of the batch's sales in it. In a flash sale every
        order sells the same SKU: one bucket update per batch, not one per order."""
        changed: dict[bytes, tuple[dict[str, Any], faust.EventT]] = {}
        now = datetime.now(UTC)
        for event in events:
            sale = json.loads(event.value)
            if "close" in sale:
                closing = sale["close"].encode()
                pending = changed.pop(closing, None)
                if pending is not None:
                    await publish(closing, pending[0])  # its last sales count before it goes
                held = hourly.get(closing) is not None
                if held:  # a tombstone: compaction removes it
                    write(stream, event, partial(hourly.__delitem__, closing))
                if held or pending is not None:
                    metrics.CLOSED_BUCKETS.inc()
                continue
            if agg.closed(sale["hour"], now, grace):
                log.warning(
                    "a sale of %s for the closed hour %s: dropped", sale["sku"], sale["hour"]
                )
                metrics.LATE_SALES.inc()
                continue
            key = agg.bucket_key(sale["sku"], sale["hour"])
            bucket = agg.add_sale(changed[key][0] if key in changed else hourly.get(key), sale)
            if bucket is not None:
                changed[key] = (bucket, event)  # written on the partition of its last sale
        for key, (bucket, event) in changed.items():
            write(stream, event, partial(hourly.__setitem__, key, bucket))
            await publish(key, bucket)

    @app.agent(sku_sales, name="sales_stats_hourly_sales")
    async def hourly_sales(stream: faust.StreamT[bytes]) -> None:
        assert isinstance(stream, faust.Stream)
        async for events in batches(stream, _BATCH, _BATCH_SECONDS):
            await count_sales(stream, events)

    @app.timer(settings.close_every_seconds, name="sales_stats_close_hours")
    async def close_hours() -> None:
        """A close for each bucket of this worker whose window has closed, on the bucket's
        partition (keyed by SKU like its sales). Repeated until the agent has deleted it."""
        recovered = app.tables.recovery.completed.is_set()  # type: ignore[attr-defined]
        if app.rebalancing or app.in_recovery or not recovered:
            return  # the table is being restored
        now = datetime.now(UTC)
        closed: dict[str, bool] = {}  # per hour, not per key: a look walks every bucket
        for key in list(hourly.keys()):
            sku, hour = agg.sku_and_hour(key)
            if hour not in closed:
                closed[hour] = agg.closed(hour, now, grace)
            if closed[hour]:
                close = json.dumps({"close": key.decode()}).encode()
                await sku_sales.send(key=sku.encode(), value=close)


stats_worker = Worker("sales.stats", wire)
