"""The saga's agents: route replies to the inbox, run the sagas, and the watchdog timer."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import faust

from contexts.sales.aggregates import ORDER
from contexts.sales.fulfillment import metrics
from contexts.sales.fulfillment import serialization as records
from contexts.sales.fulfillment.messages import SagaMessage, Tick
from contexts.sales.fulfillment.saga import Phase, Saga, Send, is_live, react
from contexts.sales.fulfillment.settings import FulfillmentSettings
from contexts.sales.fulfillment.topics import INBOX, REPLIES, TABLE
from producers.messages import COMMAND_TYPE
from skald.context import Worker
from skald.runtime import Runtime

log = logging.getLogger("skald.fulfillment")
_RAW: dict[str, Any] = {"key_type": bytes, "value_type": bytes}
_RAW_CODECS: dict[str, Any] = {"key_serializer": "raw", "value_serializer": "raw"}


def wire(app: faust.App, runtime: Runtime) -> None:
    """Add the saga's topics, table, agents and watchdog to `app`."""
    timing = FulfillmentSettings()
    topic = runtime.topic
    order = ORDER
    raw = {**_RAW, **_RAW_CODECS}
    inputs = app.topic(
        topic(order.events_topic), topic(order.commands_topic), topic(INBOX.name), **raw
    )
    replies = app.topic(topic(REPLIES.name), **raw)
    inbox = app.topic(topic(INBOX.name), **raw)
    sagas = app.Table(TABLE, default=None, key_type=bytes)  # JSON values: the app default
    routes = {
        cls: (a, topic(a.commands_topic)) for a in runtime.aggregates for cls in a.command_classes
    }
    outgoing = {name: app.topic(name, **raw) for _, name in routes.values()}
    reply_to = topic(REPLIES.name)
    kinds = {topic(order.events_topic): "event", topic(order.commands_topic): "command"}

    def parse(event: faust.EventT) -> SagaMessage | None:
        headers = dict(event.message.headers or ())
        key, value = event.key, event.value
        match kinds.get(event.message.topic, "inbox"):
            case "event" if headers.get("ce_type") == records.PLACED:
                return records.order_placed(value, runtime.codec, runtime.mapper)
            case "command" if headers.get(COMMAND_TYPE) == records.PLACE:
                return records.card_given(bytes(key or b"").decode(), value)
            case "inbox":
                return records.from_inbox(value)
        return None

    def advance(message: SagaMessage) -> tuple[bool, list[Send]]:
        """Move one saga by one message: whether its table entry changed, the commands to send."""
        key = message.order_id.encode()
        before = records.load(sagas.get(key))
        after, sends = react(before, message, datetime.now(UTC), timing.step_seconds)
        if after == (before or Saga(message.order_id)):
            return False, sends
        sagas[key] = records.dump(after)
        if after.phase != (before.phase if before else None):
            log.info("saga %s: %s %s", after.order_id, after.phase, after.reason)
            metrics.TRANSITIONS.labels(after.phase.value).inc()
        return True, sends

    async def handle(stream: faust.Stream[bytes], events: Sequence[faust.EventT]) -> None:
        """A batch of events in stream order: every saga moved, then one flush makes the new
        states durable, then their commands leave (one flush per batch, not per message).
        The events are acknowledged when this returns: never before their states are durable."""
        metrics.BATCH_MESSAGES.observe(len(events))
        outbox: list[tuple[str, Send]] = []
        changed = False
        for event in events:
            message = parse(event)
            if message is not None:
                stream._set_current_event(event)  # table writes go to the event's partition
                wrote, sends = advance(message)
                changed |= wrote
                outbox += [(message.order_id, send) for send in sends]
        stream._set_current_event(None)
        if changed or outbox:
            await app.producer.flush()  # the states are durable before their commands leave
        for order_id, send in outbox:
            out = records.command_record(send, order_id, routes, reply_to)
            await outgoing[out.topic].send(key=out.key, value=out.value, headers=out.headers)

    @app.agent(inputs, name="sales_fulfillment_sagas")
    async def run_sagas(stream: faust.StreamT[bytes]) -> None:
        assert isinstance(stream, faust.Stream)  # StreamT does not declare take_events
        async for events in stream.take_events(timing.batch_size, within=timing.batch_seconds):
            await handle(stream, events)

    @app.agent(replies, name="sales_fulfillment_replies")
    async def route_replies(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            answer = records.answered(dict(event.message.headers or ()), event.value)
            await inbox.send(key=answer.order_id.encode(), value=records.inbox_value(answer))

    @app.timer(timing.redrive_seconds, name="sales_fulfillment_watchdog")
    async def watchdog() -> None:
        now = datetime.now(UTC).timestamp()
        for key, data in list(sagas.items()):
            saga = records.load(data)
            if saga is None or saga.phase is Phase.WAITING or not is_live(saga):
                continue
            if saga.since is None or now - saga.since.timestamp() >= timing.redrive_seconds:
                await inbox.send(key=key, value=records.inbox_value(Tick(saga.order_id)))


fulfillment_worker = Worker("sales.fulfillment", wire)
