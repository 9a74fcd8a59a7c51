"""Several projector processes as one: a replay (or any pinned build) on more cores than one.

A projector's per-event work is CPython (headers, envelope, Avro, the fold) and holds the GIL,
so threads don't add throughput; processes do. Every worker is an ordinary projector in the
same consumer group, so Kafka spreads the partitions over them and each partition still has
one writer; the sink's checkpoints stay per partition. More workers than partitions idle.

`ProjectorGroup` looks like a `Projector` to its caller (`run`, `stop`, `applied`), so a
replay can use it wherever it starts a projector. The work each process does is a picklable
`target(stop, applied, ready)` from the composition root, which builds its own clients there
and waits at `ready` until every worker has: they then join the group together, instead of
the first one taking every partition and handing them out again a few seconds later.

The workers' Prometheus metrics reach the endpoint of the process that runs the group only if
it set up a shared directory first (`worker_metrics.py`); the group deletes an ended worker's
gauges there.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
from collections.abc import Callable
from multiprocessing.context import SpawnProcess
from multiprocessing.sharedctypes import Synchronized
from multiprocessing.synchronize import Barrier, Event
from typing import Protocol

from projections.worker_metrics import forget_worker

log = logging.getLogger(__name__)

# `target(stop, applied, ready)`: build a projector, wait at `ready`, run it until `stop` is
# set, adding to `applied` as it goes.
WorkerTarget = Callable[[Event, "Synchronized[int]", Barrier], None]
READY_TIMEOUT = 120.0  # seconds a worker waits for the others to start


class Runner(Protocol):
    """What a replay drives: a projector, or a group of them."""

    @property
    def applied(self) -> int:
        """Events applied so far (progress reports)."""

    def run(self, until: Callable[[], bool] | None = None) -> None: ...

    def stop(self) -> None: ...


class ProjectorGroup:
    """`workers` processes running `target`; `run` returns when all have stopped."""

    def __init__(self, target: WorkerTarget, workers: int, poll: float = 0.2) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, not {workers}")
        # Spawn, not fork: librdkafka's threads and pooled connections don't survive a fork.
        self._context = multiprocessing.get_context("spawn")
        self._target = target
        self._workers = workers
        self._poll = poll
        self._stop = self._context.Event()
        self._applied: list[Synchronized[int]] = [
            self._context.Value("q", 0) for _ in range(workers)
        ]
        self._ready = self._context.Barrier(workers)
        self._stopping = threading.Event()

    @property
    def applied(self) -> int:
        """Events applied by every worker so far."""
        return sum(self.applied_by_worker())

    def applied_by_worker(self) -> list[int]:
        """Events applied so far, per worker."""
        return [int(counter.value) for counter in self._applied]

    def run(self, until: Callable[[], bool] | None = None) -> None:
        """Start the workers and wait; stop them all when one dies, `stop()` or `until()`."""
        processes: list[SpawnProcess] = [
            self._context.Process(
                target=self._target,
                args=(self._stop, self._applied[n], self._ready),
                name=f"projector-{n}",
            )
            for n in range(self._workers)
        ]
        for process in processes:
            process.start()
        try:
            while not self._stopping.wait(self._poll):
                if until and until():
                    break
                dead = [process for process in processes if not process.is_alive()]
                if dead:
                    log.error("a projector worker exited; stopping the others")
                    _forget(dead)  # at once: the others may take a batch to stop
                    break
        finally:
            self._stop.set()
            self._ready.abort()  # a worker still waiting for the others gives up
            for process in processes:
                process.join(60)
                if process.is_alive():
                    process.kill()  # stuck past a minute: its batch is redelivered anyway
                    process.join(10)
            _forget(processes)

    def stop(self) -> None:
        """Ask every worker to finish its batch and exit."""
        self._stopping.set()
        self._stop.set()


def _forget(processes: list[SpawnProcess]) -> None:
    """Ended workers' lag gauges are nobody's now (their counters stay in the sums)."""
    for process in processes:
        if process.pid is not None and not process.is_alive():
            forget_worker(process.pid)
