"""The stream aggregates' topics and tables: a repartition by SKU, the event-carried state they
publish, and their tables' changelogs."""

from __future__ import annotations

from eventstore.topics import TopicSpec
from processors.app import changelog_spec

_WEEK = {"cleanup.policy": "delete", "retention.ms": "604800000"}
_LATEST = {"cleanup.policy": "compact"}  # full current values: the newest per key is enough

# Confirmed order lines re-keyed by SKU (one record per SKU of an order).
SKU_SALES = TopicSpec("sales.stats.sku-sales", _WEEK)
# Full current value of every (SKU, hour) bucket: revenue, units, orders.
SKU_HOURLY = TopicSpec("sales.stats.sku-hourly", _LATEST)

ORDER_LINES_TABLE = "sales_stats_order_lines"  # an order's units and cents per SKU
HOURLY_TABLE = "sales_stats_sku_hourly"  # (SKU, hour) buckets with the orders counted in them
STATS_TOPICS = (
    SKU_SALES,
    SKU_HOURLY,
    changelog_spec(ORDER_LINES_TABLE),
    changelog_spec(HOURLY_TABLE),
)
