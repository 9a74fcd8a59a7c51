"""What the fulfillment saga reacts to: the order, its card, participants' answers, ticks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

ON_FILE_TOKEN = "tok_on_file"  # an order placed without a token pays with the card on file


@dataclass(frozen=True, slots=True)
class Line:
    """Units of one SKU the order needs (an order's items merged per SKU)."""

    sku: str
    quantity: int


@dataclass(frozen=True, slots=True)
class OrderWasPlaced:
    """The sales order exists: the saga starts."""

    order_id: str
    lines: tuple[Line, ...]
    amount_cents: int
    placed_at: datetime


@dataclass(frozen=True, slots=True)
class CardGiven:
    """The card token from the PlaceOrder command (the token never enters the event log)."""

    order_id: str
    token: str


@dataclass(frozen=True, slots=True)
class Answered:
    """A participant's reply to one of the saga's steps."""

    order_id: str
    step: str
    accepted: bool
    events: tuple[str, ...] = ()
    error: str = ""  # a refusal's domain error class name (or its outcome kind)


@dataclass(frozen=True, slots=True)
class Tick:
    """The watchdog's look at a saga that is due, with what it saw of the participants of the
    saga's pending steps (their command topics' backlog). The defaults decide nothing: a tick
    that knows nothing neither compensates nor re-sends."""

    order_id: str
    stalled: bool = False  # a participant has queued commands and made no progress for a step
    caught_up: bool = False  # every participant has handled all its commands (ours included)


SagaMessage = OrderWasPlaced | CardGiven | Answered | Tick
