"""The sales context as Skald sees it: orders, their fulfillment saga and sales statistics."""

from __future__ import annotations

from contexts.sales.aggregates import ORDER
from contexts.sales.api import command_routes
from contexts.sales.fulfillment import view as saga_view
from contexts.sales.fulfillment.api import saga_routes
from contexts.sales.fulfillment.topics import SAGA_TOPICS
from contexts.sales.fulfillment.worker import fulfillment_worker
from contexts.sales.history_api import history_routes
from contexts.sales.query_api import query_routes
from contexts.sales.read_models import order_history, order_search, orders
from contexts.sales.stats import view as stats_view
from contexts.sales.stats.api import stats_routes
from contexts.sales.stats.topics import STATS_TOPICS
from contexts.sales.stats.worker import stats_worker
from skald.context import BoundedContext

sales = BoundedContext(
    name="sales",
    aggregates=(ORDER,),
    topics=SAGA_TOPICS + STATS_TOPICS,
    postgres_projections=(
        orders.projection,
        order_history.projection,
        saga_view.projection,
        stats_view.projection,
    ),
    opensearch_projections=(order_search.projection,),
    routes=(command_routes, query_routes, history_routes, saga_routes, stats_routes),
    workers=(fulfillment_worker, stats_worker),
)
