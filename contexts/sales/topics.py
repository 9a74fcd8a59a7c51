"""The sales context's topics."""

from __future__ import annotations

from eventstore.topics import TopicSpec

ORDER_EVENTS = "sales.order.events"

TOPICS = (TopicSpec(ORDER_EVENTS),)
