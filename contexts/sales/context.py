"""The sales context as Skald sees it."""

from __future__ import annotations

from contexts.sales.aggregates import ORDER
from contexts.sales.api import command_routes
from contexts.sales.history_api import history_routes
from contexts.sales.query_api import query_routes
from contexts.sales.read_models import order_history, order_search, orders
from processors.fulfillment.topics import SAGA_TOPICS
from skald.context import BoundedContext

sales = BoundedContext(
    name="sales",
    aggregates=(ORDER,),
    extra_topics=SAGA_TOPICS,
    postgres_projections=(orders.projection, order_history.projection),
    opensearch_projections=(order_search.projection,),
    routes=(command_routes, query_routes, history_routes),
)
