"""The stream aggregates' topics: a repartition by SKU and the event-carried state they publish."""

from __future__ import annotations

from eventstore.topics import TopicSpec

_WEEK = {"cleanup.policy": "delete", "retention.ms": "604800000"}
_LATEST = {"cleanup.policy": "compact"}  # full current values: the newest per key is enough

# Confirmed order lines re-keyed by SKU (one record per SKU of an order).
SKU_SALES = TopicSpec("sales.stats.sku-sales", _WEEK)
# Full current value of every (SKU, hour) bucket: revenue, units, orders.
SKU_HOURLY = TopicSpec("sales.stats.sku-hourly", _LATEST)
# Full current stock of every SKU: on hand, reserved, available.
STOCK_CURRENT = TopicSpec("inventory.stats.stock", _LATEST)
STATS_TOPICS = (SKU_SALES, SKU_HOURLY, STOCK_CURRENT)
