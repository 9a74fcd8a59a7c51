"""The payment decider, given / when / then."""

from __future__ import annotations

from datetime import UTC, datetime

from contexts.payments.payment import decider as payment
from contexts.payments.payment.commands import AuthorizePayment, VoidPayment
from contexts.payments.payment.events import PaymentAuthorized, PaymentDeclined, PaymentVoided
from tests.unit.decider_spec import Decider, spec

given = spec(Decider(payment.INITIAL, payment.evolve, payment.decide))
AT = datetime(2026, 11, 27, tzinfo=UTC)
AUTHORIZED = PaymentAuthorized("o-1", 2500, AT)


def test_a_good_card_is_authorized_once() -> None:
    authorize = AuthorizePayment("o-1", 2500, "tok_visa", AT)
    given([]).when(authorize).then([AUTHORIZED])
    given([AUTHORIZED]).when(authorize).then([])


def test_the_documented_test_token_is_declined() -> None:
    authorize = AuthorizePayment("o-1", 2500, payment.DECLINED_TEST_TOKEN, AT)
    declined = PaymentDeclined("o-1", 2500, "issuer_declined", "card declined by issuer", AT)
    given([]).when(authorize).then([declined])


def test_amounts_are_positive() -> None:
    given([]).when(AuthorizePayment("o-1", 0, "tok_visa", AT)).raises(payment.InvalidAmount)


def test_only_an_authorized_payment_can_be_voided_and_only_once() -> None:
    voided = PaymentVoided("o-1", 2500, AT)
    given([AUTHORIZED]).when(VoidPayment("o-1", AT)).then([voided])
    given([AUTHORIZED, voided]).when(VoidPayment("o-1", AT)).then([])
    given([]).when(VoidPayment("o-1", AT)).raises(payment.PaymentNotAuthorized)
