"""The generic projector: consume, decode, apply in batches to a sink, resume from its offsets.

Kafka's group offsets are never used: on assignment each partition seeks to the offset the
sink stored with its data, so a crash anywhere replays exactly what the sink lacks.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from confluent_kafka import Consumer, KafkaError, Message, TopicPartition

from eventstore.codec import DecodeError, EventCodec
from eventstore.envelope import Envelope, EnvelopeError, header_value
from eventstore.mapper import EventMapper
from eventstore.position import Position
from projections.model import PartitionKey, ProjectedEvent, Sink

log = logging.getLogger(__name__)


class Projector:
    """Runs one sink over its topics until stopped."""

    def __init__(
        self,
        consumer: Consumer,
        sink: Sink,
        topics: list[str],
        codec: EventCodec,
        mapper: EventMapper,
        batch_size: int = 500,
        retry_delay: Callable[[int], float] = lambda attempt: min(0.1 * 2**attempt, 5.0),
    ) -> None:
        self._consumer = consumer
        self._sink = sink
        self._topics = topics
        self._codec = codec
        self._mapper = mapper
        self._batch_size = batch_size
        self._retry_delay = retry_delay
        self._handled = {mapper.event_type_of_class(cls) for cls in sink.handled_types()}
        self._stopping = threading.Event()

    def run(self) -> None:
        """Consume until `stop()`; then leave the group cleanly."""
        self._consumer.subscribe(self._topics, on_assign=self._on_assign)
        log.info("projection %s consuming %s", self._sink.projection_name, self._topics)
        try:
            while not self._stopping.is_set():
                messages = self._consumer.consume(self._batch_size, timeout=0.5)
                if messages:
                    self._process(messages)
        finally:
            self._consumer.close()

    def stop(self) -> None:
        """Ask the loop to finish its current batch and exit."""
        self._stopping.set()

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        stored = self._sink.stored_offsets([(tp.topic, tp.partition) for tp in partitions])
        for tp in partitions:
            if (tp.topic, tp.partition) in stored:
                tp.offset = stored[(tp.topic, tp.partition)]
        log.info(
            "projection %s assigned %s",
            self._sink.projection_name,
            {f"{tp.topic}[{tp.partition}]": tp.offset for tp in partitions},
        )
        consumer.incremental_assign(partitions)

    def _process(self, messages: list[Message]) -> None:
        batch: list[ProjectedEvent] = []
        next_offsets: dict[PartitionKey, int] = {}
        for message in messages:
            error = message.error()
            if error is not None:
                if error.code() != KafkaError._PARTITION_EOF:
                    log.error("consume error: %s", error.str())
                continue
            topic, partition, offset = message.topic(), message.partition(), message.offset()
            assert topic is not None and partition is not None and offset is not None
            next_offsets[(topic, partition)] = offset + 1
            event = self._decode(message, Position(topic, partition, offset))
            if event is not None:
                batch.append(event)
        self._apply_with_retries(batch, next_offsets)

    def _decode(self, message: Message, position: Position) -> ProjectedEvent | None:
        if header_value(message.headers(), "ce_type") not in self._handled:
            return None  # routed on the header: events we don't project stay undecoded
        try:
            envelope = Envelope.from_headers(message.headers())
            event_type, record = self._codec.decode(message.value() or b"")
            event = self._mapper.from_record(event_type, record)
        except (DecodeError, EnvelopeError) as error:
            # Dead-lettering arrives with the DLQ; until then a poison pill is logged and skipped.
            log.error("skipping undecodable event at %s: %s", position, error)
            return None
        return ProjectedEvent(event, envelope, position)

    def _apply_with_retries(
        self, batch: list[ProjectedEvent], next_offsets: dict[PartitionKey, int]
    ) -> None:
        attempt = 0
        while True:
            try:
                self._sink.apply(batch, next_offsets)
                return
            except Exception:
                attempt += 1
                if self._stopping.is_set():
                    raise
                delay = self._retry_delay(attempt)
                log.exception(
                    "projection %s: batch failed (attempt %d), retrying in %.1fs",
                    self._sink.projection_name,
                    attempt,
                    delay,
                )
                time.sleep(delay)
