"""The sales context as Skald sees it."""

from __future__ import annotations

from contexts.sales.aggregates import ORDER
from contexts.sales.api import command_routes
from contexts.sales.history_api import history_routes
from contexts.sales.query_api import query_routes
from contexts.sales.read_models import order_history, order_search, orders
from contexts.sales.saga_api import saga_routes
from contexts.sales.stats_api import stats_routes
from processors.fulfillment.topics import SAGA_TOPICS
from processors.stats.topics import STATS_TOPICS
from skald.context import BoundedContext

sales = BoundedContext(
    name="sales",
    aggregates=(ORDER,),
    extra_topics=SAGA_TOPICS + STATS_TOPICS,
    postgres_projections=(orders.projection, order_history.projection),
    opensearch_projections=(order_search.projection,),
    routes=(command_routes, query_routes, history_routes, saga_routes, stats_routes),
)
