"""Creates what the contexts declare: topics, read-model tables and indices (idempotent)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from eventstore.topics import TopicResult, TopicSpec, apply_topics

if TYPE_CHECKING:
    from skald.services import Services

# Replies are read within seconds of being written; an hour covers any retry.
REPLY_TOPIC = TopicSpec("skald.replies", {"cleanup.policy": "delete", "retention.ms": "3600000"})


def apply_topic_specs(services: Services) -> list[TopicResult]:
    """Create every declared topic that is missing."""
    specs = [REPLY_TOPIC, *(spec for context in services.contexts for spec in context.topics)]
    return apply_topics(services.admin, specs, services.settings.topic_defaults())


def create_read_models(services: Services) -> list[str]:
    """Create every projection's storage; returns the projection names."""
    sinks = services.sinks()
    for sink, _topics in sinks.values():
        sink.setup()
    return list(sinks)
