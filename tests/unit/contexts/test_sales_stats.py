"""The stream aggregates' folds: tumbling hours, duplicates ignored, stock by version."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from contexts.sales.stats.aggregates import add_sale, hour_of, public_bucket


def test_an_hour_is_the_utc_hour_a_moment_falls_in() -> None:
    moment = datetime(2026, 3, 1, 10, 59, 59, 999000, tzinfo=timezone(timedelta(hours=2)))
    assert hour_of(moment) == "2026-03-01T08:00:00+00:00"
    assert hour_of(datetime(2026, 3, 1, 9, 0, tzinfo=UTC)) == "2026-03-01T09:00:00+00:00"


def test_a_sale_counts_once_per_order_in_its_bucket() -> None:
    sale = {"sku": "A", "hour": "h", "units": 2, "cents": 1000, "order_id": "o1"}
    bucket = add_sale(None, sale)
    assert bucket is not None
    assert add_sale(bucket, sale) is None  # redelivered
    second = add_sale(bucket, {**sale, "order_id": "o2", "units": 1, "cents": 500})
    assert second is not None
    assert public_bucket(second) == {
        "sku": "A",
        "hour": "h",
        "revenue_cents": 1500,
        "units": 3,
        "orders": 2,
    }
