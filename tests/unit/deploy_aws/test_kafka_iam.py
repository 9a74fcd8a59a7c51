"""Each task role's MSK grant: the actions Skald needs, on its own namespace's topics, groups
and transactional ids only; topic creation and configuration for the migration role only."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.deploy_aws.conftest import ACCOUNT, CLUSTER, NAMESPACE, REGION, Synth

CLUSTER_ARN = "<cluster arn>"
PREFIX = f"arn:aws:kafka:{REGION}:{ACCOUNT}:"


def _render(resource: Any, synth: Synth) -> str:
    """An ARN as IAM sees it, the partition as `aws` and the cluster's ARN as a marker."""
    if isinstance(resource, str):
        return resource
    if "Fn::GetAtt" in resource:
        kafka = synth.stack.get_logical_id(synth.stack.kafka.cluster)
        assert resource["Fn::GetAtt"] == [kafka, "Arn"], resource
        return CLUSTER_ARN
    if "Ref" in resource:
        assert resource["Ref"] == "AWS::Partition", resource
        return "aws"
    _, parts = resource["Fn::Join"]
    return "".join(_render(part, synth) for part in parts)


def kafka_grants(synth: Synth, role: str) -> dict[str, set[str]]:
    """{resource: actions} of one role's `kafka` inline policy."""
    task = synth.stack.migration.task if role == "migration" else synth.stack.services[role].task
    (document,) = [
        p["PolicyDocument"]
        for p in synth.resources[synth.logical_id(task.role)]["Properties"]["Policies"]
        if p["PolicyName"] == "kafka"
    ]
    grants: dict[str, set[str]] = {}
    for statement in document["Statement"]:
        assert statement["Effect"] == "Allow"
        actions, resources = statement["Action"], statement["Resource"]
        actions = actions if isinstance(actions, list) else [actions]
        for resource in resources if isinstance(resources, list) else [resources]:
            grants.setdefault(_render(resource, synth), set()).update(actions)
    return grants


def topic(pattern: str) -> str:
    return f"{PREFIX}topic/{CLUSTER}/*/{NAMESPACE}.{pattern}"


def group(pattern: str) -> str:
    return f"{PREFIX}group/{CLUSTER}/*/{NAMESPACE}.{pattern}"


def transactional_id(pattern: str) -> str:
    return f"{PREFIX}transactional-id/{CLUSTER}/*/{NAMESPACE}.{pattern}"


CONNECT = {"kafka-cluster:Connect", "kafka-cluster:DescribeCluster"}
PRODUCER = CONNECT | {"kafka-cluster:WriteDataIdempotently"}
READ = {"kafka-cluster:DescribeTopic", "kafka-cluster:ReadData"}
WRITE = {"kafka-cluster:DescribeTopic", "kafka-cluster:WriteData"}
JOIN = {"kafka-cluster:DescribeGroup", "kafka-cluster:AlterGroup"}
CREATE = {"kafka-cluster:DescribeTopic", "kafka-cluster:CreateTopic"}
CONFIGURE = {
    "kafka-cluster:DescribeTopic",
    "kafka-cluster:AlterTopic",
    "kafka-cluster:DescribeTopicDynamicConfiguration",
    "kafka-cluster:AlterTopicDynamicConfiguration",
}

EXPECTED = {
    "api": {
        CLUSTER_ARN: PRODUCER,
        topic("*"): READ,
        topic("*.commands"): WRITE,
        group("skald.reader"): JOIN,
        group("skald.commands"): {"kafka-cluster:DescribeGroup"},
        group("skald.worker"): {"kafka-cluster:DescribeGroup"},
    },
    "processor": {
        CLUSTER_ARN: PRODUCER,
        topic("*.commands"): READ,
        topic("*.events"): READ,
        topic("*.state"): READ,
        topic("*.outcomes"): READ,
        topic("*"): WRITE,
        group("skald.commands"): JOIN,
        group("skald.reader"): JOIN,
        transactional_id("skald.commands.*"): {
            "kafka-cluster:DescribeTransactionalId",
            "kafka-cluster:AlterTransactionalId",
        },
    },
    "projector": {
        CLUSTER_ARN: PRODUCER,
        topic("*"): READ,
        topic("*.dlq"): WRITE | CREATE,
        group("projection.*"): JOIN,
        group("skald.reader"): JOIN,
    },
    "worker": {
        CLUSTER_ARN: PRODUCER,
        topic("*"): READ | WRITE,
        topic("skald.worker-*"): CREATE,
        group("skald.worker"): JOIN,
    },
    "migration": {CLUSTER_ARN: CONNECT, topic("*"): CREATE | CONFIGURE},
}


@pytest.mark.parametrize("role", sorted(EXPECTED))
def test_each_role_has_exactly_its_grant(synth: Synth, role: str) -> None:
    assert kafka_grants(synth, role) == EXPECTED[role]


def test_the_processor_has_the_transactional_actions(synth: Synth) -> None:
    """Skald's transactional writer: the nine actions of a KIP-447 processor, nothing more."""
    actions = set().union(*kafka_grants(synth, "processor").values())
    assert {
        "kafka-cluster:Connect",
        "kafka-cluster:DescribeCluster",
        "kafka-cluster:DescribeTopic",
        "kafka-cluster:ReadData",
        "kafka-cluster:WriteData",
        "kafka-cluster:DescribeGroup",
        "kafka-cluster:AlterGroup",
        "kafka-cluster:DescribeTransactionalId",
        "kafka-cluster:AlterTransactionalId",
    } <= actions
    assert not {a for a in actions if "Create" in a or "AlterTopic" in a or "Cluster" in a} - {
        "kafka-cluster:DescribeCluster"
    }


def test_only_the_migration_role_creates_or_configures_topics_everywhere(synth: Synth) -> None:
    for role in EXPECTED:
        for resource, actions in kafka_grants(synth, role).items():
            if actions & {
                "kafka-cluster:AlterTopic",
                "kafka-cluster:AlterTopicDynamicConfiguration",
            }:
                assert role == "migration"
            if "kafka-cluster:CreateTopic" in actions and role != "migration":
                # the projector's dead-letter topics and Faust's own internal topics only
                assert resource in {topic("*.dlq"), topic("skald.worker-*")}


def test_every_grant_stays_in_the_namespace_and_the_cluster(synth: Synth) -> None:
    for role in EXPECTED:
        for resource, actions in kafka_grants(synth, role).items():
            assert not any(a.endswith("*") for a in actions)
            if resource != CLUSTER_ARN:
                kind, rest = resource.removeprefix(PREFIX).split("/", 1)
                assert rest.startswith(f"{CLUSTER}/*/{NAMESPACE}."), resource
                assert kind in {"topic", "group", "transactional-id"}
