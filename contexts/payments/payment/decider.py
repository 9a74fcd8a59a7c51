"""The payment decider. Pure; the card issuer is simulated by a documented rule:
the test card token `tok_declined` is always declined, every other token authorized."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from contexts.payments.payment.commands import AuthorizePayment, PaymentCommand, VoidPayment
from contexts.payments.payment.events import (
    PaymentAuthorized,
    PaymentDeclined,
    PaymentEvent,
    PaymentVoided,
)

DECLINED_TEST_TOKEN = "tok_declined"


class PaymentStatus(StrEnum):
    """Where a payment stands."""

    NONE = "none"
    AUTHORIZED = "authorized"
    DECLINED = "declined"
    VOIDED = "voided"


@dataclass(frozen=True, slots=True)
class Payment:
    """A payment's status and amount."""

    status: PaymentStatus = PaymentStatus.NONE
    amount_cents: int = 0


INITIAL = Payment()


class PaymentError(Exception):
    """A command the payment's current state forbids."""


class InvalidAmount(PaymentError):
    """Amounts are positive."""


class PaymentNotAuthorized(PaymentError):
    """Only an authorized payment can be voided."""


def evolve(state: Payment, event: object) -> Payment:
    """The state after one more event; unknown events leave it unchanged."""
    match event:
        case PaymentAuthorized(amount_cents=amount):
            return Payment(PaymentStatus.AUTHORIZED, amount)
        case PaymentDeclined(amount_cents=amount):
            return Payment(PaymentStatus.DECLINED, amount)
        case PaymentVoided():
            return Payment(PaymentStatus.VOIDED, state.amount_cents)
        case _:
            return state


def decide(state: Payment, command: PaymentCommand) -> list[PaymentEvent]:
    """The events a command produces in a state, or a domain error."""
    match command:
        case AuthorizePayment(order_id=order_id, amount_cents=amount, card_token=token, at=at):
            if amount <= 0:
                raise InvalidAmount(f"amount must be positive, got {amount}")
            if state.status is not PaymentStatus.NONE:
                return []  # one authorization attempt per order; repeats change nothing
            if token == DECLINED_TEST_TOKEN:
                return [
                    PaymentDeclined(
                        order_id, amount, "issuer_declined", "card declined by issuer", at
                    )
                ]
            return [PaymentAuthorized(order_id, amount, at)]
        case VoidPayment(order_id=order_id, at=at):
            if state.status is PaymentStatus.VOIDED:
                return []
            if state.status is not PaymentStatus.AUTHORIZED:
                raise PaymentNotAuthorized(f"payment for {order_id} is {state.status}")
            return [PaymentVoided(order_id, state.amount_cents, at)]
