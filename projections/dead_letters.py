"""Dead-letter topics: one per projection, holding the original record plus why it failed.

Writing is at-least-once: the record is acknowledged (`acks=all`) before the batch that
skips it commits, so a crash in between dead-letters it again. Readers therefore dedupe
by source position; redrive is guarded by the sink's pending marker, not by this topic.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from confluent_kafka import Consumer, KafkaError, Message, Producer, TopicPartition

from eventstore.envelope import Headers, header_value
from eventstore.position import Position
from eventstore.topics import TopicSpec
from projections.model import Projected, RawRecord, TransientSinkError

PREFIX = "skald_dlq_"


def dead_letter_topic(projection: str) -> str:
    """The logical (un-namespaced) dead-letter topic of a projection."""
    return f"{projection}.dlq"


def dead_letter_spec(projection: str) -> TopicSpec:
    """A projection's dead letters: one partition (read back in failure order), kept forever."""
    return TopicSpec(
        dead_letter_topic(projection), {"retention.ms": "-1"}, partitions=1, keyed=False
    )


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One dead-lettered record as read back from the topic."""

    dlq_offset: int
    projection: str
    source: Position
    kind: str  # "decode" | "handler"
    error: str
    failed_at: str
    raw: RawRecord


class DeadLetterWriter:
    """Produces dead letters and waits until Kafka acknowledged them."""

    def __init__(self, producer: Producer, topic: str, projection: str) -> None:
        self._producer = producer
        self._topic = topic
        self._projection = projection

    def send(self, raw: RawRecord, source: Position, kind: str, error: str) -> None:
        """Produce and flush; raises TransientSinkError if Kafka did not acknowledge."""
        failures: list[KafkaError] = []

        def on_delivery(err: KafkaError | None, _: Message) -> None:
            if err is not None:
                failures.append(err)

        extra = {
            "projection": self._projection,
            "topic": source.topic,
            "partition": str(source.partition),
            "offset": str(source.offset),
            "kind": kind,
            "error": error[:4000],
            "failed_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
        }
        headers: Headers = [(n, v) for n, v in header_pairs(raw) if not n.startswith(PREFIX)]
        headers += [(PREFIX + name, value.encode()) for name, value in extra.items()]
        self._producer.produce(
            self._topic, key=raw.key, value=raw.value, headers=headers, on_delivery=on_delivery
        )
        if self._producer.flush(30) or failures:
            raise TransientSinkError(f"dead-letter topic {self._topic} did not acknowledge")

    def send_event(self, event: Projected, kind: str, error: str) -> None:
        """Dead-letter a decoded event or state record by its original bytes."""
        assert event.raw is not None, "events from the log always keep their bytes"
        self.send(event.raw, event.position, kind, error)


def read_dead_letters(consumer: Consumer, topic: str, timeout: float = 10.0) -> list[DeadLetter]:
    """Every dead letter in the topic, first per source position (duplicates dropped)."""
    metadata = consumer.list_topics(topic, timeout=timeout).topics.get(topic)
    if metadata is None or metadata.error is not None:
        return []
    ends = {
        p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=timeout)
        for p in metadata.partitions
    }
    remaining = {p for p, (low, high) in ends.items() if high > low}
    consumer.assign([TopicPartition(topic, p, low) for p, (low, _) in ends.items()])
    found: dict[Position, DeadLetter] = {}
    try:
        while remaining:
            message = consumer.poll(timeout)
            if message is None:
                raise TimeoutError(f"timed out reading {topic}")
            if message.error() is not None:
                continue
            letter = _parse(message)
            found.setdefault(letter.source, letter)
            if (message.offset() or 0) + 1 >= ends[message.partition() or 0][1]:
                remaining.discard(message.partition() or 0)
    finally:
        consumer.unassign()
    return sorted(found.values(), key=lambda letter: letter.dlq_offset)


def _parse(message: Message) -> DeadLetter:
    headers = message.headers()

    def meta(name: str) -> str:
        return header_value(headers, PREFIX + name) or ""

    pairs = header_pairs(RawRecord(None, None, headers))
    original = [(n, v) for n, v in pairs if not n.startswith(PREFIX)]
    source = Position(meta("topic"), int(meta("partition") or 0), int(meta("offset") or 0))
    return DeadLetter(
        dlq_offset=message.offset() or 0,
        projection=meta("projection"),
        source=source,
        kind=meta("kind"),
        error=meta("error"),
        failed_at=meta("failed_at"),
        raw=RawRecord(message.key(), message.value(), original),
    )


def header_pairs(raw: RawRecord) -> list[tuple[str, str | bytes | None]]:
    """The record's headers as (name, value) pairs."""
    headers = raw.headers
    if headers is None:
        return []
    if isinstance(headers, dict):
        return list(headers.items())
    return list(headers)  # type: ignore[arg-type]
