"""Creates what the contexts declare: topics, read-model tables and indices (idempotent)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from eventstore.aggregate import DEFAULT_OUTCOME_RETENTION_MS
from eventstore.topic_admin import converge, plan_on_cluster
from eventstore.topic_plan import TopicPlan
from eventstore.topics import TopicResult, TopicSpec
from processors.app import leader_spec
from producers.command_bus import REPLY_TOPIC
from projections.dead_letters import dead_letter_spec
from skald.context import BoundedContext

if TYPE_CHECKING:
    from skald.services import Services


def declared_topics(
    contexts: Iterable[BoundedContext], outcome_retention_ms: int = DEFAULT_OUTCOME_RETENTION_MS
) -> list[TopicSpec]:
    """Every topic Skald uses: the framework's reply topic, every topic the contexts declare
    (their Faust tables' changelogs among them), the Faust app's leader topic and each
    projection's dead letters. Nothing relies on a broker's auto-creation."""
    contexts = tuple(contexts)
    projections = [p.name for c in contexts for p in c.postgres_projections] + [
        p.name for c in contexts for p in c.opensearch_projections
    ]
    return [
        REPLY_TOPIC,
        *(spec for context in contexts for spec in context.all_topics(outcome_retention_ms)),
        *([leader_spec()] if any(context.workers for context in contexts) else []),
        *(dead_letter_spec(name) for name in projections),
    ]


def plan_topic_specs(services: Services) -> TopicPlan:
    """How the cluster differs from the declared topics."""
    settings = services.settings
    specs = declared_topics(services.contexts, settings.idempotency_retention_ms)
    return plan_on_cluster(services.admin, specs, settings.topic_defaults())


def apply_topic_plan(services: Services) -> TopicPlan:
    """Create and reconfigure every declared topic; `TopicChangeRefused` changes nothing."""
    settings = services.settings
    specs = declared_topics(services.contexts, settings.idempotency_retention_ms)
    return converge(services.admin, specs, settings.topic_defaults())


def apply_topic_specs(services: Services) -> list[TopicResult]:
    """`apply_topic_plan`, as what happened to each topic."""
    return apply_topic_plan(services).results()


def create_read_models(services: Services) -> list[str]:
    """Create every projection's storage; returns the projection names."""
    sinks = services.sinks()
    for sink, _topics in sinks.values():
        sink.setup()
    return list(sinks)
