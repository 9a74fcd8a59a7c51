"""The sales context as Skald sees it."""

from __future__ import annotations

from contexts.sales.api import routes
from contexts.sales.order.events import EVENT_CLASSES
from contexts.sales.read_models import order_search, orders
from contexts.sales.topics import TOPICS
from skald.context import BoundedContext

sales = BoundedContext(
    name="sales",
    event_classes=EVENT_CLASSES,
    topics=TOPICS,
    postgres_projections=(orders.projection,),
    opensearch_projections=(order_search.projection,),
    routes=routes,
)
