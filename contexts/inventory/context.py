"""The inventory context as Skald sees it."""

from __future__ import annotations

from contexts.inventory.aggregates import STOCK
from contexts.inventory.api import command_routes
from contexts.inventory.query_api import query_routes
from contexts.inventory.read_models import stock_levels
from skald.context import BoundedContext

inventory = BoundedContext(
    name="inventory",
    aggregates=(STOCK,),
    postgres_projections=(stock_levels.projection,),
    routes=(command_routes, query_routes),
)
