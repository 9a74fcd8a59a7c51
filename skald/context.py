"""How a bounded context plugs into Skald: everything it brings, declared in one value.

`skald setup`, `run`, `api`, `process`, `project`, `worker` and `replay` iterate these
declarations; nothing context-specific lives outside the context's own package.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter

from eventstore.aggregate import DEFAULT_OUTCOME_RETENTION_MS, AggregateType
from eventstore.topics import TopicSpec
from projections.model import OpenSearchProjection, PostgresProjection

if TYPE_CHECKING:
    import faust

    from skald.runtime import Runtime

Routes = Callable[["Runtime"], APIRouter]


@dataclass(frozen=True, slots=True)
class Worker:
    """Stream processing a context runs in `skald worker` (a saga, stream aggregates).

    `wire` adds the worker's topics, tables, agents and timers to the deployable's one Faust
    app. Name Faust objects after the worker: every worker shares the app's consumer group.
    """

    name: str
    wire: Callable[[faust.App, Runtime], None]


@dataclass(frozen=True, slots=True)
class BoundedContext:
    """Everything the runtime needs to know about one context."""

    name: str
    aggregates: tuple[AggregateType[Any], ...] = ()
    topics: tuple[TopicSpec, ...] = ()  # beyond the aggregates' own: a saga's, a worker's
    postgres_projections: tuple[PostgresProjection, ...] = ()
    opensearch_projections: tuple[OpenSearchProjection, ...] = ()
    routes: tuple[Routes, ...] = ()
    workers: tuple[Worker, ...] = ()

    @property
    def event_classes(self) -> tuple[type, ...]:
        return tuple(cls for aggregate in self.aggregates for cls in aggregate.event_classes)

    @property
    def command_classes(self) -> tuple[type, ...]:
        return tuple(cls for aggregate in self.aggregates for cls in aggregate.command_classes)

    def all_topics(
        self, outcome_retention_ms: int = DEFAULT_OUTCOME_RETENTION_MS
    ) -> tuple[TopicSpec, ...]:
        """The aggregates' co-partitioned topics and the context's own."""
        return tuple(t for a in self.aggregates for t in a.topics(outcome_retention_ms)) + (
            self.topics
        )
