"""The narrow interface a bounded context is written against.

Routes and workers receive a `Runtime`, never the composition root: they see the clients
and names they need, not how the process was assembled. `skald.services.Services` is the
one implementation; a test may hand a context any other.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from opensearchpy import OpenSearch
from sqlalchemy import Engine

from eventstore.aggregate import AggregateType
from eventstore.codec import EventCodec
from eventstore.mapper import EventMapper
from producers.backlog import Backlog
from producers.command_bus import CommandBus


class Runtime(Protocol):
    """What routes and workers may use."""

    @property
    def engine(self) -> Engine:
        """PostgreSQL, with the namespace's schema for schema-less tables."""

    @property
    def opensearch(self) -> OpenSearch:
        """The OpenSearch client."""

    @property
    def command_bus(self) -> CommandBus:
        """Sends a command to its aggregate's single writer and awaits the reply."""

    @property
    def command_timeout(self) -> float:
        """How long a route waits for a command's reply."""

    @property
    def codec(self) -> EventCodec:
        """Encodes and decodes event bodies (Avro)."""

    @property
    def mapper(self) -> EventMapper:
        """Event and command dataclasses <-> records."""

    @property
    def aggregates(self) -> Sequence[AggregateType[Any]]:
        """Every aggregate type the deployable hosts (a saga routes commands by them)."""

    def topic(self, name: str) -> str:
        """The namespaced name of a logical topic."""

    def index(self, name: str) -> str:
        """The namespaced name of an OpenSearch index or alias."""

    def read_your_writes(self, projection: str) -> Callable[..., None]:
        """A FastAPI dependency: wait (bounded) until `projection` has applied the request's
        `X-Skald-Position`; 400 for a bad token, 504 on timeout."""

    @property
    def backlog(self) -> Backlog:
        """Work queued for Skald's own groups, how fast it drains, which topics are stalled:
        a saga watchdog tells "a participant failed" from "Skald is busy" with it."""

    def admission_gate(self, route_name: str, hops: int = 1) -> Callable[..., Awaitable[None]]:
        """A FastAPI dependency for routes that start long work: 503 with Retry-After while
        work passing Skald's queues `hops` times, one after another, would not finish within
        the admission limit behind what is queued."""
