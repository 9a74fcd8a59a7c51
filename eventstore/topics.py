"""Declarative topic specs and how they are placed on a cluster (names, replication).

`skald topics plan|apply` compare these specs with a cluster (`topic_plan.py`) and apply the
difference (`topic_admin.py`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Event topics are the store of record: never delete by age or size.
EVENT_TOPIC_CONFIG = {"cleanup.policy": "delete", "retention.ms": "-1", "retention.bytes": "-1"}


@dataclass(frozen=True, slots=True)
class TopicSpec:
    """A topic's logical name and settings; the namespace prefix is added when applied.

    `keyed`: records are placed by key (aggregate id, order id, SKU), so the partition count
    is part of the data: changing it would move a key to another partition and break its
    order. `events`: the store of record, whose `cleanup.policy` never changes.
    """

    name: str
    config: dict[str, str] = field(default_factory=lambda: dict(EVENT_TOPIC_CONFIG))
    partitions: int | None = None  # None: the defaults' partitions
    keyed: bool = True
    events: bool = False


def namespaced(namespace: str, name: str) -> str:
    """A logical name in a namespace; the empty namespace leaves it as it is."""
    return f"{namespace}.{name}" if namespace else name


@dataclass(frozen=True, slots=True)
class TopicDefaults:
    """How new topics are created, and the namespace their logical names are placed in.

    `replication` and `min_insync_replicas` are the MSK-safe values (3 and 2); a cluster with
    fewer brokers gets as many replicas as it has brokers (see `replication_on`).
    """

    partitions: int
    replication: int
    min_insync_replicas: int
    namespace: str = ""

    def topic(self, name: str) -> str:
        """The namespaced name of a logical topic."""
        return namespaced(self.namespace, name)

    def replication_on(self, brokers: int) -> int:
        """Replicas of a new topic on a cluster of `brokers`: one local broker holds one."""
        return max(1, min(self.replication, brokers))

    def min_insync_for(self, replication: int) -> int:
        """`min.insync.replicas` for a topic with `replication` replicas.

        Never more than the replicas (the topic would refuse every acks=all write); below the
        declared replication, one replica may be down (3 brokers: 2, 2: 1, 1: 1).
        """
        if replication >= self.replication:
            return max(1, min(self.min_insync_replicas, replication))
        return max(1, min(self.min_insync_replicas, replication - 1))


@dataclass(frozen=True, slots=True)
class TopicResult:
    """What applying one spec did."""

    topic: str
    action: str  # "created" | "changed" | "exists"
    partitions: int
