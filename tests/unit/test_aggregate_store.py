"""A partition's hosted aggregates keep a bounded number decoded in memory; the others are
read back from local disk, so a closed order is still known (and a second `PlaceOrder` with
its id still refused) however many orders the partition hosted since."""

from __future__ import annotations

import json
import tracemalloc
from datetime import UTC, datetime
from functools import reduce
from typing import Any

import pytest

from command_processor.aggregate_store import AggregateStore
from command_processor.hosted import HostedAggregate
from command_processor.snapshots import SnapshotCodec
from contexts.sales.aggregates import ORDER
from contexts.sales.order.commands import PlaceOrder
from contexts.sales.order.decider import OrderAlreadyPlaced
from contexts.sales.order.events import OrderItem

NOW = datetime(2026, 12, 7, tzinfo=UTC)
CODEC = SnapshotCodec(ORDER)


def _place(order_id: str, customer_id: str = "cust-1") -> PlaceOrder:
    items = (OrderItem("SKU-1", "Beans", 2, 1250),)
    return PlaceOrder(order_id, customer_id, items, NOW)


def _placed(order_id: str) -> HostedAggregate[Any]:
    events = ORDER.decide(ORDER.initial, _place(order_id))
    return HostedAggregate(reduce(ORDER.evolve, events, ORDER.initial), len(events))


def _commit(store: AggregateStore, order_ids: list[str]) -> None:
    hosted = {i: _placed(i) for i in order_ids}
    store.commit({i: (h, CODEC.encode(h)) for i, h in hosted.items()})


def test_only_the_most_recently_used_aggregates_stay_decoded() -> None:
    store = AggregateStore(CODEC, cached=3)
    _commit(store, [f"order-{n}" for n in range(10)])
    assert store.in_memory == 3 and len(store) == 10
    assert store["order-0"] == _placed("order-0")  # read back from disk
    assert store.in_memory == 3


def test_an_evicted_order_still_refuses_a_second_place_order() -> None:
    store = AggregateStore(CODEC, cached=1)
    _commit(store, ["order-1"])
    _commit(store, [f"order-{n}" for n in range(2, 50)])
    evicted = store.get("order-1")
    assert evicted is not None and evicted.version == 1
    assert ORDER.decide(evicted.state, _place("order-1")) == []  # the same order again
    with pytest.raises(OrderAlreadyPlaced):
        ORDER.decide(evicted.state, _place("order-1", "cust-2"))
    assert store.get("order-never") is None


def test_snapshots_from_the_topic_replace_each_other_and_a_tombstone_removes() -> None:
    store = AggregateStore(CODEC, cached=10)
    _commit(store, ["order-1"])  # decoded in memory
    newer = HostedAggregate(_placed("order-1").state, 7)
    store.write([("order-1", CODEC.encode(newer)), ("order-2", CODEC.encode(newer))])
    assert store["order-1"].version == 7  # not the stale decoded copy
    store.write([("order-2", None)])
    assert store.get("order-2") is None and len(store) == 1
    assert dict(store.snapshots()) == {"order-1": CODEC.encode(newer)}


def test_a_snapshot_of_another_state_shape_is_found() -> None:
    store = AggregateStore(CODEC)
    _commit(store, ["order-1"])
    assert not store.any_stale()
    other = json.dumps({"shape": "another", "version": 1, "state": {}}).encode()
    store.write([("order-2", other)])
    assert store.any_stale()


def test_the_store_has_no_file_to_leave_behind() -> None:
    store = AggregateStore(CODEC)
    # SQLite's private temporary database: unlinked when created, gone with the process.
    assert [row[2] for row in store._db.execute("PRAGMA database_list")] == [""]
    store.close()


def test_memory_stays_bounded_however_many_orders_were_hosted() -> None:
    orders = 20_000
    snapshots = [(f"order-{n:06}", CODEC.encode(_placed(f"order-{n:06}"))) for n in range(orders)]
    tracemalloc.start()
    try:
        store = AggregateStore(CODEC, cached=100)
        for start in range(0, orders, 100):
            chunk = snapshots[start : start + 100]
            store.commit({i: (CODEC.decode(value), value) for i, value in chunk})
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Decoded, 20,000 one-line orders take about 8 MB; the store keeps 100 of them and
    # SQLite's page cache (2 MB by default, outside tracemalloc's view).
    assert store.in_memory == 100 and len(store) == orders
    assert held < 1_000_000, held
