"""What the cluster's metadata says about partitions: leaders and in-sync replicas."""

from __future__ import annotations

import contextlib
import time

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient


def leaders(bootstrap: str, topic: str) -> dict[int, int]:
    """The node id leading each partition of a topic now."""
    metadata = AdminClient({"bootstrap.servers": bootstrap}).list_topics(topic, timeout=30)
    return {p.id: p.leader for p in metadata.topics[topic].partitions.values()}


def leader_of(bootstrap: str, topic: str, partition: int) -> int:
    """The node id leading a partition now."""
    return leaders(bootstrap, topic)[partition]


def under_replicated(bootstrap: str) -> list[str]:
    """Partitions (internal topics too) with fewer in-sync replicas than replicas."""
    metadata = AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=30)
    return [
        f"{name}[{p.id}] isr={p.isrs} replicas={p.replicas}"
        for name, topic in metadata.topics.items()
        for p in topic.partitions.values()
        if len(p.isrs) < len(p.replicas) or p.leader < 0
    ]


def wait_fully_replicated(bootstrap: str, timeout: float = 300.0) -> float:
    """Wait until every partition has all its replicas in sync; returns the seconds taken."""
    started = time.monotonic()
    lagging = ["(not asked yet)"]
    while time.monotonic() - started < timeout:
        with contextlib.suppress(KafkaException):
            lagging = under_replicated(bootstrap)
            if not lagging:
                return time.monotonic() - started
        time.sleep(1)
    raise AssertionError(f"not fully replicated after {timeout} s: {lagging[:10]}")
