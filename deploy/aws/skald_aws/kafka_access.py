"""Least-privilege MSK IAM grants, one per Skald process role, scoped by SKALD_NAMESPACE.

Names follow skald/settings.py: a topic or group `name` lives at `<namespace>.<name>`, and the
command processor's transactional id is `<namespace>.skald.commands.<host>.<pid>`. Patterns
below are logical names; `*` is IAM's wildcard inside the ARN.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_iam as iam

from skald_aws.kafka import KafkaCluster

# MSK's dependent actions (its "required actions" column): ReadData needs AlterGroup and
# DescribeTopic; AlterGroup needs DescribeGroup; AlterTransactionalId needs WriteData.
CONNECT = ["kafka-cluster:Connect", "kafka-cluster:DescribeCluster"]


@dataclass(frozen=True, slots=True)
class KafkaGrant:
    """What one role may do, by logical topic, group and transactional-id patterns."""

    read: tuple[str, ...] = ()  # DescribeTopic + ReadData
    write: tuple[str, ...] = ()  # DescribeTopic + WriteData
    describe: tuple[str, ...] = ()  # DescribeTopic only (metadata, end offsets)
    create: tuple[str, ...] = ()  # CreateTopic
    configure: tuple[str, ...] = ()  # AlterTopic and topic dynamic configuration
    groups: tuple[str, ...] = ()  # DescribeGroup + AlterGroup (join, commit)
    watch_groups: tuple[str, ...] = ()  # DescribeGroup only (read committed offsets)
    transactional_ids: tuple[str, ...] = ()  # DescribeTransactionalId + AlterTransactionalId
    idempotent: bool = False  # WriteDataIdempotently on the cluster (enable.idempotence)


# `skald api`: produces commands, reads replies, and (admission control) reads the command
# processor's and the worker's committed offsets and the tails of the topics they consume.
API = KafkaGrant(
    read=("*",),
    write=("*.commands",),
    groups=("skald.reader",),
    watch_groups=("skald.commands", "skald.worker"),
    idempotent=True,
)
# `skald process`: consumes commands, restores from snapshots/outcomes/events, and in one
# transaction writes events, snapshots, outcomes and the reply to whichever replies topic the
# command names (the API's or a saga's), so it writes anywhere in the namespace.
PROCESSOR = KafkaGrant(
    read=("*.commands", "*.events", "*.state", "*.outcomes"),
    write=("*",),
    groups=("skald.commands", "skald.reader"),
    transactional_ids=("skald.commands.*",),
    idempotent=True,
)
# `skald project`: reads events and worker state topics; writes (and on first start creates)
# only its dead-letter topics, `<projection>.dlq`.
PROJECTOR = KafkaGrant(
    read=("*",),
    write=("*.dlq",),
    create=("*.dlq",),
    groups=("projection.*", "skald.reader"),
    idempotent=True,
)
# `skald worker` (Faust): reads events and replies, sends commands, writes its tables'
# changelogs; Faust declares its own internal topics (`skald.worker-...`) at start.
WORKER = KafkaGrant(
    read=("*",),
    write=("*",),
    create=("skald.worker-*",),
    groups=("skald.worker",),
    idempotent=True,
)
# `skald topics apply` then `skald setup`, once per deployment: creates and reconfigures the
# declared topics. The only role that may create or alter topics in general.
MIGRATION = KafkaGrant(describe=("*",), create=("*",), configure=("*",))


def resource_patterns(grant: KafkaGrant) -> list[tuple[str, str]]:
    """Every (resource kind, logical name pattern) the grant names, without repeats."""
    found: dict[tuple[str, str], None] = {}
    for patterns in (grant.read, grant.write, grant.describe, grant.create, grant.configure):
        found.update(dict.fromkeys(("topic", p) for p in patterns))
    for patterns in (grant.groups, grant.watch_groups):
        found.update(dict.fromkeys(("group", p) for p in patterns))
    found.update(dict.fromkeys(("transactional-id", p) for p in grant.transactional_ids))
    return list(found)


def _named(namespace: str, pattern: str) -> str:
    return f"{namespace}.{pattern}"


def statements(
    cluster: KafkaCluster, namespace: str, grant: KafkaGrant
) -> list[iam.PolicyStatement]:
    """The IAM statements for one role: the cluster connection plus each resource kind."""

    def arns(kind: str, patterns: tuple[str, ...]) -> list[str]:
        return [cluster.resource_arn(kind, _named(namespace, p)) for p in patterns]

    cluster_actions = list(CONNECT)
    if grant.idempotent:
        cluster_actions.append("kafka-cluster:WriteDataIdempotently")
    found = [iam.PolicyStatement(actions=cluster_actions, resources=[cluster.arn])]

    def allow(actions: list[str], resources: list[str]) -> None:
        if resources:
            found.append(iam.PolicyStatement(actions=actions, resources=resources))

    describe_topic = "kafka-cluster:DescribeTopic"
    allow([describe_topic, "kafka-cluster:ReadData"], arns("topic", grant.read))
    allow([describe_topic, "kafka-cluster:WriteData"], arns("topic", grant.write))
    allow([describe_topic], arns("topic", grant.describe))
    allow([describe_topic, "kafka-cluster:CreateTopic"], arns("topic", grant.create))
    allow(
        [
            describe_topic,
            "kafka-cluster:AlterTopic",
            "kafka-cluster:DescribeTopicDynamicConfiguration",
            "kafka-cluster:AlterTopicDynamicConfiguration",
        ],
        arns("topic", grant.configure),
    )
    allow(["kafka-cluster:DescribeGroup", "kafka-cluster:AlterGroup"], arns("group", grant.groups))
    allow(["kafka-cluster:DescribeGroup"], arns("group", grant.watch_groups))
    allow(
        ["kafka-cluster:DescribeTransactionalId", "kafka-cluster:AlterTransactionalId"],
        arns("transactional-id", grant.transactional_ids),
    )
    return found
