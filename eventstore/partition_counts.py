"""How many partitions a topic has, read from cluster metadata and remembered a while."""

from __future__ import annotations

import threading
import time

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient


class PartitionCounts:
    """`counts(topic)`: the topic's partition count, or None if unknown (no such topic, or the
    cluster did not answer). Counts change rarely (only ever up), so each is kept `ttl` s."""

    def __init__(self, admin: AdminClient, ttl: float = 60.0, timeout: float = 5.0) -> None:
        self._admin = admin
        self._ttl = ttl
        self._timeout = timeout
        self._known: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()

    def __call__(self, topic: str) -> int | None:
        with self._lock:
            known = self._known.get(topic)
        if known is not None and time.monotonic() - known[0] < self._ttl:
            return known[1]
        try:
            metadata = self._admin.list_topics(topic, timeout=self._timeout).topics.get(topic)
        except KafkaException:
            return None
        if metadata is None or metadata.error is not None or not metadata.partitions:
            return None
        count = len(metadata.partitions)
        with self._lock:
            self._known[topic] = (time.monotonic(), count)
        return count
