"""A replay's plan refuses a start that skips events the projection applies."""

from __future__ import annotations

from typing import Any

import pytest

from eventstore.position import Position
from projections.model import PartitionKey
from projections.replay import Replay, UnsafeStart
from projections.skipped import SkippedEvent

TOPIC = "sales.order.events"


class Reader:
    """Just enough of a Consumer for planning: one topic, fixed watermarks."""

    def __init__(self, marks: dict[int, tuple[int, int]]) -> None:
        self.marks = marks

    def list_topics(self, topic: str, timeout: float) -> Any:
        partitions = dict.fromkeys(self.marks)
        meta = type("Meta", (), {"partitions": partitions, "error": None})()
        return type("Cluster", (), {"topics": {topic: meta}})()

    def get_watermark_offsets(self, tp: Any, timeout: float) -> tuple[int, int]:
        return self.marks[tp.partition]


class Sink:
    projection_name = "sales.orders"

    def building_generation(self) -> int | None:
        return None

    def live_generation(self) -> int:
        return 1


def _no_projector(sink: Any, group: str) -> Any:
    raise AssertionError("planning builds nothing")


def _replay(marks: dict[int, tuple[int, int]], found: SkippedEvent | None) -> Any:
    asked: list[dict[PartitionKey, tuple[int, int]]] = []

    def skipped_by(ranges: dict[PartitionKey, tuple[int, int]]) -> SkippedEvent | None:
        asked.append(ranges)
        return found

    job = Replay(Sink(), [TOPIC], Reader(marks), _no_projector, skipped_by)  # type: ignore[arg-type]
    return job, asked


def test_from_0_skips_nothing_and_asks_about_empty_ranges() -> None:
    job, asked = _replay({0: (0, 10), 1: (5, 9)}, None)
    plan = job.plan("0")
    assert plan.start == {(TOPIC, 0): 0, (TOPIC, 1): 5}
    assert asked == [{(TOPIC, 0): (0, 0), (TOPIC, 1): (5, 5)}]


def test_a_start_past_an_applied_event_is_refused_naming_it_and_the_command() -> None:
    event = SkippedEvent(Position(TOPIC, 0, 2), "o-7")
    job, asked = _replay({0: (0, 10), 1: (0, 9)}, event)
    with pytest.raises(UnsafeStart) as refused:
        job.plan("0:4")
    message = str(refused.value)
    assert asked == [{(TOPIC, 0): (0, 4), (TOPIC, 1): (0, 0)}]
    assert "would skip 4 records" in message
    assert f"{TOPIC}[0]@2 (aggregate o-7)" in message
    assert "skald replay sales.orders --from 0" in message


def test_a_start_past_records_the_projection_never_applies_is_planned() -> None:
    job, _asked = _replay({0: (0, 10)}, None)
    assert job.plan("0:4").start == {(TOPIC, 0): 4}


def test_without_a_way_to_look_any_skipped_record_refuses() -> None:
    job = Replay(Sink(), [TOPIC], Reader({0: (0, 10)}), _no_projector)  # type: ignore[arg-type]
    with pytest.raises(UnsafeStart):
        job.plan("0:1")
    assert job.plan("earliest").start == {(TOPIC, 0): 0}
