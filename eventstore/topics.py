"""Declarative topic specs applied idempotently: create what is missing, report the rest."""

from __future__ import annotations

from dataclasses import dataclass, field

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

# Event topics are the store of record: never delete by age or size.
EVENT_TOPIC_CONFIG = {"cleanup.policy": "delete", "retention.ms": "-1", "retention.bytes": "-1"}


@dataclass(frozen=True, slots=True)
class TopicSpec:
    """A topic's logical name and settings; the namespace prefix is added when applied."""

    name: str
    config: dict[str, str] = field(default_factory=lambda: dict(EVENT_TOPIC_CONFIG))
    partitions: int | None = None  # None: the defaults' partitions


def namespaced(namespace: str, name: str) -> str:
    """A logical name in a namespace; the empty namespace leaves it as it is."""
    return f"{namespace}.{name}" if namespace else name


@dataclass(frozen=True, slots=True)
class TopicDefaults:
    """How new topics are created, and the namespace their logical names are placed in."""

    partitions: int
    replication: int
    min_insync_replicas: int
    namespace: str = ""

    def topic(self, name: str) -> str:
        """The namespaced name of a logical topic."""
        return namespaced(self.namespace, name)


@dataclass(frozen=True, slots=True)
class TopicResult:
    """What applying one spec did."""

    topic: str
    action: str  # "created" | "exists"
    partitions: int


def apply_topics(
    admin: AdminClient, specs: list[TopicSpec], defaults: TopicDefaults, timeout: float = 30.0
) -> list[TopicResult]:
    """Create every missing topic; existing topics are left as they are."""
    existing = admin.list_topics(timeout=timeout).topics
    missing = []
    results = []
    for spec in specs:
        name = defaults.topic(spec.name)
        if name in existing:
            results.append(TopicResult(name, "exists", len(existing[name].partitions)))
            continue
        partitions = spec.partitions or defaults.partitions
        config = {**spec.config, "min.insync.replicas": str(defaults.min_insync_replicas)}
        missing.append(NewTopic(name, partitions, defaults.replication, config=config))
        results.append(TopicResult(name, "created", partitions))
    if missing:
        for future in admin.create_topics(missing, request_timeout=timeout).values():
            try:
                future.result()
            except KafkaException as error:
                if error.args[0].name() != "TOPIC_ALREADY_EXISTS":  # a concurrent apply won
                    raise
    return results
