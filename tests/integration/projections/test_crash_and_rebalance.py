"""Invariant 5: after a kill -9 or a rebalance, each read model equals the fold of the log."""

from __future__ import annotations

import time
from pathlib import Path

from skald.services import Services
from tests.integration.projections.actual import (
    PROJECTIONS,
    applied_events,
    assert_models_equal,
    wait_caught_up,
)
from tests.integration.projections.expected import fold_log
from tests.integration.projections.log_writer import LogWriter, scenario
from tests.integration.projections.processes import ProjectorProcess


def _wait_for_progress(services: Services, name: str, at_least: int, within: float = 60) -> None:
    deadline = time.monotonic() + within
    while applied_events(services, name) < at_least:
        assert time.monotonic() < deadline, f"{name} applied < {at_least} events in {within} s"
        time.sleep(0.05)


def test_kill_9_mid_stream_then_restart_loses_and_doubles_nothing(
    services: Services, log_writer: LogWriter, tmp_path: Path
) -> None:
    events = scenario(orders=12_000, skus=300, stock_events=26_000)
    assert len(events) >= 50_000
    log_writer.write(events)
    first = ProjectorProcess(services.settings, PROJECTIONS, tmp_path / "projector.log")
    _wait_for_progress(services, "sales.orders", 8_000)
    _wait_for_progress(services, "inventory.stock-levels", 5_000)
    first.assert_alive()
    first.kill()
    assert applied_events(services, "sales.orders") < 30_000  # really killed mid-stream
    second = ProjectorProcess(services.settings, PROJECTIONS, tmp_path / "projector.log")
    wait_caught_up(services)
    second.stop()
    assert_models_equal(services, fold_log(services))


def test_two_instances_with_rebalances_in_the_middle(
    services: Services, log_writer: LogWriter, tmp_path: Path
) -> None:
    events = scenario(orders=6_000, skus=200, stock_events=12_000, seed=11)
    log_writer.write(events[: len(events) // 3])
    one = ProjectorProcess(services.settings, PROJECTIONS, tmp_path / "one.log", batch=200)
    _wait_for_progress(services, "sales.orders", 1_000)
    two = ProjectorProcess(services.settings, PROJECTIONS, tmp_path / "two.log", batch=200)
    log_writer.write(events[len(events) // 3 : 2 * len(events) // 3])  # while they rebalance
    time.sleep(3)
    one.stop()  # a second rebalance: two takes every partition
    log_writer.write(events[2 * len(events) // 3 :])
    wait_caught_up(services)
    two.stop()
    assert "assigned" in (tmp_path / "two.log").read_text()
    assert_models_equal(services, fold_log(services))
