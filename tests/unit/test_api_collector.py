"""The API process's collector settings: sized to the requests in flight."""

from __future__ import annotations

import gc

import pytest

from producers.collector import OBJECTS_PER_REQUEST, REQUESTS_IN_FLIGHT, tune_for_requests


@pytest.mark.usefixtures("restored_collector")
def test_young_collections_wait_for_more_than_the_requests_in_flight() -> None:
    gc.set_threshold(700, 10, 10)
    tune_for_requests()
    assert gc.get_threshold() == (OBJECTS_PER_REQUEST * REQUESTS_IN_FLIGHT, 10, 10)
    assert gc.get_freeze_count() > 0  # the app and the imports are never walked again


@pytest.mark.usefixtures("restored_collector")
def test_few_requests_keep_at_least_the_default_threshold() -> None:
    gc.set_threshold(700, 10, 10)
    tune_for_requests(1)
    assert gc.get_threshold()[0] == 700
