"""The read models computed independently from the raw topics, to compare against.

Decodes with the codec alone (not the projection runtime) and folds with plain dict code:
a bug in the runtime or the read models' handlers can't hide in both.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from eventstore.envelope import header_value
from skald.services import Services
from tests.integration.kafka_probe import read_all
from tests.integration.projections.log_writer import ORDERS, STOCK


@dataclass
class Models:
    """What the read models should hold."""

    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    customers: dict[str, dict[str, int]] = field(default_factory=dict)
    stock: dict[str, dict[str, int]] = field(default_factory=dict)


def fold_log(services: Services) -> Models:
    """Fold the whole sales and inventory logs; a repeated (aggregate, version) counts once."""
    models = Models()
    for record in _events(services, ORDERS):
        kind, body, version = record
        order = models.orders.get(body["order_id"])
        if kind == "OrderPlaced":
            models.orders[body["order_id"]] = {
                "customer_id": body["customer_id"],
                "status": "placed",
                "total_cents": body["total_cents"],
                "version": version,
            }
        elif order is not None:
            order["status"] = {
                "OrderConfirmed": "confirmed",
                "OrderCancelled": "cancelled",
                "OrderShipped": "shipped",
            }[kind]
            order["version"] = version
    customers: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for order in models.orders.values():
        summary = customers[order["customer_id"]]
        summary["orders"] += 1
        summary[order["status"]] += 1
        summary["total_cents"] += 0 if order["status"] == "cancelled" else order["total_cents"]
    models.customers = {k: dict(v) for k, v in customers.items()}
    for kind, body, version in _events(services, STOCK):
        level = models.stock.setdefault(body["sku"], {"on_hand": 0, "reserved": 0, "version": 0})
        if kind == "StockRestocked":
            level["on_hand"] += body["quantity"]
        elif kind == "StockReserved":
            level["reserved"] += body["quantity"]
        elif kind == "StockShipped":
            level["on_hand"] -= body["quantity"]
            level["reserved"] -= body["quantity"]
        else:
            level["reserved"] -= body["quantity"]
        level["version"] = version
    return models


def _events(services: Services, topic: str) -> list[tuple[str, dict[str, Any], int]]:
    seen: dict[str, int] = {}
    found = []
    for message in read_all(services.settings.kafka_bootstrap, services.settings.topic(topic)):
        headers = message.headers()
        version = int(header_value(headers, "ce_aggregateversion") or 0)
        subject = header_value(headers, "ce_subject") or ""
        if version <= seen.get(subject, 0):
            continue  # a duplicate record of an event already folded
        try:
            event_type, body = services.codec.decode(message.value() or b"")
        except Exception:
            continue  # poison bytes are not events
        seen[subject] = version
        found.append((event_type.rsplit(".", 1)[1], body, version))
    return found
