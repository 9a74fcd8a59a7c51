"""The sales context as Skald sees it."""

from __future__ import annotations

from contexts.sales.aggregates import ORDER
from contexts.sales.api import routes
from contexts.sales.read_models import order_search, orders
from skald.context import BoundedContext

sales = BoundedContext(
    name="sales",
    aggregates=(ORDER,),
    postgres_projections=(orders.projection,),
    opensearch_projections=(order_search.projection,),
    routes=routes,
)
