"""The projector metrics of worker processes, served by the process that supervises them.

prometheus_client's multiprocess mode: a process that imports prometheus_client while
PROMETHEUS_MULTIPROC_DIR names a directory keeps every metric value in files there (one per
process and metric type), and a `MultiProcessCollector` over that directory merges them:
counters and histograms summed over the processes, a `livemostrecent` gauge the newest value
written by a live process. The mode is chosen once, at import, so the variable must be set
before the workers start; they are spawned (fresh interpreters that inherit this process's
environment), so setting it here, in the supervisor, is in time for them, while the
supervisor, which imported prometheus_client long before, keeps its own values in memory.
The directory is new for each run (values of an earlier run would be summed in) and removed
after it.

What the mode can't carry is not served from the workers: their process and GC collectors
(the endpoint shows the supervisor's), and label removal (see `metrics.forget_lag`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

from projections.metrics import FAMILIES

DIRECTORY = "PROMETHEUS_MULTIPROC_DIR"  # prometheus_client reads it at import


@contextmanager
def shared_metrics_dir() -> Iterator[Path]:
    """A fresh directory where the worker processes spawned inside the block keep their
    metrics (set as PROMETHEUS_MULTIPROC_DIR for them to inherit); removed afterwards."""
    if DIRECTORY in os.environ:
        raise RuntimeError(f"{DIRECTORY} is already set: this process would share its files")
    path = Path(tempfile.mkdtemp(prefix="skald-metrics-"))
    os.environ[DIRECTORY] = str(path)
    try:
        yield path
    finally:
        del os.environ[DIRECTORY]
        shutil.rmtree(path, ignore_errors=True)


def forget_worker(pid: int) -> None:
    """A worker process ended: its gauges (lag) go with it; its counters stay in the sums,
    as the work they count was done. Nothing to do when its metrics stayed in memory."""
    path = os.environ.get(DIRECTORY)
    if path:
        mark_process_dead(pid, path)


class WorkerMetrics:
    """What the supervisor serves: its own registry (process, GC, platform), each projection
    family replaced by the one merged from its workers' files."""

    def __init__(self, path: Path, own: CollectorRegistry = REGISTRY) -> None:
        self._workers = MultiProcessCollector(None, path=str(path))
        self._own = own

    def collect(self) -> Iterable[Metric]:
        # Only the projection families: a worker imports other modules whose unlabelled
        # metrics would show up once per worker pid, and this process serves those itself.
        merged = {m.name: m for m in self._workers.collect() if m.name in FAMILIES}
        own = [merged.pop(m.name, m) for m in self._own.collect()]
        return own + list(merged.values())
