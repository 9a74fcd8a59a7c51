"""The batch applier isolates a poison event by bisection and never dead-letters an outage."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from eventstore.envelope import Envelope
from eventstore.position import Position
from projections.applier import BatchApplier, RetryPolicy
from projections.model import PartitionKey, ProjectedEvent, RawRecord, TransientSinkError

TOPIC = "t"


def _event(offset: int) -> ProjectedEvent:
    envelope = Envelope("e", "x", "s", datetime.now(UTC), "a", f"id-{offset}", 1, 1, "c", "c")
    return ProjectedEvent(offset, envelope, Position(TOPIC, 0, offset), RawRecord(b"k", b"v", []))


class FakeSink:
    """Applies all or nothing; raises for poison offsets, or a number of transient failures."""

    projection_name = "fake"

    def __init__(self, poison: set[int], outages: int = 0) -> None:
        self.poison = poison
        self.outages = outages
        self.applied: list[int] = []
        self.checkpoint = 0
        self.dead: list[Position] = []

    def apply(
        self,
        batch: list[ProjectedEvent],
        next_offsets: dict[PartitionKey, int],
        dead_lettered: tuple[Position, ...] = (),
    ) -> None:
        if self.outages:
            self.outages -= 1
            raise TransientSinkError("down")
        if any(item.event in self.poison for item in batch):
            raise ValueError("poison")
        self.applied += [int(str(item.event)) for item in batch]
        self.dead += dead_lettered
        self.checkpoint = max(self.checkpoint, next_offsets.get((TOPIC, 0), 0))


class FakeLetters:
    def __init__(self) -> None:
        self.sent: list[int] = []

    def send_event(self, event: ProjectedEvent, kind: str, error: str) -> None:
        self.sent.append(event.position.offset)


def _applier(sink: FakeSink, letters: FakeLetters) -> BatchApplier:
    policy = RetryPolicy(base_delay=0.0)
    return BatchApplier(sink, letters, threading.Event(), policy)  # type: ignore[arg-type]


def test_a_poison_event_is_isolated_and_everything_else_applied() -> None:
    sink, letters = FakeSink(poison={13, 57}), FakeLetters()
    batch = [_event(n) for n in range(100)]
    _applier(sink, letters).apply(batch, {(TOPIC, 0): 100})
    assert sorted(sink.applied) == [n for n in range(100) if n not in (13, 57)]
    assert letters.sent == [13, 57]
    assert [p.offset for p in sink.dead] == [13, 57]
    assert sink.checkpoint == 100


def test_an_outage_is_retried_not_dead_lettered() -> None:
    sink, letters = FakeSink(poison=set(), outages=5), FakeLetters()
    _applier(sink, letters).apply([_event(n) for n in range(10)], {(TOPIC, 0): 10})
    assert letters.sent == []
    assert sorted(sink.applied) == list(range(10))
