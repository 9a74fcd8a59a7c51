"""Batch handlers on a real PostgreSQL sink: a whole batch in a few statements, with the
effect one event at a time would have had, and a batch applied again changing nothing."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from contexts.loyalty import points
from contexts.sales.order.events import OrderConfirmed, OrderItem, OrderPlaced
from contexts.sales.read_models import order_history
from eventstore.envelope import Envelope
from eventstore.position import Position
from projections.model import ProjectedEvent
from projections.postgres import PostgresSink
from skald.services import Services

TOPIC = "sales.order.events"
AT = datetime(2026, 12, 7, tzinfo=UTC)


class Log:
    """Order events at consecutive offsets of one partition, versions counted per order."""

    def __init__(self) -> None:
        self.offset = 0
        self.versions: dict[str, int] = {}

    def placed(self, order_id: str, customer: str, cents: int) -> ProjectedEvent:
        items = (OrderItem("SKU-1", "Beans", 1, cents),)
        return self._at(OrderPlaced(order_id, customer, items, cents, AT), order_id)

    def confirmed(self, order_id: str, again: bool = False) -> ProjectedEvent:
        """`again`: the same event (same version) redelivered at a later offset."""
        if again:
            self.versions[order_id] -= 1
        return self._at(OrderConfirmed(order_id, AT), order_id)

    def _at(self, event: OrderPlaced | OrderConfirmed, order_id: str) -> ProjectedEvent:
        version = self.versions[order_id] = self.versions.get(order_id, 0) + 1
        envelope = Envelope(
            f"{order_id}-{version}", event.EVENT_TYPE, "test", AT, "order", order_id,
            version, 1, "c", "c",
        )  # fmt: skip
        self.offset += 1
        return ProjectedEvent(event, envelope, Position(TOPIC, 0, self.offset - 1))

    def next_offsets(self) -> dict[tuple[str, int], int]:
        return {(TOPIC, 0): self.offset}


def _balances(services: Services) -> dict[str, tuple[int, int]]:
    table = points.balances
    with services.engine.connect() as conn:
        rows = conn.execute(select(table.c.customer_id, table.c.points, table.c.orders)).all()
    return {customer: (earned, orders) for customer, earned, orders in rows}


def test_loyalty_awards_a_batch_once_per_order(services: Services) -> None:
    sink = PostgresSink(services.engine, points.projection, services.settings.pg_schema)
    sink.setup()
    log = Log()
    batch = [
        log.placed("o-1", "ann", 1000),
        log.placed("o-2", "ann", 250),
        log.confirmed("o-1"),
        log.placed("o-3", "bob", 99),
        log.confirmed("o-2"),
        log.confirmed("o-1", again=True),  # a duplicate in the same batch
        log.confirmed("o-3"),
        log.confirmed("o-9"),  # never placed: earns nothing
    ]
    sink.apply(batch, log.next_offsets())
    assert _balances(services) == {"ann": (12, 2), "bob": (0, 1)}

    # Later batches: a confirmation delivered again, and a new order of ann's.
    sink.apply([log.confirmed("o-2", again=True)], log.next_offsets())
    later = [log.placed("o-4", "ann", 500), log.confirmed("o-4")]
    sink.apply(later, log.next_offsets())
    assert _balances(services) == {"ann": (17, 3), "bob": (0, 1)}


def test_order_history_keeps_each_event_once(services: Services) -> None:
    projection = order_history.projection
    sink = PostgresSink(services.engine, projection, services.settings.pg_schema)
    sink.setup()
    log = Log()
    first = [log.placed("o-1", "ann", 100), log.placed("o-2", "bob", 200), log.confirmed("o-1")]
    sink.apply([*first, log.confirmed("o-1", again=True)], log.next_offsets())
    sink.apply([log.confirmed("o-2"), log.confirmed("o-2", again=True)], log.next_offsets())
    table = order_history.order_history
    with services.engine.connect() as conn:
        rows = conn.execute(
            select(table.c.order_id, table.c.version, table.c.event_type, table.c.payload)
            .order_by(table.c.order_id, table.c.version)
        ).all()  # fmt: skip
        count = conn.execute(select(func.count()).select_from(table)).scalar_one()
    assert count == 4
    assert [(o, v, t.rsplit(".", 1)[1]) for o, v, t, _ in rows] == [
        ("o-1", 1, "OrderPlaced"),
        ("o-1", 2, "OrderConfirmed"),
        ("o-2", 1, "OrderPlaced"),
        ("o-2", 2, "OrderConfirmed"),
    ]
    assert rows[0].payload["customer_id"] == "ann"
    assert rows[0].payload["items"][0]["unit_price_cents"] == 100
