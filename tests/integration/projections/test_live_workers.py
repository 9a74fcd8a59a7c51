"""`skald project --workers 2`: two processes share each projection's partitions, and every
read model still equals the fold of the log (invariant 5)."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

from skald.services import Services
from tests.integration.projections.actual import PROJECTIONS, assert_models_equal, wait_caught_up
from tests.integration.projections.expected import fold_log
from tests.integration.projections.log_writer import LogWriter, scenario
from tests.integration.projections.processes import ProjectorProcess

ASSIGNED = re.compile(r"\[(projector-\d)\] projections\.projector: projection (\S+) assigned")


def _assigned(log: Path) -> set[tuple[str, str]]:
    """(worker, projection) pairs that were assigned partitions, from the log."""
    return {(m.group(1), m.group(2)) for m in ASSIGNED.finditer(log.read_text())}


def _wait_for_both_workers(log: Path, within: float = 60) -> None:
    want = {(f"projector-{n}", name) for n in (0, 1) for name in PROJECTIONS}
    deadline = time.monotonic() + within
    while not want <= _assigned(log):
        assert time.monotonic() < deadline, f"not every worker got partitions: {_assigned(log)}"
        time.sleep(0.2)


def test_two_worker_processes_per_projection_apply_the_log_once(
    services: Services, log_writer: LogWriter, tmp_path: Path
) -> None:
    events = scenario(orders=6_000, skus=200, stock_events=12_000, seed=13)
    log_writer.write(events[: len(events) // 2])
    log = tmp_path / "projector.log"
    # Small batches: the log is not applied before the second worker joins.
    projector = ProjectorProcess(services.settings, PROJECTIONS, log, batch=50, workers=2)
    try:
        log_writer.write(events[len(events) // 2 :])  # while they run
        wait_caught_up(services)
        _wait_for_both_workers(log)  # each projection's partitions were shared by two processes
        projector.assert_alive()
        # The supervisor and its worker processes run below the command path's priority.
        pids = [projector.process.pid, *(child.pid for child in projector.children())]
        assert len(pids) >= 3
        wanted = max(os.getpriority(os.PRIO_PROCESS, 0), services.settings.projection_nice)
        assert services.settings.projection_nice > 0
        assert [os.getpriority(os.PRIO_PROCESS, pid) for pid in pids] == [wanted] * len(pids)
        projector.stop()  # SIGTERM: the workers finish their batches, the command exits 0
    finally:  # passed or failed, nothing of it is left running
        projector.ensure_stopped()
    assert_models_equal(services, fold_log(services))
