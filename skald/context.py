"""How a bounded context plugs into Skald: its aggregates, read models and routes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter

from eventstore.aggregate import AggregateType
from eventstore.topics import TopicSpec
from projections.model import OpenSearchProjection, PostgresProjection

if TYPE_CHECKING:
    from skald.services import Services


@dataclass(frozen=True, slots=True)
class BoundedContext:
    """Everything the runtime needs to know about one context; nothing context-specific
    lives outside the context's own package."""

    name: str
    aggregates: tuple[AggregateType[Any], ...] = ()
    extra_topics: tuple[TopicSpec, ...] = ()
    postgres_projections: tuple[PostgresProjection, ...] = ()
    opensearch_projections: tuple[OpenSearchProjection, ...] = ()
    routes: tuple[Callable[[Services], APIRouter], ...] = ()

    @property
    def event_classes(self) -> tuple[type, ...]:
        return tuple(cls for aggregate in self.aggregates for cls in aggregate.event_classes)

    @property
    def command_classes(self) -> tuple[type, ...]:
        return tuple(cls for aggregate in self.aggregates for cls in aggregate.command_classes)

    @property
    def topics(self) -> tuple[TopicSpec, ...]:
        return tuple(t for a in self.aggregates for t in a.topics()) + self.extra_topics
