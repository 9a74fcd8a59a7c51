"""The projector's group commit: how it asks the consumer for the next batch (no Kafka)."""

from __future__ import annotations

import time
from typing import Any, cast

from confluent_kafka import Consumer

from projections.projector import IDLE_WAIT_SECONDS, Projector


class _Queue:
    """Answers poll/consume from a list of ready messages and records each call."""

    def __init__(self, ready: list[str]) -> None:
        self.ready = ready
        self.calls: list[tuple[str, int | None, float]] = []

    def poll(self, timeout: float) -> str | None:
        self.calls.append(("poll", None, timeout))
        return self.ready.pop(0) if self.ready else None

    def consume(self, num_messages: int, timeout: float) -> list[str]:
        self.calls.append(("consume", num_messages, timeout))
        taken, self.ready = self.ready[:num_messages], self.ready[num_messages:]
        return taken


def _projector(queue: _Queue, linger: float) -> Projector:
    projector = Projector.__new__(Projector)  # only the batching state is used
    projector._consumer = cast(Consumer, queue)
    projector._linger = linger
    projector._last_batch = -float("inf")
    return projector


def test_after_a_quiet_spell_the_first_message_starts_a_batch_at_once() -> None:
    queue = _Queue(["a", "b"])
    batch = cast(list[Any], _projector(queue, linger=0.05)._next_batch(10))
    assert batch == ["a", "b"]
    # Blocked for the first message only, then took what was already there without waiting.
    assert queue.calls == [("poll", None, IDLE_WAIT_SECONDS), ("consume", 9, 0)]


def test_while_events_keep_coming_a_batch_gathers_until_the_linger_has_passed() -> None:
    queue = _Queue(["a", "b", "c"])
    projector = _projector(queue, linger=10.0)
    projector._last_batch = time.monotonic()  # a batch just started
    assert cast(list[Any], projector._next_batch(10)) == ["a", "b", "c"]
    kind, size, timeout = queue.calls[0]
    assert (kind, size) == ("consume", 10)
    assert 9.0 < timeout <= 10.0  # the rest of the linger, not a fresh one


def test_an_idle_wait_that_ends_empty_is_no_batch() -> None:
    queue = _Queue([])
    projector = _projector(queue, linger=0.05)
    assert projector._next_batch(10) == []
    assert projector._last_batch == -float("inf")  # the next message still starts at once
