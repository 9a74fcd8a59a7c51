"""Payment events, mirrored field by field in `schemas/payments/payment/`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class PaymentAuthorized:
    """The card issuer holds the amount for the order."""

    EVENT_TYPE = "payments.payment.PaymentAuthorized"

    order_id: str
    amount_cents: int
    authorized_at: datetime


@dataclass(frozen=True, slots=True)
class PaymentDeclined:
    """The card issuer refused the amount (schema v2: v1's `reason` split in two)."""

    EVENT_TYPE = "payments.payment.PaymentDeclined"

    order_id: str
    amount_cents: int
    decline_code: str  # what to branch on: issuer_declined, insufficient_funds, ...
    message: str  # what to show a person
    declined_at: datetime


@dataclass(frozen=True, slots=True)
class PaymentVoided:
    """An authorization was released without capture."""

    EVENT_TYPE = "payments.payment.PaymentVoided"

    order_id: str
    amount_cents: int
    voided_at: datetime


PaymentEvent = PaymentAuthorized | PaymentDeclined | PaymentVoided
EVENT_CLASSES: tuple[type, ...] = (PaymentAuthorized, PaymentDeclined, PaymentVoided)
