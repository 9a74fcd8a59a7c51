"""Invariant 11 for the stock aggregate: a SKU that served many orders keeps a small snapshot.

One SKU goes through a few hundred order lifecycles on the command path the saga uses
(commands with idempotency keys on `inventory.stock.commands`, replies on the reply topic),
against a real command processor process. The SKU's newest snapshot then holds only the
reservations still open, its state equals the fold of the SKU's events, and a processor
started after a kill -9 restores from that snapshot and answers the next commands correctly,
a retried saga step included (its outcome is on the outcomes topic, not in the snapshot).
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from functools import reduce
from typing import Any

from command_processor.hosted import HostedAggregate
from command_processor.snapshots import SnapshotCodec
from contexts.inventory.aggregates import STOCK
from contexts.inventory.stock.commands import ReleaseStock, ReserveStock, Restock, ShipStock
from contexts.inventory.stock.decider import Stock
from eventstore.aggregate import AggregateType
from producers.command_bus import Options
from producers.messages import OutcomeKind, Reply
from skald.services import Services
from tests.integration.commands.harness import ProcessFactory, SkaldProcess, read_events
from tests.integration.kafka_probe import read_all

BUS_STOCK: AggregateType[Any] = STOCK  # the command bus takes any aggregate type
SKU = "SKU-LIFETIME"
ORDERS = 300  # lifecycles of 2 keyed commands each
OPEN = 5  # the last orders are reserved and left open
RESTOCKED = 10_000
CONCURRENT_ORDERS = 16
# The state part of the snapshot: a handful of open reservations. A few hundred reservations
# (what the state held before shipping consumed them) take ~25 bytes each, over 7 KB.
STATE_BYTES_BOUND = 1024
# The whole record: the state and a few fields; outcomes are kept on their own topic.
SNAPSHOT_BYTES_BOUND = 2 * 1024


def _quantity(n: int) -> int:
    return 1 + n % 3


def _released(n: int) -> bool:
    return n % 7 == 3  # some orders give their reservation back instead of shipping


def _order(n: int) -> str:
    return f"order-{n:04d}"


async def _send(
    services: Services, command: object, key: str, replies: dict[str, Reply] | None = None
) -> Reply:
    """The command with an idempotency key, as the fulfillment saga sends its steps."""
    options = Options(idempotency_key=key, request_fingerprint=key)
    reply = await services.command_bus.send(BUS_STOCK, command, options, timeout=60)
    if replies is not None:
        replies[key] = reply
    return reply


async def _lifecycle(
    services: Services, n: int, gate: asyncio.Semaphore, replies: dict[str, Reply]
) -> None:
    async with gate:
        now = datetime.now(UTC)
        order = _order(n)
        reserved = await _send(services, ReserveStock(SKU, order, _quantity(n), now), f"{order}|r")
        assert reserved.accepted and reserved.events == ("StockReserved",), reserved
        if n >= ORDERS - OPEN:
            return
        last: ReleaseStock | ShipStock = (
            ReleaseStock(SKU, order, now) if _released(n) else ShipStock(SKU, order, now)
        )
        ended = await _send(services, last, f"{order}|end", replies)
        assert ended.accepted and len(ended.events) == 1, ended


async def _serve_orders(services: Services) -> dict[str, Reply]:
    """The replies of the orders' last steps, by idempotency key."""
    restocked = await _send(services, Restock(SKU, RESTOCKED, datetime.now(UTC)), "restock")
    assert restocked.accepted, restocked
    gate = asyncio.Semaphore(CONCURRENT_ORDERS)
    replies: dict[str, Reply] = {}
    await asyncio.gather(*(_lifecycle(services, n, gate, replies) for n in range(ORDERS)))
    return replies


def _newest_snapshot(services: Services) -> bytes:
    topic = services.settings.topic(STOCK.state_topic)
    records = [
        m for m in read_all(services.settings.kafka_bootstrap, topic) if m.key() == SKU.encode()
    ]
    assert records, f"no snapshot of {SKU} in {topic}"
    return records[-1].value() or b""  # one partition per key: the last one read is the newest


def _folded(services: Services) -> tuple[Stock, int]:
    stored = [
        e
        for e in read_events(services.settings, STOCK.events_topic, services.codec)
        if e.envelope.aggregate_id == SKU
    ]
    events = [services.mapper.from_record(e.event_type, e.body) for e in stored]
    return reduce(STOCK.evolve, events, STOCK.initial), len(events)


def test_a_sku_with_many_lifetime_orders_keeps_a_small_snapshot_and_restores_from_it(
    services: Services, processor: SkaldProcess, spawn: ProcessFactory
) -> None:
    """The snapshot's state part (`state` in the JSON record) is bounded by the open orders,
    and the record holds no idempotency outcomes: its size does not depend on how many
    orders the SKU served."""
    replies = asyncio.run(_serve_orders(services))

    value = _newest_snapshot(services)
    record = json.loads(value)
    hosted: HostedAggregate[Stock] = SnapshotCodec(STOCK).decode(value)
    folded, version = _folded(services)
    open_orders = {_order(n): _quantity(n) for n in range(ORDERS - OPEN, ORDERS)}
    shipped = sum(_quantity(n) for n in range(ORDERS - OPEN) if not _released(n))
    assert dict(hosted.state.reservations) == open_orders
    assert hosted.state.on_hand == RESTOCKED - shipped
    assert (hosted.state.on_hand, dict(hosted.state.reservations)) == (
        folded.on_hand,
        dict(folded.reservations),
    )
    assert hosted.version == version == 1 + ORDERS + (ORDERS - OPEN)
    state_bytes = len(json.dumps(record["state"], separators=(",", ":")))
    assert state_bytes < STATE_BYTES_BOUND, record["state"]
    assert "outcomes" not in record
    assert len(value) < SNAPSHOT_BYTES_BOUND, f"snapshot of {len(value)} bytes"

    processor.kill()
    restarted = spawn("processor-restarted", ["process"])
    restarted.wait_for_log("assigned")
    asyncio.run(_after_restart(services, hosted, replies))


async def _after_restart(
    services: Services, before: HostedAggregate[Stock], replies: dict[str, Reply]
) -> None:
    """Answers that depend on every part of the restored snapshot: state, version, outcomes."""
    now = datetime.now(UTC)
    first_open = _order(ORDERS - OPEN)
    shipped = await _send(services, ShipStock(SKU, first_open, now), "after-restart|ship")
    assert shipped.accepted and shipped.events == ("StockShipped",), shipped
    assert shipped.version == before.version + 1
    available = before.state.available  # shipping takes units from on hand and reservations
    too_many = ReserveStock(SKU, "order-too-many", available + 1, now)
    refused = await _send(services, too_many, "after-restart|too-many")
    assert refused.kind is OutcomeKind.REJECTED and refused.error == "InsufficientStock", refused
    assert f"{available} available" in (refused.detail or "")
    first = _order(0)  # its step is ~600 keyed commands on this SKU ago
    repeat = ReleaseStock(SKU, first, now) if _released(0) else ShipStock(SKU, first, now)
    replayed = await _send(services, repeat, f"{first}|end")  # a saga step sent again
    assert replayed == replies[f"{first}|end"]
    _state, version = _folded(services)
    assert version == before.version + 1  # the rejection and the replay appended nothing
