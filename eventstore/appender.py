"""Appends enveloped, Avro-encoded events to Kafka and reports where they landed.

Guarantee: when `append` returns, every event is acknowledged by all in-sync replicas
(`acks=all`, idempotent producer); events of one call keep their order in the partition.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from confluent_kafka import KafkaError, Message, Producer

from eventstore.envelope import Envelope
from eventstore.outgoing import EventRecordFactory, Stream
from eventstore.position import Position

__all__ = ["AppendError", "Appended", "KafkaEventAppender", "Stream"]


class AppendError(Exception):
    """Kafka did not acknowledge an event."""


@dataclass(frozen=True, slots=True)
class Appended:
    """One acknowledged event."""

    envelope: Envelope
    position: Position


class KafkaEventAppender:
    """Produces events keyed by aggregate id; a background thread serves delivery reports."""

    def __init__(self, producer: Producer, records: EventRecordFactory) -> None:
        self._producer = producer
        self._records = records
        self._running = True
        self._poller = threading.Thread(target=self._poll, name="skald-producer-poll", daemon=True)
        self._poller.start()

    def _poll(self) -> None:
        while self._running:
            self._producer.poll(0.1)

    async def append(
        self,
        stream: Stream,
        events: Sequence[object],
        first_version: int,
        correlation_id: str | None = None,
        causation_id: str | None = None,
    ) -> list[Appended]:
        """Append events as versions first_version, first_version + 1, ... of the stream."""
        loop = asyncio.get_running_loop()
        correlation_id = correlation_id or str(uuid.uuid4())
        futures: list[asyncio.Future[Appended]] = []
        for offset, event in enumerate(events):
            record = self._records.build(
                stream,
                event,
                first_version + offset,
                correlation_id,
                causation_id or correlation_id,
            )
            future: asyncio.Future[Appended] = loop.create_future()
            self._producer.produce(
                stream.topic,
                key=record.key,
                value=record.value,
                headers=record.headers,
                on_delivery=_resolver(loop, future, record.envelope),
            )
            futures.append(future)
        return list(await asyncio.gather(*futures))

    def close(self, timeout: float = 10.0) -> None:
        """Deliver what is queued, then stop the poll thread."""
        self._producer.flush(timeout)
        self._running = False
        self._poller.join(timeout)


def _resolver(
    loop: asyncio.AbstractEventLoop, future: asyncio.Future[Appended], envelope: Envelope
) -> Callable[[KafkaError | None, Message], None]:
    def on_delivery(error: KafkaError | None, message: Message) -> None:
        if error is not None:
            outcome: Appended | AppendError = AppendError(f"{envelope.event_type}: {error.str()}")
        else:
            position = Position(
                message.topic() or "", message.partition() or 0, message.offset() or 0
            )
            outcome = Appended(envelope, position)
        loop.call_soon_threadsafe(_settle, future, outcome)

    return on_delivery


def _settle(future: asyncio.Future[Appended], outcome: Appended | AppendError) -> None:
    if future.done():
        return
    if isinstance(outcome, AppendError):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)
