"""The loyalty context as Skald sees it: one choreographed read model and its route."""

from __future__ import annotations

from contexts.loyalty import points
from contexts.loyalty.api import query_routes
from skald.context import BoundedContext

loyalty = BoundedContext(
    name="loyalty",
    postgres_projections=(points.projection,),
    routes=(query_routes,),
)
