"""The difference between declared topic specs and a cluster: pure, so it is unit-tested.

A plan creates missing topics, reconfigures existing ones and adds partitions to unkeyed
topics; it refuses what would break keyed ordering or the store of record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from eventstore.topics import TopicDefaults, TopicResult, TopicSpec


@dataclass(frozen=True, slots=True)
class ExistingTopic:
    """A topic as the cluster has it: partitions, replicas, and its effective config."""

    partitions: int
    replication: int
    config: dict[str, str]


@dataclass(frozen=True, slots=True)
class ClusterState:
    """What the plan compares with: the broker count and the declared topics that exist."""

    brokers: int
    topics: dict[str, ExistingTopic]


class Action(StrEnum):
    CREATE = "create"
    CHANGE = "change"
    UNCHANGED = "unchanged"
    REFUSED = "refused"


@dataclass(frozen=True, slots=True)
class TopicChange:
    """One topic's part of a plan. `config` holds every key on create, the changed ones on
    change; `changes`, `refusals` and `notes` are sentences for people."""

    topic: str
    action: Action
    partitions: int
    replication: int
    config: dict[str, str] = field(default_factory=dict)
    add_partitions: bool = False
    changes: tuple[str, ...] = ()
    refusals: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TopicPlan:
    """Every declared topic's change, in declaration order."""

    topics: tuple[TopicChange, ...]

    @property
    def refused(self) -> tuple[TopicChange, ...]:
        return tuple(t for t in self.topics if t.action is Action.REFUSED)

    @property
    def pending(self) -> tuple[TopicChange, ...]:
        """What applying would do: creates and changes."""
        return tuple(t for t in self.topics if t.action in (Action.CREATE, Action.CHANGE))

    def results(self) -> list[TopicResult]:
        """What applying this plan did, once it is applied."""
        done = {Action.CREATE: "created", Action.CHANGE: "changed"}
        return [
            TopicResult(t.topic, done.get(t.action, "exists"), t.partitions) for t in self.topics
        ]


class TopicChangeRefused(Exception):
    """A plan holds a change Skald will not make; nothing was applied."""

    def __init__(self, plan: TopicPlan) -> None:
        self.plan = plan
        lines = [f"{t.topic}: {refusal}" for t in plan.refused for refusal in t.refusals]
        super().__init__("refused, nothing changed: " + "; ".join(lines))


def plan_topics(
    specs: list[TopicSpec], defaults: TopicDefaults, cluster: ClusterState
) -> TopicPlan:
    """What it takes to bring `cluster` to `specs`."""
    return TopicPlan(tuple(_plan_one(spec, defaults, cluster) for spec in specs))


def _plan_one(spec: TopicSpec, defaults: TopicDefaults, cluster: ClusterState) -> TopicChange:
    name = defaults.topic(spec.name)
    partitions = spec.partitions or defaults.partitions
    existing = cluster.topics.get(name)
    if existing is None:
        return _create(name, spec, partitions, defaults, cluster.brokers)
    config, changes, refusals = _config_diff(spec, defaults, existing)
    grow, partition_change, partition_refusal = _partition_diff(spec, partitions, existing)
    changes += partition_change
    refusals += partition_refusal
    notes: tuple[str, ...] = ()
    if existing.replication < defaults.replication_on(cluster.brokers):
        notes = (
            f"replication {existing.replication}, declared {defaults.replication}: "
            "apply does not reassign replicas",
        )
    if refusals:
        action = Action.REFUSED
    elif changes:
        action = Action.CHANGE
    else:
        action = Action.UNCHANGED
    changed = action is Action.CHANGE
    return TopicChange(
        name,
        action,
        partitions if changed and grow else existing.partitions,
        existing.replication,
        config if changed else {},
        grow and changed,
        tuple(changes),
        tuple(refusals),
        notes,
    )


def _create(
    name: str, spec: TopicSpec, partitions: int, defaults: TopicDefaults, brokers: int
) -> TopicChange:
    replication = defaults.replication_on(brokers)
    notes: tuple[str, ...] = ()
    if replication < defaults.replication:
        notes = (f"replication {replication}: the cluster has {brokers} broker(s)",)
    config = {**spec.config, "min.insync.replicas": str(defaults.min_insync_for(replication))}
    return TopicChange(name, Action.CREATE, partitions, replication, config, notes=notes)


def _config_diff(
    spec: TopicSpec, defaults: TopicDefaults, existing: ExistingTopic
) -> tuple[dict[str, str], list[str], list[str]]:
    """The declared keys that differ: (what to set, sentences, refusals)."""
    # min.insync.replicas follows the topic's real replicas: never more than it can meet.
    wanted = {
        **spec.config,
        "min.insync.replicas": str(defaults.min_insync_for(existing.replication)),
    }
    config: dict[str, str] = {}
    changes: list[str] = []
    refusals: list[str] = []
    for key, value in wanted.items():
        current = existing.config.get(key)
        if _normal(key, current) == _normal(key, value):
            continue
        if key == "cleanup.policy" and spec.events:
            refusals.append(
                f"cleanup.policy {current} -> {value}: an event topic is the store of record "
                "and keeps its cleanup policy (compaction or deletion would lose events)"
            )
            continue
        config[key] = value
        changes.append(f"{key}: {current} -> {value}")
    return config, changes, refusals


def _partition_diff(
    spec: TopicSpec, partitions: int, existing: ExistingTopic
) -> tuple[bool, list[str], list[str]]:
    """(whether to add partitions, sentences, refusals)."""
    step = f"partitions {existing.partitions} -> {partitions}"
    if partitions < existing.partitions:
        return False, [], [f"{step}: Kafka cannot remove partitions"]
    if partitions > existing.partitions and spec.keyed:
        return (
            False,
            [],
            [
                f"{step}: the topic is keyed, so keys would move to other partitions and lose "
                "their order (migrate to a new topic instead)"
            ],
        )
    if partitions > existing.partitions:
        return True, [f"partitions: {existing.partitions} -> {partitions}"], []
    return False, [], []


def _normal(key: str, value: str | None) -> str | None:
    """Values compared as the broker means them: `compact,delete` is `delete,compact`."""
    if value is not None and key == "cleanup.policy":
        return ",".join(sorted(part.strip() for part in value.split(",")))
    return value
