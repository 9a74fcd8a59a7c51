"""The saga's agents: route replies to the inbox, run the sagas, and the watchdog timer.

The watchdog's cost follows the sagas that are due, not every saga ever created: each worker
keeps an in-memory schedule of its live sagas' next look (`Saga.due`), updated whenever a
saga's state is written and rebuilt from the table after a rebalance. A due saga gets one
`Tick` carrying what the backlog of its participants' command topics says: stalled (queued
commands, no progress for a step's deadline) or caught up (everything handled, ours too).
"""

from __future__ import annotations

import heapq
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import faust

from contexts.sales.aggregates import ORDER
from contexts.sales.fulfillment import metrics
from contexts.sales.fulfillment import serialization as records
from contexts.sales.fulfillment.messages import Answered, SagaMessage, Tick
from contexts.sales.fulfillment.saga import (
    Phase,
    Saga,
    Send,
    advances,
    commands_for,
    expired,
    react,
    too_old,
)
from contexts.sales.fulfillment.settings import FulfillmentSettings
from contexts.sales.fulfillment.topics import INBOX, REPLIES, TABLE
from processors.batches import batches
from processors.durable_table import DurableTable, durable_table
from producers.messages import COMMAND_TYPE
from skald.context import Worker
from skald.runtime import Runtime

log = logging.getLogger("skald.fulfillment")
_RAW: dict[str, Any] = {"key_type": bytes, "value_type": bytes}
_RAW_CODECS: dict[str, Any] = {"key_serializer": "raw", "value_serializer": "raw"}


def wire(app: faust.App, runtime: Runtime) -> None:
    """Add the saga's topics, table, agents and watchdog to `app`."""
    settings = FulfillmentSettings()
    timing = settings.timing()
    topic = runtime.topic
    order = ORDER
    raw = {**_RAW, **_RAW_CODECS}
    # Participants' replies come keyed by order id (`reply_key`), co-partitioned with the
    # orders and the table, so the saga reads them directly; the inbox carries the watchdog's
    # ticks (and re-keyed replies written before replies carried the order id).
    inputs = app.topic(
        topic(order.events_topic),
        topic(order.commands_topic),
        topic(INBOX.name),
        topic(REPLIES.name),
        **raw,
    )
    inbox = app.topic(topic(INBOX.name), **raw)
    # Values are the sagas' JSON as bytes (`records.dump`): a table of a retention's sagas
    # holds each in about 0.5 KB, not as a decoded dict of about 2.6 KB.
    sagas = durable_table(app, TABLE, default=None, **_RAW)
    routes = {
        cls: (a, topic(a.commands_topic)) for a in runtime.aggregates for cls in a.command_classes
    }
    outgoing = {name: app.topic(name, **raw) for _, name in routes.values()}
    reply_to = topic(REPLIES.name)
    kinds = {
        topic(order.events_topic): "event",
        topic(order.commands_topic): "command",
        reply_to: "reply",
    }
    schedule = Schedule()

    def parse(event: faust.EventT) -> SagaMessage | None:
        headers = dict(event.message.headers or ())
        key, value = event.key, event.value
        match kinds.get(event.message.topic, "inbox"):
            case "event" if headers.get("ce_type") == records.PLACED:
                return records.order_placed(value, runtime.codec, runtime.mapper)
            case "command" if headers.get(COMMAND_TYPE) == records.PLACE:
                return records.card_given(bytes(key or b"").decode(), value)
            case "reply":
                return records.answered(headers, value)
            case "inbox":
                return records.from_inbox(value)
        return None

    def advance(message: SagaMessage, sent_at: float, staged: Staged) -> list[Send]:
        """Move one saga by one message, staging its new table entry: the commands to send."""
        key = message.order_id.encode()
        before = records.load(staged[key] if key in staged else sagas.get(key))
        now = datetime.now(UTC)
        if before is None and too_old(sent_at, now, timing):
            log.warning("saga %s: ignored a message older than the retention", key)
            metrics.TOO_OLD.inc()
            return []
        if before is not None and isinstance(message, Tick) and expired(before, now):
            staged[key] = None  # a tombstone: the changelog compacts it away
            if before.phase is Phase.WAITING:
                log.warning("saga %s: forgot a card whose order never came", key)
            schedule.set(key, 0)
            metrics.FORGOTTEN.inc()
            return []
        after, sends = react(before, message, now, timing)
        if not advances(before, after):
            log.error("saga %s: refused to move from %s to %s", key, before, after)
            metrics.REFUSED_MOVES.inc()
            return []
        schedule.set(key, after.due)
        resent = isinstance(message, Tick) and before is not None and after.phase == before.phase
        metrics.COMMANDS.labels("resend" if resent else "first").inc(len(sends))
        if after == (before or Saga(message.order_id)):
            return sends
        staged[key] = records.dump(after)
        if after.phase != (before.phase if before else None):
            log.info("saga %s: %s %s", after.order_id, after.phase, after.reason)
            metrics.TRANSITIONS.labels(after.phase.value).inc()
        return sends

    async def handle(stream: faust.Stream[bytes], events: Sequence[faust.EventT]) -> None:
        """A batch of events in stream order: every saga moved, then the new states are made
        durable (acknowledged by the broker), then their commands leave. The events are
        acknowledged when this returns: never before their states are durable. A saga moved
        by several events of the batch is written once, its last state."""
        metrics.BATCH_MESSAGES.observe(len(events))
        outbox: list[tuple[str, Send]] = []
        staged: Staged = {}
        last_event: dict[bytes, faust.EventT] = {}
        rekeyed: list[SagaMessage] = []
        for event in events:
            message = parse(event)
            if message is not None and event.key != message.order_id.encode():
                rekeyed.append(message)  # an old reply keyed by correlation id: not our partition
            elif message is not None:
                sends = advance(message, event.message.timestamp or 0.0, staged)
                last_event[message.order_id.encode()] = event
                outbox += [(message.order_id, send) for send in sends]
        if staged:
            _write(stream, sagas, staged, last_event)
            await _durable(sagas, app)  # the states are durable before their commands leave
        for order_id, send in outbox:
            out = records.command_record(send, order_id, routes, reply_to)
            await outgoing[out.topic].send(key=out.key, value=out.value, headers=out.headers)
        for answer in rekeyed:
            assert isinstance(answer, Answered)
            await inbox.send(key=answer.order_id.encode(), value=records.inbox_value(answer))

    @app.agent(inputs, name="sales_fulfillment_sagas")
    async def run_sagas(stream: faust.StreamT[bytes]) -> None:
        assert isinstance(stream, faust.Stream)
        async for events in batches(stream, settings.batch_size, settings.batch_seconds):
            await handle(stream, events)

    def tick_for(saga: Saga) -> Tick:
        """What the backlog says about the participants of the saga's pending steps."""
        backlog = runtime.backlog
        topics = {routes[type(send.command)][1] for send in commands_for(saga)}
        stalled = any(backlog.topic_stalled(t, timing.step_seconds) for t in topics)
        # Replies commit with their effects; our own unread replies may hold the answer.
        caught_up = all(backlog.topic_lag(t) == 0 for t in topics) and (
            backlog.topic_lag(reply_to) + backlog.topic_lag(topic(INBOX.name)) <= _OWN_SLACK
        )
        return Tick(saga.order_id, stalled=stalled, caught_up=caught_up)

    @app.timer(settings.watchdog_seconds, name="sales_fulfillment_watchdog")
    async def watchdog() -> None:
        recovered = app.tables.recovery.completed.is_set()  # type: ignore[attr-defined]
        if app.rebalancing or app.in_recovery or not recovered:
            return  # the table is being restored: schedule from it once it is whole
        assigned = frozenset(app.assignor.assigned_actives())
        if schedule.rebuild_needed(assigned):  # a rebalance: whose sagas are ours changed
            for key, data in list(sagas.items()):
                saga = records.load(data)
                schedule.set(key, saga.due if saga is not None else 0.0)
        metrics.DUE.set(len(schedule))
        for key in schedule.due(datetime.now(UTC).timestamp(), limit=_TICKS_PER_LOOK):
            saga = records.load(sagas.get(key))
            if saga is None or not saga.due:
                continue
            metrics.TICKS.inc()
            await inbox.send(key=key, value=records.inbox_value(tick_for(saga)))


