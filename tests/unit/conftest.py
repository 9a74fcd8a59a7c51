"""Fixtures shared by unit tests."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest


@pytest.fixture
def restored_collector() -> Iterator[None]:
    """The garbage collector's thresholds and frozen objects as they were, after the test."""
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)
