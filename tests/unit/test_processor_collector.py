"""The command processor's heap: what it keeps between transactions is never walked by a
full collection (a pause on the loop thread, with commands waiting)."""

from __future__ import annotations

import gc

import pytest

from command_processor.collector import freeze_long_lived
from command_processor.outcomes import OutcomeIndex


@pytest.mark.usefixtures("restored_collector")
def test_what_exists_after_an_assignment_is_frozen() -> None:
    kept = [{"state": n} for n in range(1000)]  # e.g. a restored partition's aggregates
    freeze_long_lived()
    assert gc.get_freeze_count() >= len(kept)


def test_remembered_outcomes_leave_the_collector_after_one_young_collection() -> None:
    index = OutcomeIndex(retention_ms=60_000)
    for n in range(100):
        index.load(f"key-{n}".encode(), b'{"fingerprint":"f"}', written_ms=1_000, now_ms=1_000)
    gc.collect(0)
    entries = list(index._entries.values())
    assert entries and not any(gc.is_tracked(entry) for entry in entries)
