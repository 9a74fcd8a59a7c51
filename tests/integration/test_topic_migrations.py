"""`skald topics plan|apply` against the local broker, in a fresh namespace: creates, an
idempotent second apply, a config change applied, and refusals that change nothing."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from confluent_kafka.admin import AdminClient
from typer.testing import CliRunner

from eventstore.topic_admin import apply_topics, plan_on_cluster, read_cluster
from eventstore.topic_plan import Action, TopicChangeRefused
from skald.cli import app
from skald.provision import declared_topics
from skald.registry import CONTEXTS
from skald.settings import Settings
from tests.integration.namespace import drop_namespace

pytestmark = pytest.mark.integration


@pytest.fixture
def namespace(settings: Settings) -> Iterator[Settings]:
    yield settings
    drop_namespace(settings)


def _skald(settings: Settings, *args: str, partitions: int = 3) -> tuple[int, str]:
    env = {
        "SKALD_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "SKALD_NAMESPACE": settings.namespace,
        "SKALD_TOPIC_PARTITIONS": str(partitions),
        "COLUMNS": "250",  # the plan's table unwrapped, so its sentences can be matched
    }
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.output


def test_plan_apply_and_refusals(namespace: Settings) -> None:
    settings = namespace
    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap})
    specs = declared_topics(CONTEXTS, settings.idempotency_retention_ms)
    names = [settings.topic(spec.name) for spec in specs]

    code, output = _skald(settings, "topics", "plan")
    assert code == 0, output
    assert output.count("create") >= len(specs), output
    assert not read_cluster(admin, names).topics  # a plan changes nothing

    code, output = _skald(settings, "topics", "apply")
    assert code == 0, output
    cluster = read_cluster(admin, names)
    assert set(cluster.topics) == set(names)
    changelog = settings.topic("skald.worker-sales_fulfillment_sagas-changelog")
    assert cluster.topics[changelog].config["cleanup.policy"] == "compact"
    assert cluster.topics[changelog].partitions == 3  # co-partitioned with the orders

    code, output = _skald(settings, "topics", "plan")
    assert (code, "nothing to change" in output) == (0, True), output
    code, output = _skald(settings, "topics", "apply")
    assert (code, "nothing to change" in output) == (0, True), output

    # A keyed topic's partition count is refused, whole: nothing changes.
    code, output = _skald(settings, "topics", "apply", partitions=4)
    assert code == 1, output
    assert "refused, nothing changed" in output and "keyed" in output, output
    code, output = _skald(settings, "topics", "plan", partitions=4)
    assert code == 1 and "refused" in output, output
    assert {t.partitions for t in read_cluster(admin, names).topics.values()} == {1, 3}

    # A config change in a spec is applied, and only to that key.
    commands = settings.topic("sales.order.commands")
    changed = [
        dataclasses.replace(s, config={**s.config, "retention.ms": "3600000"})
        if settings.topic(s.name) == commands
        else s
        for s in specs
    ]
    results = {r.topic: r.action for r in apply_topics(admin, changed, settings.topic_defaults())}
    assert results[commands] == "changed"
    assert set(results.values()) == {"changed", "exists"}
    assert read_cluster(admin, [commands]).topics[commands].config["retention.ms"] == "3600000"
    assert not plan_on_cluster(admin, changed, settings.topic_defaults()).pending

    # An event topic's cleanup.policy is refused, and the other change beside it not made.
    events = settings.topic("sales.order.events")
    compacted = [
        dataclasses.replace(s, config={**s.config, "cleanup.policy": "compact"})
        if settings.topic(s.name) == events
        else dataclasses.replace(s, config={**s.config, "retention.ms": "7200000"})
        if settings.topic(s.name) == commands
        else s
        for s in specs
    ]
    with pytest.raises(TopicChangeRefused, match="store of record"):
        apply_topics(admin, compacted, settings.topic_defaults())
    after = read_cluster(admin, [events, commands]).topics
    assert after[events].config["cleanup.policy"] == "delete"
    assert after[commands].config["retention.ms"] == "3600000"
    plan = plan_on_cluster(admin, compacted, settings.topic_defaults())
    assert [t.topic for t in plan.topics if t.action is Action.REFUSED] == [events]
