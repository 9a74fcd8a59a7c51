"""The stream worker's collector settings: young collections wait for its batches."""

from __future__ import annotations

import gc

import pytest

from processors.collector import YOUNG_THRESHOLD, tune_for_streams


@pytest.mark.usefixtures("restored_collector")
def test_young_collections_wait_for_more_than_the_batches_in_flight() -> None:
    gc.set_threshold(700, 10, 10)
    tune_for_streams()
    assert gc.get_threshold() == (YOUNG_THRESHOLD, 10, 10)
    assert gc.get_freeze_count() > 0  # the app and the imports are never walked again


@pytest.mark.usefixtures("restored_collector")
def test_a_higher_threshold_already_set_is_kept() -> None:
    gc.set_threshold(10 * YOUNG_THRESHOLD, 10, 10)
    tune_for_streams()
    assert gc.get_threshold()[0] == 10 * YOUNG_THRESHOLD
