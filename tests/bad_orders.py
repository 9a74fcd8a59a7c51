"""Bad requests and the answers they must get; shared by unit and integration tests."""

from __future__ import annotations

from typing import Any

ITEM = {"sku": "SKU-1", "name": "Espresso beans", "quantity": 2, "unit_price_cents": 1250}
GOOD_ORDER: dict[str, Any] = {"customer_id": "cust-42", "items": [ITEM]}

# (case id, raw body, expected status, text the answer must contain)
BAD_ORDERS: list[tuple[str, bytes, int, str]] = [
    (
        "missing-customer",
        b'{"items": [%s]}' % str(ITEM).replace("'", '"').encode(),
        422,
        "customer_id",
    ),
    (
        "empty-customer",
        b'{"customer_id": " ", "items": [%s]}' % str(ITEM).replace("'", '"').encode(),
        422,
        "customer_id",
    ),
    ("empty-items", b'{"customer_id": "c", "items": []}', 422, "items"),
    (
        "zero-quantity",
        b'{"customer_id": "c", "items": [{"sku": "S", "name": "N", '
        b'"quantity": 0, "unit_price_cents": 1}]}',
        422,
        "items.0.quantity",
    ),
    (
        "negative-price",
        b'{"customer_id": "c", "items": [{"sku": "S", "name": "N", '
        b'"quantity": 1, "unit_price_cents": -5}]}',
        422,
        "items.0.unit_price_cents",
    ),
    (
        "unknown-field",
        b'{"customer_id": "c", "coupon": "FREE", "items": [%s]}'
        % str(ITEM).replace("'", '"').encode(),
        422,
        "coupon",
    ),
    (
        "unknown-item-field",
        b'{"customer_id": "c", "items": [{"sku": "S", "name": "N", '
        b'"quantity": 1, "unit_price_cents": 1, "discount": 5}]}',
        422,
        "items.0.discount",
    ),
    ("malformed-json", b'{"customer_id": "c", "items": [', 422, "malformed JSON"),
    ("not-an-object", b"[1, 2, 3]", 422, "body"),
    (
        "oversized",
        b'{"customer_id": "' + b"x" * (1024 * 1024 + 1) + b'", "items": []}',
        413,
        "limit",
    ),
]


# Paths and queries that once reached PostgreSQL or OpenSearch and answered 500 (issue 12).
HOSTILE_READS = [
    "/orders/%00",
    "/orders/%00/events",
    "/customers/%00/orders",
    "/loyalty/%00",
    "/sagas/%00",
    "/inventory/%00",
    "/stats/sales?sku=%00&from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z",
    "/orders/o-1?as_of_version=3000000000",
    "/search/orders?min_total=99999999999999999999",
    "/search/orders?q=a%00b",
    "/search/orders?from=0.5",  # a number pydantic would read as seconds since 1970
    "/customers/c-1/orders?cursor=" + "MjAyNi0wMS0wMVQwMDowMDowMCswMDowMHxhAGI",  # id with NUL
]

# Edge values the stores hold: each must answer 200 (an instant past year 9999 in UTC is
# clamped, the largest amount and version are in range).
EDGE_READS = [
    "/search/orders?from=9999-12-31T23:59:59-05:00&to=0001-01-01T00:00:00%2B01:00",
    f"/search/orders?min_total={2**63 - 1}",
    "/stats/sales?from=0001-01-01T00:00:00Z&to=9999-12-31T23:59:59Z",
]
