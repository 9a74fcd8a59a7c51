"""Prometheus metrics of the sales stats worker."""

from __future__ import annotations

from prometheus_client import Counter

LATE_SALES = Counter(
    "skald_stats_late_sales_total",
    "Sales dropped because their hour's window had closed (SKALD_STATS_GRACE_HOURS)",
)
CLOSED_BUCKETS = Counter(
    "skald_stats_closed_buckets_total",
    "Hourly buckets that left the stats worker's table once their window closed",
)
UNCOUNTED = Counter(
    "skald_stats_uncounted_orders_total",
    "Confirmations counted as no sale: a v1 OrderConfirmed (no items) whose lines no earlier"
    " version kept",
)
