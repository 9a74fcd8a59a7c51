"""Sends a command to its aggregate's partition and awaits the reply by correlation id.

Replies come back on a shared reply topic that every API instance reads whole from its end,
keeping only the replies it waits for. A reply is written in the same transaction as the
command's events, so an accepted reply means the events are committed.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from dataclasses import dataclass

from confluent_kafka import (
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    Producer,
    TopicPartition,
)

from eventstore.aggregate import AggregateType
from eventstore.appender import AppendError
from eventstore.mapper import EventMapper
from eventstore.topics import TopicSpec
from producers.limits import CommandTooLarge, check_command_size
from producers.messages import CommandMessage, MalformedMessage, Reply

log = logging.getLogger(__name__)

# Replies are read within seconds of being written; an hour covers any retry.
REPLY_TOPIC = TopicSpec("skald.replies", {"cleanup.policy": "delete", "retention.ms": "3600000"})
REPLY_WAIT = 0.05  # seconds the reply thread blocks for the next reply
REPLY_BATCH = 500  # replies taken from the local queue at once, beyond the first


class CommandTimeout(Exception):
    """No reply in time; the command may or may not have been applied."""


class CommandBusFull(Exception):
    """The producer's local queue is full: nothing was sent, retry shortly."""


@dataclass(frozen=True, slots=True)
class Options:
    """How the caller wants a command handled."""

    idempotency_key: str | None = None
    request_fingerprint: str = ""
    expected_version: int | None = None
    traceparent: str | None = None


Pending = dict[str, tuple[asyncio.AbstractEventLoop, "asyncio.Future[Reply]"]]


class CommandBus:
    """One per API process: a producer for commands and a thread reading replies."""

    def __init__(
        self,
        producer: Producer,
        replies: Consumer,
        reply_topic: str,
        mapper: EventMapper,
        topic_of: dict[str, str],
    ) -> None:
        self._producer = producer
        self._replies = replies
        self._reply_topic = reply_topic
        self._mapper = mapper
        self._topic_of = topic_of  # aggregate name -> namespaced commands topic
        self._pending: Pending = {}
        self._running = True
        self._ready = threading.Event()
        self._thread = threading.Thread(
            target=self._read_replies, name="skald-replies", daemon=True
        )

    def start(self, timeout: float = 30.0) -> None:
        """Start reading replies from the end; returns once positions are fixed."""
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError(f"could not start reading {self._reply_topic}")

    async def send(
        self, aggregate: AggregateType[object], command: object, options: Options, timeout: float
    ) -> Reply:
        """Produce the command and wait for its reply."""
        loop = asyncio.get_running_loop()
        correlation_id = str(uuid.uuid4())
        message = CommandMessage(
            command_type=self._mapper.event_type(command),
            aggregate_id=aggregate.aggregate_id(command),
            payload=self._mapper.to_record(command),
            correlation_id=correlation_id,
            reply_to=self._reply_topic,
            idempotency_key=options.idempotency_key,
            request_fingerprint=options.request_fingerprint,
            expected_version=options.expected_version,
            traceparent=options.traceparent,
        )
        key, value, headers = message.aggregate_id.encode(), message.value(), message.headers()
        check_command_size(key, value, headers)  # raises CommandTooLarge before Kafka would
        future: asyncio.Future[Reply] = loop.create_future()
        self._pending[correlation_id] = (loop, future)

        def on_delivery(error: KafkaError | None, _: Message) -> None:
            if error is not None:
                failure = AppendError(f"command not accepted by Kafka: {error.str()}")
                loop.call_soon_threadsafe(_fail, future, failure)

        try:
            # No poll() here: the reply thread serves delivery reports within REPLY_WAIT
            # seconds, and a poll per request dropped and retook the GIL on the event loop.
            self._producer.produce(
                self._topic_of[aggregate.name],
                key=key,
                value=value,
                headers=headers,
                on_delivery=on_delivery,
            )
            return await asyncio.wait_for(future, timeout)
        except BufferError as error:  # librdkafka's queue.buffering.max.* reached
            raise CommandBusFull(f"the command queue is full: {error}") from None
        except KafkaException as error:
            if error.args[0].code() == KafkaError.MSG_SIZE_TOO_LARGE:
                raise CommandTooLarge(f"Kafka refuses the command's size: {error}") from None
            raise AppendError(f"command not accepted by Kafka: {error}") from None
        except TimeoutError:
            raise CommandTimeout(f"no reply within {timeout:g} s") from None
        finally:
            self._pending.pop(correlation_id, None)

    def close(self) -> None:
        self._running = False
        self._producer.flush(10)
        if self._thread.is_alive():
            self._thread.join(5)

    def _read_replies(self) -> None:
        topic = self._replies.list_topics(self._reply_topic, timeout=10).topics[self._reply_topic]
        # Start at each partition's current end: every reply to a command sent after start()
        # lands beyond it. Concrete offsets, so nothing hangs on lazy offset resolution.
        self._replies.assign([self._end_of(p) for p in topic.partitions])
        self._ready.set()
        try:
            while self._running:
                self._producer.poll(0)  # delivery reports: a failed send fails its request
                first = self._replies.poll(REPLY_WAIT)
                if first is None:
                    continue
                # Whatever else is already fetched, without waiting (consume(n, t) would wait
                # for n or t): replies come in batches, one transaction of the processor each,
                # and one GIL take and one loop wake-up per batch beat one per reply.
                self._deliver([first, *self._replies.consume(REPLY_BATCH, 0)])
        finally:
            self._replies.close()

    def _end_of(self, partition: int) -> TopicPartition:
        tp = TopicPartition(self._reply_topic, partition)
        _low, high = self._replies.get_watermark_offsets(tp, timeout=10)
        return TopicPartition(self._reply_topic, partition, high)

    def _deliver(self, messages: list[Message]) -> None:
        """Hand each awaited reply of a batch to its request: one call into each waiting
        event loop per batch."""
        ready: dict[asyncio.AbstractEventLoop, list[Resolution]] = {}
        for message in messages:
            key = message.key() if message.error() is None else None
            waiting = self._pending.get(key.decode()) if key else None
            if waiting is None:
                continue  # another API instance's reply, or one we stopped waiting for
            loop, future = waiting
            try:
                reply = Reply.decode(message.value())
            except MalformedMessage as error:
                log.error("dropping reply %s: %s", key, error)
                continue
            ready.setdefault(loop, []).append((future, reply))
        for loop, resolutions in ready.items():
            loop.call_soon_threadsafe(_resolve_all, resolutions)


Resolution = tuple["asyncio.Future[Reply]", Reply]


def _resolve_all(resolutions: list[Resolution]) -> None:
    for future, reply in resolutions:
        if not future.done():  # timed out meanwhile
            future.set_result(reply)


def _fail(future: asyncio.Future[Reply], error: Exception) -> None:
    if not future.done():
        future.set_exception(error)
