"""A partition's transactional writer: one transactional id per command partition.

Creating the writer calls `init_transactions`, which bumps the id's epoch: any earlier
writer of the same partition (a paused or partitioned zombie) is fenced and its open
transaction aborted before this one reads state or writes anything.
"""

from __future__ import annotations

from confluent_kafka import KafkaError, KafkaException, Message, Producer, TopicPartition

from eventstore.envelope import Headers
from eventstore.position import Position


class WriterFenced(Exception):
    """Another writer took over this partition; this one must stop."""


class PartitionWriter:
    """Events, snapshots, replies and the consumed offset in one transaction per batch."""

    def __init__(self, config: dict[str, object], init_timeout: float = 30.0) -> None:
        self._producer = Producer(config)
        self._producer.init_transactions(init_timeout)
        self._positions: dict[int, Position] = {}
        self._failure: KafkaError | None = None
        self._sequence = 0

    def begin(self) -> None:
        self._positions.clear()
        self._failure = None
        self._producer.begin_transaction()

    def produce(
        self, topic: str, key: bytes, value: bytes, headers: Headers, partition: int | None = None
    ) -> int:
        """Queue a record; returns a ticket whose position `flush()` reports."""
        self._sequence += 1
        ticket = self._sequence

        def on_delivery(error: KafkaError | None, message: Message) -> None:
            if error is not None:
                self._failure = error
                return
            self._positions[ticket] = Position(
                message.topic() or "", message.partition() or 0, message.offset() or 0
            )

        if partition is None:
            self._producer.produce(
                topic, key=key, value=value, headers=headers, on_delivery=on_delivery
            )
        else:
            self._producer.produce(
                topic,
                key=key,
                value=value,
                headers=headers,
                partition=partition,
                on_delivery=on_delivery,
            )
        return ticket

    def flush(self, timeout: float = 30.0) -> dict[int, Position]:
        """Wait for every queued record; their positions by ticket."""
        remaining = self._producer.flush(timeout)
        if self._failure is not None:
            raise KafkaException(self._failure)
        if remaining:
            raise KafkaException(KafkaError(KafkaError._TIMED_OUT, "records not delivered"))
        return dict(self._positions)

    def commit(
        self, offsets: list[TopicPartition], group_metadata: object, timeout: float = 30.0
    ) -> None:
        """Add the consumed offsets to the transaction and commit it."""
        try:
            self._producer.send_offsets_to_transaction(offsets, group_metadata, timeout)
            self._producer.commit_transaction(timeout)
        except KafkaException as error:
            _raise_if_fenced(error)
            raise

    def abort(self, timeout: float = 30.0) -> None:
        """Abort the open transaction, if the writer is still allowed to."""
        try:
            self._producer.abort_transaction(timeout)
        except KafkaException as error:
            _raise_if_fenced(error)
            raise


def _raise_if_fenced(error: KafkaException) -> None:
    kafka_error = error.args[0]
    if kafka_error.fatal() or kafka_error.code() in (
        KafkaError._FENCED,
        KafkaError.PRODUCER_FENCED,
        KafkaError.INVALID_PRODUCER_EPOCH,
    ):
        raise WriterFenced(kafka_error.str()) from error
