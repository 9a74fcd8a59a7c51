"""Follows event-carried state topics into PostgreSQL: upsert a batch, then commit its offsets.

At-least-once: a crash, a failed write or a lost commit (a rebalance) re-delivers the batch,
and applying a key's full current value again writes the same row. On any error the consumer
is closed and rebuilt, so it resumes from the committed offsets instead of skipping a batch.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from eventstore.kafka_config import consumer_config
from skald.settings import Settings

log = logging.getLogger("skald.state_follower")
Apply = Callable[[list[Message]], None]
_REBALANCED = {
    KafkaError.ILLEGAL_GENERATION,
    KafkaError.REBALANCE_IN_PROGRESS,
    KafkaError.UNKNOWN_MEMBER_ID,
    KafkaError._ASSIGNMENT_LOST,
}


def follow(
    settings: Settings, group: str, topics: list[str], apply: Apply, stop: threading.Event
) -> None:
    """Apply every batch of `topics` until `stop` is set, retrying from the last commit."""
    while not stop.is_set():
        consumer = Consumer(consumer_config(settings.kafka_connection(), settings.group(group)))
        try:
            while not set(topics) <= set(consumer.list_topics(timeout=10).topics):
                if stop.wait(1):  # a changelog appears once its Faust app has started
                    return
            consumer.subscribe(topics)
            while not stop.is_set():
                batch = [m for m in consumer.consume(500, timeout=0.5) if m.error() is None]
                if batch:
                    apply(batch)
                    consumer.commit(offsets=_next_offsets(batch), asynchronous=False)
        except Exception as error:
            routine = _rebalanced(error)  # a routine refusal needs no traceback in the log
            log.warning("%s: resuming from the last commit: %s", group, error, exc_info=not routine)
            stop.wait(1)
        finally:
            consumer.close()


def _rebalanced(error: Exception) -> bool:
    """Whether a commit was refused because a rebalance moved the batch's partitions."""
    return isinstance(error, KafkaException) and error.args[0].code() in _REBALANCED


def _next_offsets(batch: list[Message]) -> list[TopicPartition]:
    ends: dict[tuple[str, int], int] = {}
    for m in batch:
        ends[(m.topic() or "", m.partition() or 0)] = (m.offset() or 0) + 1
    return [TopicPartition(topic, partition, end) for (topic, partition), end in ends.items()]


def start(name: str, target: Callable[[threading.Event], None]) -> threading.Event:
    """Run `target(stop)` on a daemon thread; set the returned event to stop it."""
    stop = threading.Event()
    threading.Thread(target=target, args=(stop,), name=name, daemon=True).start()
    return stop
