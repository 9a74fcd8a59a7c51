"""The stream aggregates' folds: tumbling hours, duplicates ignored, order lines bounded."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

from contexts.sales.order.events import OrderCancelled, OrderConfirmed, OrderPlaced, OrderShipped
from contexts.sales.stats.aggregates import (
    add_sale,
    bucket_key,
    closed,
    hour_of,
    public_bucket,
    sku_and_hour,
)
from contexts.sales.stats.worker import closes_order, confirmed_lines_of, order_lines, sales_of


def test_an_hour_is_the_utc_hour_a_moment_falls_in() -> None:
    moment = datetime(2026, 3, 1, 10, 59, 59, 999000, tzinfo=timezone(timedelta(hours=2)))
    assert hour_of(moment) == "2026-03-01T08:00:00+00:00"
    assert hour_of(datetime(2026, 3, 1, 9, 0, tzinfo=UTC)) == "2026-03-01T09:00:00+00:00"


def test_a_sale_counts_once_in_its_bucket_by_its_source_position() -> None:
    sale = {"sku": "A", "hour": "h", "units": 2, "cents": 1000, "order_id": "o1", "source": [0, 7]}
    bucket = add_sale(None, sale)
    assert bucket is not None
    assert add_sale(bucket, sale) is None  # redelivered
    second = add_sale(
        bucket, {**sale, "order_id": "o2", "units": 1, "cents": 500, "source": [1, 3]}
    )
    assert second is not None
    assert add_sale(second, {**sale, "order_id": "o0", "source": [1, 2]}) is None  # re-sent
    third = add_sale(second, {**sale, "order_id": "o3", "units": 1, "cents": 1, "source": [0, 8]})
    assert third is not None and third["through"] == {"0": 8, "1": 3}
    assert public_bucket(third) == {
        "sku": "A",
        "hour": "h",
        "revenue_cents": 1501,
        "units": 4,
        "orders": 3,
    }


def test_a_bucket_stays_small_however_many_orders_its_hour_holds() -> None:
    bucket = None
    for n in range(20_000):
        sale = {"sku": "A", "hour": "h", "units": 1, "cents": 1, "source": [n % 3, n]}
        bucket = add_sale(bucket, {**sale, "order_id": f"o{n}"}) or bucket
    assert bucket is not None and bucket["orders"] == 20_000
    assert len(json.dumps(bucket)) < 200


def test_a_bucket_written_with_order_ids_keeps_its_count() -> None:
    old = {"sku": "A", "hour": "h", "revenue_cents": 10, "units": 2, "orders": ["o1", "o2"]}
    sale = {"sku": "A", "hour": "h", "units": 1, "cents": 5, "order_id": "o3", "source": [0, 9]}
    assert public_bucket(add_sale(old, sale) or {})["orders"] == 3


def test_an_orders_lines_merge_items_of_one_sku() -> None:
    placed = {
        "items": [
            {"sku": "A", "quantity": 2, "unit_price_cents": 100},
            {"sku": "B", "quantity": 1, "unit_price_cents": 300},
            {"sku": "A", "quantity": 1, "unit_price_cents": 150},
        ]
    }
    assert order_lines(placed) == {"A": [3, 350], "B": [1, 300]}


def test_a_confirmation_says_what_was_confirmed_and_a_v1_one_does_not() -> None:
    item = {"sku": "A", "name": "a", "quantity": 2, "unit_price_cents": 100}
    at = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    v2 = {"order_id": "o1", "confirmed_at": at, "items": [item, {**item, "sku": "B"}]}
    assert confirmed_lines_of(v2) == {"A": [2, 200], "B": [2, 200]}
    assert confirmed_lines_of({"order_id": "o1", "confirmed_at": at, "items": []}) is None
    assert confirmed_lines_of({"order_id": "o1", "confirmed_at": at}) is None  # as written


def test_a_confirmed_order_sells_each_sku_in_its_confirmation_hour() -> None:
    confirmed = {"order_id": "o1", "confirmed_at": datetime(2026, 3, 1, 9, 30, tzinfo=UTC)}
    assert sales_of({"A": [3, 350]}, confirmed, [2, 40]) == [
        {
            "sku": "A",
            "hour": "2026-03-01T09:00:00+00:00",
            "units": 3,
            "cents": 350,
            "order_id": "o1",
            "source": [2, 40],
        }
    ]


def test_an_orders_lines_are_dropped_once_counted_or_cancelled() -> None:
    assert closes_order(OrderConfirmed.EVENT_TYPE.encode())
    assert closes_order(OrderCancelled.EVENT_TYPE.encode())
    assert not closes_order(OrderPlaced.EVENT_TYPE.encode())
    assert not closes_order(OrderShipped.EVENT_TYPE.encode())
    assert not closes_order(None)


def test_an_hours_window_closes_its_grace_after_the_hour_ends() -> None:
    hour, grace = "2026-03-01T08:00:00+00:00", timedelta(hours=48)
    ends = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    assert not closed(hour, ends + grace - timedelta(seconds=1), grace)
    assert closed(hour, ends + grace, grace)
    assert not closed(hour_of(ends), ends, timedelta(0))  # the current hour is open


def test_a_bucket_key_gives_back_its_sku_and_hour() -> None:
    assert sku_and_hour(bucket_key("A|B", "2026-03-01T08:00:00+00:00")) == (
        "A|B",
        "2026-03-01T08:00:00+00:00",
    )
