"""Upcasters for payment events: old versions read as the current ones."""

from __future__ import annotations

from contexts.payments.payment.events import PaymentDeclined
from eventstore.upcasting import Record, Upcaster

# v1 carried only free text; these are the texts v1 writers are known to have produced.
_V1_REASON_CODES = {
    "card declined by issuer": "issuer_declined",
    "insufficient funds": "insufficient_funds",
    "card expired": "expired_card",
}


def payment_declined_v1_to_v2(record: Record) -> Record:
    """v1 `reason` (free text) -> v2 `decline_code` (derived) and `message` (the text)."""
    reason = record.pop("reason")
    record["decline_code"] = _V1_REASON_CODES.get(reason.strip().lower(), "unknown")
    record["message"] = reason
    return record


UPCASTERS = (Upcaster(PaymentDeclined.EVENT_TYPE, 1, payment_declined_v1_to_v2),)
