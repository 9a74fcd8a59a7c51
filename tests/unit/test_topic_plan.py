"""The topic plan: creates, changes, and refusals that protect keyed ordering."""

from __future__ import annotations

from eventstore.topic_plan import Action, ClusterState, ExistingTopic, plan_topics
from eventstore.topics import EVENT_TOPIC_CONFIG, TopicDefaults, TopicSpec
from processors.app import changelog_spec, leader_spec
from skald.provision import declared_topics
from skald.registry import CONTEXTS

DEFAULTS = TopicDefaults(partitions=3, replication=3, min_insync_replicas=2, namespace="t1")
EVENTS = TopicSpec("sales.order.events", dict(EVENT_TOPIC_CONFIG), events=True)


def _existing(config: dict[str, str], partitions: int = 3, replication: int = 3) -> ExistingTopic:
    return ExistingTopic(partitions, replication, {"min.insync.replicas": "2", **config})


def test_an_empty_cluster_creates_every_topic_with_msk_safe_replication() -> None:
    (change,) = plan_topics([EVENTS], DEFAULTS, ClusterState(brokers=3, topics={})).topics
    assert change.action is Action.CREATE
    assert (change.topic, change.partitions, change.replication) == ("t1.sales.order.events", 3, 3)
    assert change.config == {**EVENT_TOPIC_CONFIG, "min.insync.replicas": "2"}
    assert not change.notes


def test_one_local_broker_scales_replication_down_and_says_so() -> None:
    (change,) = plan_topics([EVENTS], DEFAULTS, ClusterState(brokers=1, topics={})).topics
    assert (change.replication, change.config["min.insync.replicas"]) == (1, "1")
    assert "1 broker" in change.notes[0]
    assert DEFAULTS.min_insync_for(2) == 1  # two replicas: one may be down


def test_a_matching_topic_is_unchanged() -> None:
    cluster = ClusterState(3, {"t1.sales.order.events": _existing(EVENT_TOPIC_CONFIG)})
    plan = plan_topics([EVENTS], DEFAULTS, cluster)
    assert [t.action for t in plan.topics] == [Action.UNCHANGED]
    assert not plan.pending and not plan.refused


def test_cleanup_policy_lists_compare_as_sets() -> None:
    spec = TopicSpec("o", {"cleanup.policy": "compact,delete"})
    cluster = ClusterState(1, {"t1.o": _existing({"cleanup.policy": "delete,compact"})})
    assert plan_topics([spec], DEFAULTS, cluster).topics[0].action is Action.UNCHANGED


def test_a_config_change_is_planned_for_the_changed_keys_only() -> None:
    spec = TopicSpec("r", {"cleanup.policy": "delete", "retention.ms": "60000"})
    cluster = ClusterState(
        3, {"t1.r": _existing({"cleanup.policy": "delete", "retention.ms": "1"})}
    )
    (change,) = plan_topics([spec], DEFAULTS, cluster).topics
    assert change.action is Action.CHANGE
    assert change.config == {"retention.ms": "60000"}
    assert change.changes == ("retention.ms: 1 -> 60000",)


def test_min_insync_follows_the_topics_real_replication() -> None:
    spec = TopicSpec("r", {"cleanup.policy": "delete"})
    # A topic made on a one-broker cluster, now on three: min.insync 2 would refuse its writes.
    cluster = ClusterState(
        3, {"t1.r": ExistingTopic(3, 1, {"cleanup.policy": "delete", "min.insync.replicas": "1"})}
    )
    (change,) = plan_topics([spec], DEFAULTS, cluster).topics
    assert change.action is Action.UNCHANGED
    assert "apply does not reassign replicas" in change.notes[0]


def test_more_partitions_on_a_keyed_topic_are_refused() -> None:
    cluster = ClusterState(3, {"t1.sales.order.events": _existing(EVENT_TOPIC_CONFIG, 2)})
    plan = plan_topics([EVENTS], DEFAULTS, cluster)
    (change,) = plan.refused
    assert "keyed" in change.refusals[0] and "2 -> 3" in change.refusals[0]
    assert change.partitions == 2 and not plan.pending


def test_an_unkeyed_topic_grows_but_never_shrinks() -> None:
    grow = TopicSpec("u", {"cleanup.policy": "delete"}, partitions=4, keyed=False)
    shrink = TopicSpec("v", {"cleanup.policy": "delete"}, partitions=1, keyed=False)
    existing = _existing({"cleanup.policy": "delete"}, 2)
    cluster = ClusterState(3, {"t1.u": existing, "t1.v": existing})
    grown, shrunk = plan_topics([grow, shrink], DEFAULTS, cluster).topics
    assert grown.action is Action.CHANGE and grown.add_partitions and grown.partitions == 4
    assert shrunk.action is Action.REFUSED and "cannot remove" in shrunk.refusals[0]


def test_an_event_topics_cleanup_policy_never_changes() -> None:
    compacted = TopicSpec("sales.order.events", {"cleanup.policy": "compact"}, events=True)
    cluster = ClusterState(3, {"t1.sales.order.events": _existing(EVENT_TOPIC_CONFIG)})
    (change,) = plan_topics([compacted], DEFAULTS, cluster).refused
    assert "store of record" in change.refusals[0]
    # Any other topic may change its policy.
    other = TopicSpec("sales.order.events", {"cleanup.policy": "compact"})
    assert plan_topics([other], DEFAULTS, cluster).topics[0].action is Action.CHANGE


def test_every_topic_skald_uses_is_declared() -> None:
    specs = {spec.name: spec for spec in declared_topics(CONTEXTS)}
    assert len(specs) == len(declared_topics(CONTEXTS))  # no name declared twice
    assert specs["sales.order.events"].events
    # Faust's own topics: the tables' changelogs (compacted, co-partitioned) and its leader.
    changelog = specs[changelog_spec("sales_fulfillment_sagas").name]
    assert changelog.config["cleanup.policy"] == "compact" and changelog.partitions is None
    assert specs[leader_spec().name].partitions == 1
    # Every projection's dead letters: one partition, unkeyed.
    dlq = specs["sales.orders.dlq"]
    assert (dlq.partitions, dlq.keyed) == (1, False)
