"""The sales context's aggregate types, wired for the command processor."""

from __future__ import annotations

from contexts.sales.order import decider
from contexts.sales.order.commands import COMMAND_CLASSES
from contexts.sales.order.events import EVENT_CLASSES
from eventstore.aggregate import AggregateType

ORDER: AggregateType[decider.Order] = AggregateType(
    context="sales",
    name="order",
    initial=decider.INITIAL,
    evolve=decider.evolve,
    decide=decider.decide,
    state_class=decider.Order,
    event_classes=EVENT_CLASSES,
    command_classes=COMMAND_CLASSES,
    aggregate_id=lambda command: command.order_id,
    domain_error=decider.OrderError,
)
