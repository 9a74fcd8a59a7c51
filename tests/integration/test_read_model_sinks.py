"""The sinks' exactly-once effect against real PostgreSQL and OpenSearch."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Column, Connection, Integer, MetaData, Table, Text, select, text, update

from contexts.sales.order.events import OrderItem, OrderPlaced
from contexts.sales.read_models import order_search
from eventstore.envelope import Envelope
from eventstore.position import Position
from projections.model import PostgresProjection, ProjectedEvent
from projections.postgres import PostgresSink
from projections.postgres.storage import namespace_generations
from skald.services import Services

TOPIC = "sales.order.events"


@pytest.fixture(autouse=True)
def _drop_generation_schemas(services: Services) -> Iterator[None]:
    """Generations are schemas of their own: dropping the namespace schema leaves them."""
    yield
    with services.engine.begin() as conn:
        for name in namespace_generations(conn, services.settings.pg_schema):
            conn.execute(text(f'DROP SCHEMA "{name}" CASCADE'))


def _placed(order_id: str, version: int, offset: int) -> ProjectedEvent:
    event = OrderPlaced(
        order_id,
        "cust-1",
        (OrderItem("SKU-1", "Beans", 1, 100),),
        100,
        datetime(2026, 11, 27, tzinfo=UTC),
    )
    envelope = Envelope(
        f"e-{offset}",
        OrderPlaced.EVENT_TYPE,
        "test",
        datetime.now(UTC),
        "order",
        order_id,
        version,
        1,
        "c",
        "c",
    )
    return ProjectedEvent(event, envelope, Position(TOPIC, 0, offset))


def _counting_projection(fail_on: str = "") -> tuple[PostgresProjection, Table]:
    """A deliberately non-idempotent read model: it counts the events applied to it, and
    its handler raises for the order id `fail_on`."""
    metadata = MetaData()
    counts = Table(
        "event_counts",
        metadata,
        Column("order_id", Text, primary_key=True),
        Column("applied", Integer, nullable=False),
    )

    def count(conn: Connection, event: OrderPlaced, _: Envelope) -> None:
        if event.order_id == fail_on:
            raise RuntimeError("handler failed")
        changed = conn.execute(
            update(counts)
            .where(counts.c.order_id == event.order_id)
            .values(applied=counts.c.applied + 1)
        ).rowcount
        if not changed:
            conn.execute(counts.insert().values(order_id=event.order_id, applied=1))

    return PostgresProjection("test.counts", (TOPIC,), metadata, {OrderPlaced: count}), counts


def test_a_redelivered_batch_is_not_applied_twice(services: Services) -> None:
    projection, counts = _counting_projection()
    sink = PostgresSink(services.engine, projection, services.settings.pg_schema)
    sink.setup()
    batch = [_placed("o-1", 1, 0), _placed("o-2", 1, 1)]
    sink.apply(batch, {(TOPIC, 0): 2})
    sink.apply(batch, {(TOPIC, 0): 2})  # the same batch again, as after a crash before commit
    sink.apply(batch[1:], {(TOPIC, 0): 2})  # a partial redelivery
    sink.apply([_placed("o-1", 2, 2)], {(TOPIC, 0): 3})  # a genuinely new event
    with services.engine.connect() as conn:
        applied = dict(conn.execute(select(counts.c.order_id, counts.c.applied)).all())
    assert applied == {"o-1": 2, "o-2": 1}
    assert sink.stored_offsets([(TOPIC, 0), (TOPIC, 1)]) == {(TOPIC, 0): 3}


def test_a_failed_batch_leaves_neither_rows_nor_offsets(services: Services) -> None:
    projection, counts = _counting_projection(fail_on="o-2")
    sink = PostgresSink(services.engine, projection, services.settings.pg_schema)
    sink.setup()
    with pytest.raises(RuntimeError, match="handler failed"):
        sink.apply([_placed("o-1", 1, 0), _placed("o-2", 1, 1)], {(TOPIC, 0): 2})
    with services.engine.connect() as conn:
        assert conn.execute(select(counts)).all() == []
    assert sink.stored_offsets([(TOPIC, 0)]) == {}


def test_an_older_or_repeated_document_write_never_regresses_the_index(
    services: Services,
) -> None:
    sink = services.opensearch_sink(order_search.projection)
    newer, older = _placed("o-9", 2, 5), _placed("o-9", 1, 4)
    sink.apply([newer], {(TOPIC, 0): 6})
    sink.apply([older, newer], {(TOPIC, 0): 6})  # replayed and reordered
    alias = services.settings.index("orders")
    document = services.opensearch.get(index=alias, id="o-9")
    assert document["_version"] == 2
    assert document["_source"]["version"] == 2
    assert sink.stored_offsets([(TOPIC, 0)]) == {(TOPIC, 0): 6}
