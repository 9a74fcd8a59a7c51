"""`loyalty_points`: reacts to sales' OrderConfirmed by itself and awards points once per order.

Choreography: nobody tells loyalty to act; it follows `sales.order.events` like any read model,
in the projection runtime (batches, checkpoints in the same PostgreSQL transaction). OrderPlaced
remembers who pays how much; OrderConfirmed awards one point per 100 cents. The award row is
keyed by order id and the balance moves only when that row is new, so a redelivered or
duplicated OrderConfirmed (at-least-once, replays, a producer retry) awards nothing more.
A batch takes three statements however many orders it holds: placings first, then the awards
of its confirmations, then one balance change per customer (an order's placing precedes its
confirmation in the log, so placing the whole batch first changes no award).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Column,
    Connection,
    MetaData,
    Table,
    Text,
    any_,
    bindparam,
    select,
)
from sqlalchemy.dialects.postgresql import insert

from contexts.sales.order.events import OrderConfirmed, OrderPlaced
from contexts.sales.topics import ORDER_EVENTS
from projections.model import BatchHandler, PostgresProjection, ProjectedEvent
from projections.postgres import insert_rows

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


def apply_batch(conn: Connection, events: Sequence[ProjectedEvent]) -> None:
    """Remember the batch's placings, then award its confirmations not awarded before."""
    placings = [item.event for item in events if isinstance(item.event, OrderPlaced)]
    insert_rows(
        conn,
        placed,
        [
            {"order_id": e.order_id, "customer_id": e.customer_id, "total_cents": e.total_cents}
            for e in placings
        ],
    )
    confirmed = sorted(
        {item.event.order_id for item in events if isinstance(item.event, OrderConfirmed)}
    )
    if not confirmed:
        return
    # An order never placed earns nothing (cannot happen on one partition: placing comes
    # first); one awarded before is not returned, so its redelivery changes no balance.
    ids = bindparam("ids", confirmed, type_=ARRAY(Text))
    to_award = select(
        placed.c.order_id, placed.c.customer_id, placed.c.total_cents // CENTS_PER_POINT
    ).where(placed.c.order_id == any_(ids))
    new = conn.execute(
        insert(awards)
        .from_select(["order_id", "customer_id", "points"], to_award)
        .on_conflict_do_nothing()
        .returning(awards.c.customer_id, awards.c.points)
    ).all()
    points: Counter[str] = Counter()
    orders: Counter[str] = Counter()
    for customer_id, earned in new:
        points[customer_id] += earned
        orders[customer_id] += 1
    if not orders:
        return
    rows = [{"customer_id": c, "points": points[c], "orders": orders[c]} for c in sorted(orders)]
    upsert = insert(balances).values(rows)
    conn.execute(
        upsert.on_conflict_do_update(
            index_elements=["customer_id"],
            set_={
                "points": balances.c.points + upsert.excluded.points,
                "orders": balances.c.orders + upsert.excluded.orders,
            },
        )
    )


projection = PostgresProjection(
    name="loyalty.points",
    topics=(ORDER_EVENTS,),
    metadata=metadata,
    batch_handlers=(BatchHandler(frozenset({OrderPlaced, OrderConfirmed}), apply_batch),),
    linger_ms=500,  # points may follow an order by half a second under load
)
