"""Polls until a condition holds: read models are eventually consistent by design."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def eventually(probe: Callable[[], Any], within: float, every: float = 0.1) -> Any:
    """The first truthy result of `probe` within `within` seconds (else its last result)."""
    deadline = time.monotonic() + within
    while True:
        result = probe()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(every)
