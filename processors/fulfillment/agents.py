"""The saga's agents: route replies to the inbox, run the sagas, and the watchdog timer."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import faust

from contexts.sales.fulfillment.messages import SagaMessage, Tick
from contexts.sales.fulfillment.saga import Phase, Saga, is_live, react
from processors.fulfillment import records
from processors.fulfillment.topics import INBOX, REPLIES, TABLE
from producers.messages import COMMAND_TYPE
from skald.services import Services

log = logging.getLogger("skald.fulfillment")
_RAW: dict[str, Any] = {"key_type": bytes, "value_type": bytes}
_RAW_CODECS: dict[str, Any] = {"key_serializer": "raw", "value_serializer": "raw"}


@dataclass(frozen=True, slots=True)
class Timing:
    """How long a step may take before compensation, and how often the watchdog re-drives."""

    step_seconds: float = 30.0
    redrive_seconds: float = 5.0


def wire(app: faust.App, services: Services, timing: Timing) -> None:
    """Add the saga's topics, table, agents and watchdog to `app`."""
    topic = services.settings.topic
    order = next(a for a in services.aggregates if a.name == "order")
    raw = {**_RAW, **_RAW_CODECS}
    inputs = app.topic(
        topic(order.events_topic), topic(order.commands_topic), topic(INBOX.name), **raw
    )
    replies = app.topic(topic(REPLIES.name), **raw)
    inbox = app.topic(topic(INBOX.name), **raw)
    sagas = app.Table(TABLE, default=None, key_type=bytes)  # JSON values: the app default
    routes = {
        cls: (a, topic(a.commands_topic)) for a in services.aggregates for cls in a.command_classes
    }
    outgoing = {name: app.topic(name, **raw) for _, name in routes.values()}
    reply_to = topic(REPLIES.name)
    kinds = {topic(order.events_topic): "event", topic(order.commands_topic): "command"}

    def parse(event: faust.EventT) -> SagaMessage | None:
        headers = dict(event.message.headers or ())
        key, value = event.key, event.value
        match kinds.get(event.message.topic, "inbox"):
            case "event" if headers.get("ce_type") == records.PLACED:
                return records.order_placed(value, services.codec, services.mapper)
            case "command" if headers.get(COMMAND_TYPE) == records.PLACE:
                return records.card_given(bytes(key or b"").decode(), value)
            case "inbox":
                return records.from_inbox(value)
        return None

    async def handle(message: SagaMessage) -> None:
        key = message.order_id.encode()
        before = records.load(sagas.get(key))
        after, sends = react(before, message, datetime.now(UTC), timing.step_seconds)
        if after != (before or Saga(message.order_id)):
            sagas[key] = records.dump(after)
            if after.phase != (before.phase if before else None):
                log.info("saga %s: %s %s", after.order_id, after.phase, after.reason)
        if sends:
            await app.producer.flush()  # the state is durable before its commands leave
        for send in sends:
            out = records.command_record(send, message.order_id, routes, reply_to)
            await outgoing[out.topic].send(key=out.key, value=out.value, headers=out.headers)

    @app.agent(inputs, name="run_sagas")
    async def run_sagas(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            message = parse(event)
            if message is not None:
                await handle(message)

    @app.agent(replies, name="route_replies")
    async def route_replies(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            answer = records.answered(dict(event.message.headers or ()), event.value)
            await inbox.send(key=answer.order_id.encode(), value=records.inbox_value(answer))

    @app.timer(timing.redrive_seconds, name="saga_watchdog")
    async def watchdog() -> None:
        now = datetime.now(UTC).timestamp()
        for key, data in list(sagas.items()):
            saga = records.load(data)
            if saga is None or saga.phase is Phase.WAITING or not is_live(saga):
                continue
            if saga.since is None or now - saga.since.timestamp() >= timing.redrive_seconds:
                await inbox.send(key=key, value=records.inbox_value(Tick(saga.order_id)))
