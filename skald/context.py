"""How a bounded context plugs into Skald: its events, topics, read models and routes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fastapi import APIRouter

from eventstore.topics import TopicSpec
from projections.model import OpenSearchProjection, PostgresProjection

if TYPE_CHECKING:
    from skald.services import Services


@dataclass(frozen=True, slots=True)
class BoundedContext:
    """Everything the runtime needs to know about one context; nothing context-specific
    lives outside the context's own package."""

    name: str
    event_classes: tuple[type, ...]
    topics: tuple[TopicSpec, ...]
    postgres_projections: tuple[PostgresProjection, ...] = ()
    opensearch_projections: tuple[OpenSearchProjection, ...] = ()
    routes: Callable[[Services], APIRouter] | None = None
