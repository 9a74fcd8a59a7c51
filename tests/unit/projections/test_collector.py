"""The projector process's collector settings: sized to the batches in flight."""

from __future__ import annotations

import gc

import pytest

from projections.collector import BATCHES_IN_FLIGHT, OBJECTS_PER_EVENT, tune_for_batches


@pytest.mark.usefixtures("restored_collector")
def test_young_collections_wait_for_more_than_the_batches_in_flight() -> None:
    gc.set_threshold(700, 10, 10)
    tune_for_batches(8000)
    assert gc.get_threshold() == (OBJECTS_PER_EVENT * BATCHES_IN_FLIGHT * 8000, 10, 10)
    assert gc.get_freeze_count() > 0  # what existed is never walked again


@pytest.mark.usefixtures("restored_collector")
def test_tiny_batches_keep_at_least_the_default_threshold() -> None:
    gc.set_threshold(700, 10, 10)
    tune_for_batches(1)
    assert gc.get_threshold()[0] == 700
