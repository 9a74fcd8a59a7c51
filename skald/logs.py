"""Readable, one-line logs for every Skald process."""

from __future__ import annotations

import logging


def configure(level: str, process: str | None = None) -> None:
    """Log to stderr with time, level and logger name (and `process`, for one of several
    worker processes whose lines share a stream)."""
    where = f"[{process}] " if process else ""
    logging.basicConfig(
        level=level.upper(),
        format=f"%(asctime)s %(levelname)-5s {where}%(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    for noisy in ("httpx", "opensearch", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