# A batch's new saga states by key, written when the batch is decided; None: forget the saga.
Staged = dict[bytes, bytes | None]


def _write(
    stream: faust.Stream[bytes],
    sagas: DurableTable,
    staged: Staged,
    last_event: dict[bytes, faust.EventT],
) -> None:
    """Write each staged state once. A table write goes to the partition of the stream's
    current event, so each is written as its saga's last event; Faust's own iterator, in
    another task, reads the current event after each one it delivers: it is put back."""
    current = stream.current_event
    try:
        for key, value in staged.items():
            stream._set_current_event(last_event[key])
            if value is not None:
                sagas[key] = value
            elif key in sagas:
                del sagas[key]
    finally:
        stream._set_current_event(current)


async def _durable(sagas: DurableTable, app: faust.App) -> None:
    """Wait for the table's writes to be acknowledged, but never forever: a write whose future
    is never resolved (seen once after a kill -9 and rebalance, the agent stood still) falls
    back to the producer's flush, what Faust itself offers, and says so."""
    if not await sagas.durable(_DURABLE_SECONDS):
        log.error("saga states not acknowledged within %.0f s; flushing instead", _DURABLE_SECONDS)
        await app.producer.flush()


_DURABLE_SECONDS = 15.0
_TICKS_PER_LOOK = 2000  # a look's work is bounded; the rest stay due for the next look
_OWN_SLACK = 16  # replies/inbox records not yet handled that still count as caught up


class Schedule:
    """When each live saga of this worker is next due: a heap with lazy deletion, so a look
    costs what is due, not what exists."""

    def __init__(self) -> None:
        self._when: dict[bytes, float] = {}
        self._heap: list[tuple[float, bytes]] = []
        self._assigned: frozenset[object] | None = None

    def __len__(self) -> int:
        return len(self._when)

    def set(self, key: bytes, when: float) -> None:
        """Look at `key` at `when` (epoch seconds); 0 forgets it."""
        if not when:
            self._when.pop(key, None)
            return
        if self._when.get(key) != when:
            self._when[key] = when
            heapq.heappush(self._heap, (when, key))

    def due(self, now: float, limit: int) -> list[bytes]:
        """Keys due by `now`, at most `limit`; each is forgotten until `set` again."""
        found: list[bytes] = []
        while self._heap and self._heap[0][0] <= now and len(found) < limit:
            when, key = heapq.heappop(self._heap)
            if self._when.get(key) == when:
                del self._when[key]
                found.append(key)
        return found

    def rebuild_needed(self, assigned: frozenset[object]) -> bool:
        """Whether the partitions changed since the last rebuild (then forget everything)."""
        if assigned == self._assigned:
            return False
        self._assigned = assigned
        self._when.clear()
        self._heap.clear()
        return True


fulfillment_worker = Worker("sales.fulfillment", wire)
