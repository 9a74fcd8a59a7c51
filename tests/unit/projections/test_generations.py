"""Following the live generation across swaps and assignments, and the apply stage's poll."""

from __future__ import annotations

import threading

import pytest

from projections.generations import GenerationTracker
from projections.model import GenerationMoved
from projections.projector import ApplyStage, DecodedBatch


class Registry:
    def __init__(self) -> None:
        self.live = 1

    def read(self) -> int:
        return self.live


def test_an_assignment_after_a_swap_reads_the_new_generation_but_still_reports_the_move() -> None:
    registry = Registry()
    tracker = GenerationTracker("p", registry.read)
    assert tracker.writing() == 1
    registry.live = 2  # a swap
    assert tracker.refresh() == 2  # new partitions start from the new checkpoints...
    with pytest.raises(GenerationMoved):
        tracker.writing()  # ...and the partitions owned before are repositioned too
    assert tracker.writing() == 2


def test_the_first_assignment_starts_following_without_a_move() -> None:
    registry = Registry()
    tracker = GenerationTracker("p", registry.read)
    assert tracker.refresh() == 1
    assert tracker.writing() == 1


def test_a_pinned_tracker_never_moves() -> None:
    registry = Registry()
    tracker = GenerationTracker("p", registry.read, pinned=3)
    registry.live = 4
    assert tracker.refresh() == tracker.writing() == 3


def test_poll_raises_a_finished_batchs_failure_without_waiting_for_another() -> None:
    stage = ApplyStage()
    started, release = threading.Event(), threading.Event()

    def apply(_batch: DecodedBatch) -> None:
        started.set()
        release.wait(5)
        raise GenerationMoved("v2 is live")

    try:
        stage.submit(apply, DecodedBatch(0.0))
        started.wait(5)
        stage.poll()  # still running: returns at once
        release.set()
        stage.drain()
        with pytest.raises(GenerationMoved):
            stage.poll()
        stage.poll()  # reported once
    finally:
        stage.close()
