"""Command outcomes: domain terms on Kafka, HTTP statuses and bodies only at the edge."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from command_processor.decisions import complete, decide
from command_processor.hosted import HostedAggregate
from command_processor.outcomes import OutcomeIndex, PendingOutcomes
from contexts.inventory.aggregates import STOCK
from contexts.inventory.api import STOCK_REJECTIONS
from contexts.inventory.stock import decider
from contexts.inventory.stock.commands import Restock
from contexts.sales.aggregates import ORDER
from contexts.sales.api import ORDER_REJECTIONS
from producers.http_commands import http_answer, rejection_status
from producers.messages import CommandMessage, OutcomeKind, Reply

NOW = datetime(2024, 1, 1, tzinfo=UTC)


def _outcomes() -> PendingOutcomes:
    return PendingOutcomes(OutcomeIndex(retention_ms=60_000), now_ms=0)


def _message(
    key: str | None = None, fingerprint: str = "f", expected: int | None = None
) -> CommandMessage:
    return CommandMessage("Restock", "SKU-1", {}, "c-1", "replies", key, fingerprint, expected)


def test_an_accepted_command_is_created_then_changed_and_answers_201_then_200() -> None:
    hosted, outcomes = HostedAggregate(STOCK.initial), _outcomes()
    decision = decide(STOCK, hosted, _message(), Restock("SKU-1", 5, NOW), outcomes)
    first = complete(outcomes, _message(), decision, "p:0:0")
    assert (first.kind, first.created, first.version, first.position) == (
        OutcomeKind.ACCEPTED,
        True,
        1,
        "p:0:0",
    )
    assert http_answer(first, STOCK, STOCK_REJECTIONS, "sku") == (
        201,
        {"sku": "SKU-1", "version": 1, "position": "p:0:0", "events": ["StockRestocked"]},
    )
    second = decide(STOCK, hosted, _message(), Restock("SKU-1", 5, NOW), outcomes).reply
    assert not second.created and http_answer(second, STOCK, STOCK_REJECTIONS, "sku")[0] == 200


def test_a_wrong_expected_version_is_a_conflict_naming_the_current_version() -> None:
    hosted = HostedAggregate(STOCK.initial, version=3)
    command = Restock("SKU-1", 5, NOW)
    reply = decide(STOCK, hosted, _message(expected=1), command, _outcomes()).reply
    assert reply.kind is OutcomeKind.VERSION_CONFLICT
    assert http_answer(reply, STOCK, STOCK_REJECTIONS, "sku") == (
        409,
        {
            "detail": "stock SKU-1 is at version 3, not 1",
            "error": "WrongExpectedVersion",
            "current_version": 3,
        },
    )


def test_a_reused_idempotency_key_is_a_422_with_only_a_detail() -> None:
    hosted, outcomes = HostedAggregate(STOCK.initial), _outcomes()
    decide(STOCK, hosted, _message("k", "first"), Restock("SKU-1", 5, NOW), outcomes)
    reply = decide(STOCK, hosted, _message("k", "other"), Restock("SKU-1", 6, NOW), outcomes).reply
    assert reply.kind is OutcomeKind.KEY_REUSED
    status, body = http_answer(reply, STOCK, STOCK_REJECTIONS, "sku")
    assert status == 422 and list(body) == ["detail"]


def test_rejections_resolve_the_error_name_to_the_most_specific_listed_class() -> None:
    assert rejection_status(STOCK.domain_error, "InsufficientStock", STOCK_REJECTIONS) == 409
    assert rejection_status(ORDER.domain_error, "OrderNotFound", ORDER_REJECTIONS) == 404
    assert rejection_status(STOCK.domain_error, "StockError", STOCK_REJECTIONS) == 422
    assert rejection_status(STOCK.domain_error, "NoSuchError", STOCK_REJECTIONS) == 422

    class Oversold(decider.InsufficientStock):
        """A subclass not listed: its listed parent's status applies."""

    assert rejection_status(STOCK.domain_error, "Oversold", STOCK_REJECTIONS) == 409


@pytest.mark.parametrize(
    "reply",
    [
        Reply(OutcomeKind.ACCEPTED, "SKU-1", True, 1, ("StockRestocked",), "p:0:0"),
        Reply(OutcomeKind.ACCEPTED, "SKU-1", False, 2),
        Reply(OutcomeKind.REJECTED, error="InsufficientStock", detail="no", current_version=2),
        Reply(OutcomeKind.UNREADABLE, detail="unreadable command: x"),
    ],
)
def test_replies_round_trip_through_json(reply: Reply) -> None:
    assert Reply.decode(reply.encode()) == reply


def test_http_shaped_outcomes_in_old_snapshots_still_read() -> None:
    accepted = {"id": "o-1", "version": 1, "position": "p", "events": ["OrderPlaced"]}
    assert Reply.from_json({"status": 201, "body": accepted}) == Reply(
        OutcomeKind.ACCEPTED, "o-1", True, 1, ("OrderPlaced",), "p"
    )
    refused = {"detail": "gone", "error": "OrderNotFound", "current_version": 0}
    old = Reply.from_json({"status": 404, "body": refused})
    assert old.kind is OutcomeKind.REJECTED
    assert http_answer(old, ORDER, ORDER_REJECTIONS, "order_id") == (404, refused)
