"""What the burst benchmark reads from Kafka: orders' final events, why sagas cancelled, the
saga's commands (re-sends), and how many records the saga's topics gained (quiet check).

Times are the records' Kafka timestamps (epoch seconds, set when the command processor or
the worker produced them), so the watcher's own lag never counts.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field

from confluent_kafka import OFFSET_BEGINNING, Consumer, Message, TopicPartition

from contexts.sales.aggregates import ORDER
from contexts.sales.fulfillment.topics import CHANGELOG, INBOX, REPLIES
from contexts.sales.order.events import OrderCancelled, OrderShipped
from contexts.sales.stats.topics import ORDER_LINES_TABLE
from eventstore import kafka_config
from processors.app import changelog_topic
from producers.messages import IDEMPOTENCY_KEY
from skald.services import Services

SHIPPED, CANCELLED = OrderShipped.EVENT_TYPE.encode(), OrderCancelled.EVENT_TYPE.encode()


@dataclass
class Seen:
    """Everything the watcher has read so far (written by its thread, read by the bench)."""

    shipped: dict[str, float] = field(default_factory=dict)  # order id -> epoch seconds
    cancelled: dict[str, float] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)  # order id -> saga's cancel reason
    sagas_done: set[str] = field(default_factory=set)  # sagas final with nothing pending
    saga_commands: int = 0  # records on the commands topics with a `saga:` idempotency key
    saga_keys: set[str] = field(default_factory=set)
    order_lines: set[str] = field(default_factory=set)  # live keys of the stats' order lines

    def final(self, order_id: str) -> float | None:
        return self.shipped.get(order_id) or self.cancelled.get(order_id)

    def timed_out(self) -> int:
        """Cancelled orders whose saga gave up on a deadline."""
        return sum(self.reasons.get(o, "").startswith("timed out") for o in self.cancelled)


class Watcher:
    """Reads the order events, the saga changelog and every commands topic from the start."""

    def __init__(self, services: Services) -> None:
        self.seen = Seen()
        settings = services.settings
        self._events = settings.topic(ORDER.events_topic)
        self._changelog = settings.topic(CHANGELOG)
        self._lines = settings.topic(changelog_topic(ORDER_LINES_TABLE))
        self._commands = {settings.topic(a.commands_topic) for a in services.aggregates}
        self._consumer = Consumer(
            {
                **kafka_config.reader_config(
                    settings.kafka_connection(), settings.group("bench.burst")
                ),
                "enable.partition.eof": False,
            }
        )
        topics = [self._events, self._changelog, self._lines, *self._commands]
        self._consumer.assign(
            [TopicPartition(t, p, OFFSET_BEGINNING) for t, p in _partitions(self._consumer, topics)]
        )
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            for message in self._consumer.consume(1000, timeout=0.2):
                if message.error() is None:
                    self._read(message)

    def _read(self, message: Message) -> None:
        headers = dict(message.headers() or ())
        key = (message.key() or b"").decode()
        topic = message.topic()
        if topic == self._events:
            kind = headers.get("ce_type")
            at = message.timestamp()[1] / 1000
            if kind == SHIPPED:
                self.seen.shipped.setdefault(key, at)
            elif kind == CANCELLED:
                self.seen.cancelled.setdefault(key, at)
        elif topic == self._changelog:
            value = message.value()
            state = json.loads(value) if value else None
            order_id = key.strip('"')
            if state and state.get("reason"):
                self.seen.reasons[order_id] = state["reason"]
            if state and state["phase"] in ("done", "cancelled") and not state["pending"]:
                self.seen.sagas_done.add(order_id)
        elif topic == self._lines:
            if message.value() is None:  # a tombstone: the order was counted or cancelled
                self.seen.order_lines.discard(key)
            else:
                self.seen.order_lines.add(key)
        elif isinstance(idempotency := headers.get(IDEMPOTENCY_KEY), bytes) and (
            idempotency.startswith(b"saga:")
        ):
            self.seen.saga_commands += 1
            self.seen.saga_keys.add(idempotency.decode())

    def wait_final(self, order_ids: list[str], timeout: float) -> list[str]:
        """Wait until every order shipped or cancelled; the ones still open at the timeout."""
        deadline = time.monotonic() + timeout
        while open_ := [o for o in order_ids if self.seen.final(o) is None]:
            if time.monotonic() > deadline:
                return open_
            time.sleep(0.2)
        reasons_due = time.monotonic() + 10  # the changelog may be read after the event
        while time.monotonic() < reasons_due and not set(self.seen.cancelled) <= set(
            self.seen.reasons
        ):
            time.sleep(0.2)
        return []

    def wait_sagas(self, order_ids: list[str], timeout: float) -> None:
        """Wait until every order's saga is final in its changelog (its last reply handled)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not set(order_ids) <= self.seen.sagas_done:
            time.sleep(0.2)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._consumer.close()


def saga_traffic(services: Services) -> int:
    """Records written so far to the commands topics and the saga's inbox and replies (the sum
    of their high watermarks; transaction markers count too, and come only with new records)."""
    settings = services.settings
    topics = [settings.topic(a.commands_topic) for a in services.aggregates]
    topics += [settings.topic(INBOX.name), settings.topic(REPLIES.name)]
    consumer = Consumer(
        kafka_config.reader_config(settings.kafka_connection(), settings.group("bench.quiet"))
    )
    try:
        return sum(
            consumer.get_watermark_offsets(TopicPartition(t, p), timeout=10, cached=False)[1]
            for t, p in _partitions(consumer, topics)
        )
    finally:
        consumer.close()


def _partitions(consumer: Consumer, topics: list[str]) -> list[tuple[str, int]]:
    found = []
    for topic in topics:
        metadata = consumer.list_topics(topic, timeout=10).topics[topic]
        found += [(topic, p) for p in metadata.partitions]
    return found
