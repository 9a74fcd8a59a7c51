"""Bad order requests and the field each answer must name; shared by unit and integration."""

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
