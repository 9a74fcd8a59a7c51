"""Runs projectors on threads of the test process, for tests that don't kill them."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from projections.projector import Projector
from skald.services import Services


@contextlib.contextmanager
def projecting(services: Services, *names: str) -> Iterator[list[Projector]]:
    """The named projectors running until the block ends, then stopped cleanly."""
    projectors = [services.projector(name) for name in names]
    threads = [threading.Thread(target=p.run, daemon=True) for p in projectors]
    for thread in threads:
        thread.start()
    try:
        yield projectors
    finally:
        for projector in projectors:
            projector.stop()
        for thread in threads:
            thread.join(30)
