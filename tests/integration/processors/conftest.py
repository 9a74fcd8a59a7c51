"""Fixtures for saga tests: the API, command processors and Faust workers as real processes."""

from __future__ import annotations

import pytest

from tests.integration.commands.conftest import api, processor, spawn
from tests.integration.commands.harness import ProcessFactory, SkaldProcess

__all__ = ["api", "processor", "spawn"]

# Small deadlines so the timeout path runs in seconds.
WORKER_ENV = {"SKALD_FULFILLMENT_STEP_SECONDS": "4", "SKALD_FULFILLMENT_REDRIVE_SECONDS": "1"}
# Under a crowd of sagas: the defaults' proportions, so re-drives don't flood the participants.
CROWD_ENV = {"SKALD_FULFILLMENT_STEP_SECONDS": "30", "SKALD_FULFILLMENT_REDRIVE_SECONDS": "5"}


def start_worker(
    spawn: ProcessFactory, name: str = "worker", env: dict[str, str] = WORKER_ENV
) -> SkaldProcess:
    """A Faust worker whose agents are running on assigned partitions."""
    process = spawn(name, ["worker"], env)
    process.wait_for_log("Ready", timeout=90)
    return process


@pytest.fixture
def worker(spawn: ProcessFactory) -> SkaldProcess:
    return start_worker(spawn)
