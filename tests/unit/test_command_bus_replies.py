"""The command bus without Kafka: a request's deadline, and replies handed over per batch."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from confluent_kafka import KafkaError, Message

from contexts.inventory.aggregates import STOCK
from contexts.inventory.stock.commands import Restock
from eventstore.mapper import EventMapper
from producers.command_bus import CommandBus, CommandTimeout, Options
from producers.messages import CORRELATION_ID, OutcomeKind, Reply
from skald.registry import CONTEXTS

NOW = datetime(2026, 1, 1, tzinfo=UTC)
MAPPER = EventMapper(cls for c in CONTEXTS for cls in (*c.event_classes, *c.command_classes))
ACCEPTED = Reply(OutcomeKind.ACCEPTED, aggregate_id="SKU-1", version=1, events=("Restocked",))


class _Producer:
    """Takes commands and answers none: the test plays the reply thread."""

    def __init__(self) -> None:
        self.sent: list[str] = []  # correlation ids

    def produce(self, *_: Any, headers: list[tuple[str, bytes]], **__: Any) -> None:
        self.sent.append(dict(headers)[CORRELATION_ID].decode())

    def poll(self, _: float) -> int:
        return 0


def _bus() -> tuple[CommandBus, _Producer]:
    producer = _Producer()
    bus = CommandBus(producer, None, "replies", MAPPER, {"stock": "stock.commands"})  # type: ignore[arg-type]
    return bus, producer


def _send(bus: CommandBus, timeout: float) -> asyncio.Task[Reply]:
    return asyncio.ensure_future(
        bus.send(STOCK, Restock("SKU-1", 1, NOW), Options(), timeout)  # type: ignore[arg-type]
    )


def _reply(key: str, value: bytes = ACCEPTED.encode()) -> Message:
    return Message(topic="replies", partition=0, offset=0, key=key.encode(), value=value)


def test_no_reply_in_time_is_a_command_timeout_and_forgets_the_request() -> None:
    bus, _ = _bus()

    async def scenario() -> None:
        with pytest.raises(CommandTimeout, match=r"no reply within 0\.05 s"):
            await _send(bus, 0.05)

    asyncio.run(scenario())
    assert bus._pending == {}


def test_a_batch_answers_every_request_it_holds_and_skips_the_rest() -> None:
    bus, producer = _bus()

    async def scenario() -> list[Reply]:
        first, second = _send(bus, 5.0), _send(bus, 5.0)
        while len(producer.sent) < 2:
            await asyncio.sleep(0)
        a, b = producer.sent
        batch = [
            _reply("someone-elses"),  # another API instance's
            _reply(a),
            Message(topic="replies", error=KafkaError(KafkaError._PARTITION_EOF)),
            _reply(b, b"not json"),  # dropped: b waits on
            _reply(b),
        ]
        await asyncio.get_running_loop().run_in_executor(None, bus._deliver, batch)
        return [await first, await second]

    assert asyncio.run(scenario()) == [ACCEPTED, ACCEPTED]
    assert bus._pending == {}


def test_a_reply_after_the_deadline_changes_nothing() -> None:
    bus, producer = _bus()

    async def scenario() -> None:
        request = _send(bus, 0.01)
        while not producer.sent:
            await asyncio.sleep(0)
        (late,) = producer.sent
        with pytest.raises(CommandTimeout):
            await request
        bus._deliver([_reply(late)])  # no longer awaited: nothing to resolve

    asyncio.run(scenario())
