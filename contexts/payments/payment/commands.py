"""Payment commands."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class AuthorizePayment:
    """Ask the issuer to hold an amount on a card for an order."""

    COMMAND_TYPE = "payments.payment.AuthorizePayment"

    order_id: str
    amount_cents: int
    card_token: str
    at: datetime


@dataclass(frozen=True, slots=True)
class VoidPayment:
    """Release an authorization."""

    COMMAND_TYPE = "payments.payment.VoidPayment"

    order_id: str
    at: datetime


PaymentCommand = AuthorizePayment | VoidPayment
COMMAND_CLASSES: tuple[type, ...] = (AuthorizePayment, VoidPayment)
