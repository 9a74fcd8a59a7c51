"""Readable, one-line logs for every Skald process."""

from __future__ import annotations

import logging


def configure(level: str) -> None:
    """Log to stderr with time, level and logger name."""
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)-5s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    for noisy in ("httpx", "opensearch", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
