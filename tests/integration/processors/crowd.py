"""Many concurrent sagas, and the checks that hold however the workers died or moved."""

from __future__ import annotations

import random
import threading
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from contexts.inventory.stock import decider
from skald.services import Services
from tests.integration.commands.harness import read_events
from tests.integration.processors.sagas import events_by_type, phase_history, place, restock

SKUS = ("SKU-C1", "SKU-C2", "SKU-C3", "SKU-C4")
STOCK = 70  # per SKU: fewer units than 200 orders ask for, so some run out of stock


@dataclass
class Crowd:
    """Orders placed from a background thread, 12 at a time."""

    api_url: str
    count: int = 200
    seed: int = 5
    orders: dict[str, dict[str, int]] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    _thread: threading.Thread | None = None

    def stock_up(self) -> dict[str, int]:
        for sku in SKUS:
            restock(self.api_url, sku, STOCK)
        return dict.fromkeys(SKUS, STOCK)

    def start(self) -> Crowd:
        rng = random.Random(self.seed)
        plans = [
            (
                {sku: rng.randint(1, 2) for sku in rng.sample(SKUS, rng.randint(1, 2))},
                "tok_declined" if n % 10 == 0 else "tok_visa",
            )
            for n in range(self.count)
        ]

        def one(plan: tuple[dict[str, int], str]) -> None:
            order_id = place(self.api_url, *plan)
            self.orders[order_id], self.tokens[order_id] = plan

        def run() -> None:
            with ThreadPoolExecutor(12) as pool:
                list(pool.map(one, plans))

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        return self

    def join(self, timeout: float = 240) -> list[str]:  # admission may hold clients back
        assert self._thread is not None
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "orders still being placed"
        assert len(self.orders) == self.count
        return list(self.orders)


def assert_sound(
    services: Services, crowd: Crowd, states: dict[str, Any], restocked: dict[str, int]
) -> None:
    """Each saga final once; each SKU reserved and each payment authorized at most once per
    order; shipped orders consumed their stock and keep their payment, cancelled ones hold
    nothing; no reservation stays open; every SKU's level is its restocks minus what shipped."""
    history = phase_history(services)
    orders = events_by_type(services, "sales.order.events")
    payments = events_by_type(services, "payments.payment.events")
    stock_events = read_events(services.settings, "inventory.stock.events", services.codec)
    held: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for event in stock_events:
        if "order_id" not in event.body:
            continue  # a restock
        key = (str(event.body["sku"]), str(event.body["order_id"]))
        held[key][event.event_type.rsplit(".", 1)[1]] += 1
    live: Counter[str] = Counter()
    for order_id, lines in crowd.orders.items():
        phase = states[order_id]["phase"]
        final = [p for p in history[order_id] if p in ("done", "cancelled")]
        assert final == [phase], (order_id, history[order_id])
        outcome = "OrderConfirmed" if phase == "done" else "OrderCancelled"
        assert orders[order_id]["OrderPlaced"] == 1
        assert orders[order_id][outcome] == 1, (order_id, orders[order_id])
        assert orders[order_id]["OrderConfirmed"] + orders[order_id]["OrderCancelled"] == 1
        assert payments[order_id]["PaymentAuthorized"] <= 1, (order_id, payments[order_id])
        for sku in lines:
            counts = held[(sku, order_id)]
            assert counts["StockReserved"] <= 1 and counts["StockReleased"] <= 1, counts
            assert counts["StockShipped"] == (1 if phase == "done" else 0), (order_id, counts)
            left = counts["StockReserved"] - counts["StockReleased"] - counts["StockShipped"]
            assert left == 0, (order_id, sku, counts, phase)  # nothing stays reserved
            live[sku] += lines[sku] * counts["StockShipped"]  # shipped units left on hand
        if phase == "done":
            assert payments[order_id] == {"PaymentAuthorized": 1}, payments[order_id]
            assert crowd.tokens[order_id] != "tok_declined"
        else:
            assert payments[order_id]["PaymentAuthorized"] == payments[order_id]["PaymentVoided"]
    by_sku: dict[str, decider.Stock] = defaultdict(lambda: decider.INITIAL)
    for event in stock_events:
        sku = str(event.body["sku"])
        by_sku[sku] = decider.evolve(
            by_sku[sku], services.mapper.from_record(event.event_type, event.body)
        )
    for sku, units in restocked.items():
        assert by_sku[sku].available == units - live[sku], (sku, by_sku[sku], live[sku])
    assert Counter(s["phase"] for s in states.values())["done"] > 0
