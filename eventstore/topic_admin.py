"""Reads the declared topics' state from a cluster and applies a plan to it.

Only the keys a spec declares are managed (incremental alters): settings someone else put on
a topic stay as they are.
"""

from __future__ import annotations

import time
from concurrent.futures import Future

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewPartitions,
    NewTopic,
    ResourceType,
)

from eventstore.topic_plan import (
    Action,
    ClusterState,
    ExistingTopic,
    TopicChangeRefused,
    TopicPlan,
    plan_topics,
)
from eventstore.topics import TopicDefaults, TopicResult, TopicSpec


def read_cluster(admin: AdminClient, names: list[str], timeout: float = 30.0) -> ClusterState:
    """The broker count, and partitions, replicas and config of those `names` that exist."""
    metadata = admin.list_topics(timeout=timeout)
    present = [n for n in names if n in metadata.topics and metadata.topics[n].error is None]
    resources = [ConfigResource(ResourceType.TOPIC, name) for name in present]
    configs = admin.describe_configs(resources, request_timeout=timeout) if resources else {}
    topics = {}
    for resource, future in configs.items():
        entries = future.result()
        partitions = metadata.topics[resource.name].partitions
        topics[resource.name] = ExistingTopic(
            partitions=len(partitions),
            replication=min((len(p.replicas) for p in partitions.values()), default=0),
            config={key: entry.value for key, entry in entries.items() if entry.value is not None},
        )
    return ClusterState(brokers=len(metadata.brokers), topics=topics)


def plan_on_cluster(
    admin: AdminClient, specs: list[TopicSpec], defaults: TopicDefaults, timeout: float = 30.0
) -> TopicPlan:
    """The plan that brings the cluster behind `admin` to `specs`."""
    cluster = read_cluster(admin, [defaults.topic(spec.name) for spec in specs], timeout)
    return plan_topics(specs, defaults, cluster)


def apply_plan(admin: AdminClient, plan: TopicPlan, timeout: float = 30.0) -> None:
    """Make the plan's changes; a plan with a refusal raises `TopicChangeRefused` first."""
    if plan.refused:
        raise TopicChangeRefused(plan)
    creates = [
        NewTopic(t.topic, t.partitions, t.replication, config=t.config)
        for t in plan.pending
        if t.action is Action.CREATE
    ]
    if creates:
        for future in admin.create_topics(creates, request_timeout=timeout).values():
            _unless(future, KafkaError.TOPIC_ALREADY_EXISTS)  # a concurrent apply won
    grow = [
        NewPartitions(t.topic, t.partitions)
        for t in plan.pending
        if t.action is Action.CHANGE and t.add_partitions
    ]
    if grow:
        for future in admin.create_partitions(grow, request_timeout=timeout).values():
            future.result()
    alters = [
        ConfigResource(
            ResourceType.TOPIC,
            t.topic,
            incremental_configs=[
                ConfigEntry(key, value, incremental_operation=AlterConfigOpType.SET)
                for key, value in t.config.items()
            ],
        )
        for t in plan.pending
        if t.action is Action.CHANGE and t.config
    ]
    if alters:
        for future in admin.incremental_alter_configs(alters, request_timeout=timeout).values():
            future.result()


def _unless(future: Future[None], code: int) -> None:
    try:
        future.result()
    except KafkaException as error:
        if error.args[0].code() != code:
            raise


def converge(
    admin: AdminClient, specs: list[TopicSpec], defaults: TopicDefaults, timeout: float = 30.0
) -> TopicPlan:
    """Plan, apply, and wait until the cluster reports the result: brokers learn new topics
    and configs from the controller a moment later, and the next plan must find nothing to
    do. Returns the plan that was applied; `TopicChangeRefused` changes nothing."""
    plan = plan_on_cluster(admin, specs, defaults, timeout)
    apply_plan(admin, plan, timeout)
    deadline = time.monotonic() + timeout
    while plan.pending and plan_on_cluster(admin, specs, defaults, timeout).pending:
        if time.monotonic() > deadline:
            raise TimeoutError(f"the cluster did not show the applied topics within {timeout} s")
        time.sleep(0.2)
    return plan


def apply_topics(
    admin: AdminClient, specs: list[TopicSpec], defaults: TopicDefaults, timeout: float = 30.0
) -> list[TopicResult]:
    """Create missing topics and reconfigure existing ones to their specs (idempotent).

    Raises `TopicChangeRefused` (and changes nothing) when a spec would break keyed ordering.
    """
    return converge(admin, specs, defaults, timeout).results()
