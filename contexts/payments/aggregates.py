"""The payments context's aggregate types."""

from __future__ import annotations

from contexts.payments.payment import decider
from contexts.payments.payment.commands import COMMAND_CLASSES
from contexts.payments.payment.events import EVENT_CLASSES
from eventstore.aggregate import AggregateType

PAYMENT: AggregateType[decider.Payment] = AggregateType(
    context="payments",
    name="payment",
    initial=decider.INITIAL,
    evolve=decider.evolve,
    decide=decider.decide,
    state_class=decider.Payment,
    event_classes=EVENT_CLASSES,
    command_classes=COMMAND_CLASSES,
    aggregate_id=lambda command: command.order_id,
    domain_error=decider.PaymentError,
)
