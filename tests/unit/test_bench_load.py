"""The load generator's arithmetic: nearest-rank percentiles, failures as infinitely slow."""

from __future__ import annotations

import gc
import math
from collections import Counter

import pytest

from bench.load import Load, no_collector_pauses


def test_percentiles_are_nearest_rank_in_ms() -> None:
    load = Load(seconds=2.0, latencies=[i / 1000 for i in range(100, 0, -1)])
    assert load.rate == 50.0
    assert load.percentile_ms(50) == 50.0
    assert load.percentile_ms(99) == 99.0
    assert load.percentile_ms(100) == 100.0


def test_a_failed_request_counts_as_infinitely_slow() -> None:
    load = Load(seconds=1.0, latencies=[0.01] * 98, failures=Counter({"504": 2}))
    assert load.rate == 98.0  # only successes
    assert load.percentile_ms(98) == 10.0
    assert load.percentile_ms(99) == math.inf
    assert load.summary() == "504: 2"


def test_an_empty_run_has_no_percentile() -> None:
    assert math.isnan(Load().percentile_ms(50))
    assert Load().summary() == "none"


def test_the_generator_collects_no_garbage_during_a_run_and_again_after_it() -> None:
    with no_collector_pauses():
        assert not gc.isenabled()  # a full collection would stall every request in flight
    assert gc.isenabled()
    with pytest.raises(RuntimeError), no_collector_pauses():
        raise RuntimeError("a failed run")
    assert gc.isenabled()
