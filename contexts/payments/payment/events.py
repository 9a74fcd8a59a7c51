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
    """The card issuer refused the amount."""

    EVENT_TYPE = "payments.payment.PaymentDeclined"

    order_id: str
    amount_cents: int
    reason: str
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
