"""Creates what the contexts declare: topics, read-model tables and indices (idempotent)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from eventstore.aggregate import DEFAULT_OUTCOME_RETENTION_MS
from eventstore.topics import TopicResult, TopicSpec, apply_topics
from producers.command_bus import REPLY_TOPIC
from skald.context import BoundedContext

if TYPE_CHECKING:
    from skald.services import Services


def declared_topics(
    contexts: Iterable[BoundedContext], outcome_retention_ms: int = DEFAULT_OUTCOME_RETENTION_MS
) -> list[TopicSpec]:
    """The framework's reply topic and every topic the contexts declare."""
    return [
        REPLY_TOPIC,
        *(spec for context in contexts for spec in context.all_topics(outcome_retention_ms)),
    ]


def apply_topic_specs(services: Services) -> list[TopicResult]:
    """Create every declared topic that is missing."""
    settings = services.settings
    specs = declared_topics(services.contexts, settings.idempotency_retention_ms)
    return apply_topics(services.admin, specs, settings.topic_defaults())


def create_read_models(services: Services) -> list[str]:
    """Create every projection's storage; returns the projection names."""
    sinks = services.sinks()
    for sink, _topics in sinks.values():
        sink.setup()
    return list(sinks)
