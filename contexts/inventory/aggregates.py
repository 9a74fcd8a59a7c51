"""The inventory context's aggregate types."""

from __future__ import annotations

from contexts.inventory.stock import decider
from contexts.inventory.stock.commands import COMMAND_CLASSES
from contexts.inventory.stock.events import EVENT_CLASSES
from eventstore.aggregate import AggregateType

STOCK: AggregateType[decider.Stock] = AggregateType(
    context="inventory",
    name="stock",
    initial=decider.INITIAL,
    evolve=decider.evolve,
    decide=decider.decide,
    state_class=decider.Stock,
    event_classes=EVENT_CLASSES,
    command_classes=COMMAND_CLASSES,
    aggregate_id=lambda command: command.sku,
    domain_error=decider.StockError,
)
