"""librdkafka settings for every Skald client, each non-default key saying why."""

from __future__ import annotations

from typing import Any

from skald.settings import Settings


def _common(settings: Settings) -> dict[str, Any]:
    return {
        "bootstrap.servers": settings.kafka_bootstrap,
        "client.id": "skald",
    }


def producer_config(settings: Settings) -> dict[str, Any]:
    """An idempotent producer whose acknowledged writes are on every in-sync replica."""
    return {
        **_common(settings),
        "acks": "all",  # acknowledged means on all in-sync replicas: nothing acked is lost
        "enable.idempotence": True,  # retries never duplicate or reorder within a partition
        "partitioner": "murmur2_random",  # same key -> same partition as Java/aiokafka/Faust
        "linger.ms": 5,  # small batches under load without hurting single-request latency
        "compression.type": "lz4",  # cheap CPU, smaller batches on the wire and on disk
    }


def consumer_config(settings: Settings, group: str) -> dict[str, Any]:
    """A consumer whose offsets live in the sink, not in Kafka's group offsets."""
    return {
        **_common(settings),
        "group.id": settings.group(group),
        "enable.auto.commit": False,  # offsets commit with the read model, in its transaction
        "enable.auto.offset.store": False,  # same reason: Kafka never decides our position
        "auto.offset.reset": "earliest",  # a new projection starts from the first event
        "isolation.level": "read_committed",  # never project events of aborted transactions
        "partition.assignment.strategy": "cooperative-sticky",  # rebalances move few partitions
    }


def admin_config(settings: Settings) -> dict[str, Any]:
    """An admin client for topic management and health checks."""
    return _common(settings)
