"""The sales context's topic names."""

from __future__ import annotations

from contexts.sales.aggregates import ORDER

ORDER_EVENTS = ORDER.events_topic
