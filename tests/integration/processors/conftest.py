"""Fixtures for saga tests: the API, command processors and Faust workers as real processes."""

from __future__ import annotations

import pytest

from tests.integration.commands.conftest import api, processor, spawn
from tests.integration.commands.harness import ProcessFactory, SkaldProcess

__all__ = ["api", "processor", "spawn"]

# Small deadlines so the timeout path runs in seconds.
WORKER_ARGS = ["worker", "--step-seconds", "4", "--redrive-seconds", "1"]
# Under a crowd of sagas: the defaults' proportions, so re-drives don't flood the participants.
CROWD_ARGS = ["worker", "--step-seconds", "30", "--redrive-seconds", "5"]


def start_worker(
    spawn: ProcessFactory, name: str = "worker", args: list[str] = WORKER_ARGS
) -> SkaldProcess:
    """A fulfillment worker whose agents are running on assigned partitions."""
    process = spawn(name, args)
    process.wait_for_log("Ready", timeout=90)
    return process


@pytest.fixture
def worker(spawn: ProcessFactory) -> SkaldProcess:
    return start_worker(spawn)
