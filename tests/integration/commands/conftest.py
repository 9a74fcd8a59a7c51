"""Fixtures that run the API and command processors as separate, killable processes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from skald.services import Services
from tests.integration.commands.harness import ProcessFactory, SkaldProcess


@pytest.fixture
def spawn(services: Services, tmp_path: Path) -> Iterator[ProcessFactory]:
    """Start `python -m skald <args>` processes; all are stopped after the test."""
    started: list[SkaldProcess] = []

    def start(name: str, args: list[str], env: dict[str, str] | None = None) -> SkaldProcess:
        log_path = tmp_path / f"{name}.log"
        process = SkaldProcess(name, args, services.settings, log_path, env or {}).start()
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


@pytest.fixture
def api(spawn: ProcessFactory) -> SkaldProcess:
    """The HTTP API as its own process, healthy."""
    process = spawn("api", ["api"])
    process.wait_healthy()
    return process


@pytest.fixture
def processor(spawn: ProcessFactory) -> SkaldProcess:
    """One command processor, with its partitions assigned."""
    process = spawn("processor", ["process"])
    process.wait_for_log("assigned")
    return process
