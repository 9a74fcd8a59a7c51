"""`loyalty_points`: reacts to sales' OrderConfirmed by itself and awards points once per order.

Choreography: nobody tells loyalty to act; it follows `sales.order.events` like any read model,
in the projection runtime (batches, checkpoints in the same PostgreSQL transaction). OrderPlaced
remembers who pays how much; OrderConfirmed awards one point per 100 cents. The award row is
keyed by order id and the balance moves only when that row is new, so a redelivered or
duplicated OrderConfirmed (at-least-once, replays, a producer retry) awards nothing more.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Connection, MetaData, Table, Text
from sqlalchemy.dialects.postgresql import insert

from contexts.sales.order.events import OrderConfirmed, OrderPlaced
from contexts.sales.topics import ORDER_EVENTS
from eventstore.envelope import Envelope
from projections.model import PostgresProjection

CENTS_PER_POINT = 100

metadata = MetaData()
placed = Table(  # who will earn what, until the order is confirmed
    "loyalty_orders",
    metadata,
    Column("order_id", Text, primary_key=True),
    Column("customer_id", Text, nullable=False),
    Column("total_cents", BigInteger, nullable=False),
)
awards = Table(  # the side effect's idempotency record: one row per order, ever
    "loyalty_awards",
    metadata,
    Column("order_id", Text, primary_key=True),
    Column("customer_id", Text, nullable=False),
    Column("points", BigInteger, nullable=False),
)
balances = Table(
    "loyalty_balances",
    metadata,
    Column("customer_id", Text, primary_key=True),
    Column("points", BigInteger, nullable=False),
    Column("orders", BigInteger, nullable=False),
)


def remember(conn: Connection, event: object, envelope: Envelope) -> None:
    assert isinstance(event, OrderPlaced)
    row = {"customer_id": event.customer_id, "total_cents": event.total_cents}
    conn.execute(insert(placed).values(order_id=event.order_id, **row).on_conflict_do_nothing())


def award(conn: Connection, event: object, envelope: Envelope) -> None:
    """Award the order's points unless this order was awarded before."""
    assert isinstance(event, OrderConfirmed)
    order = conn.execute(placed.select().where(placed.c.order_id == event.order_id)).first()
    if order is None:
        return  # never placed (cannot happen on one partition, where placing comes first)
    points = order.total_cents // CENTS_PER_POINT
    new = conn.execute(
        insert(awards)
        .values(order_id=event.order_id, customer_id=order.customer_id, points=points)
        .on_conflict_do_nothing()
        .returning(awards.c.order_id)
    ).first()
    if new is None:
        return  # awarded already: the redelivery changes nothing
    upsert = insert(balances).values(customer_id=order.customer_id, points=points, orders=1)
    conn.execute(
        upsert.on_conflict_do_update(
            index_elements=["customer_id"],
            set_={"points": balances.c.points + points, "orders": balances.c.orders + 1},
        )
    )


projection = PostgresProjection(
    name="loyalty.points",
    topics=(ORDER_EVENTS,),
    metadata=metadata,
    handlers={OrderPlaced: remember, OrderConfirmed: award},
)
