"""Projector worker processes: one projection run by several processes, live or pinned.

`live_runner(services, name, workers)` runs the live projection (`skald project --workers`)
and `replay_runner(services, name, generation, group, workers)` builds a replay's pinned
generation: a plain projector in this process for one worker, a
`projections.workers.ProjectorGroup` for more. Each worker process builds its own clients
here, from the settings it is handed.
"""

from __future__ import annotations

import multiprocessing
import signal
import threading
from dataclasses import dataclass
from multiprocessing.sharedctypes import Synchronized
from multiprocessing.synchronize import Barrier, Event
from threading import BrokenBarrierError

from projections.collector import tune_for_batches
from projections.workers import READY_TIMEOUT, ProjectorGroup, Runner
from skald import logs
from skald.registry import CONTEXTS
from skald.services import Services
from skald.settings import Settings


@dataclass(frozen=True, slots=True)
class WorkerJob:
    """A worker's job (picklable): project `name` in consumer group `group` (None: the live
    projection's group) into `generation` (None: whichever is live, following swaps)."""

    settings: Settings
    name: str
    group: str | None = None
    generation: int | None = None

    def __call__(self, stop: Event, applied: Synchronized[int], ready: Barrier) -> None:
        # The parent stops us through `stop`; a Ctrl-C reaches the whole process group, and
        # would otherwise interrupt a batch here before the parent asks for a clean stop.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        # A spawned process starts with logging unconfigured; name the worker in each line.
        logs.configure(self.settings.log_level, multiprocessing.current_process().name)
        services = Services(self.settings, CONTEXTS)
        sink = services.sink(self.name)
        if self.generation is not None:
            sink = sink.pinned(self.generation)
        projector = services.projector(self.name, sink=sink, group=self.group)
        tune_for_batches(projector.largest_batch)
        try:
            ready.wait(READY_TIMEOUT)
        except BrokenBarrierError:
            services.close()
            return  # the group stopped (or a worker died) before all of us started
        counted = 0

        def count() -> None:
            nonlocal counted
            now = projector.applied
            with applied.get_lock():
                applied.value += now - counted
            counted = now

        def watch() -> None:
            parent = multiprocessing.parent_process()
            while not stop.wait(0.2):
                count()
                if parent is not None and not parent.is_alive():
                    break  # the parent was killed: don't project on unsupervised
            projector.stop()

        threading.Thread(target=watch, name="worker-watch", daemon=True).start()
        try:
            projector.run()
        finally:
            count()
            services.close()


def replay_runner(
    services: Services, name: str, generation: int, group: str, workers: int = 1
) -> Runner:
    """What builds `generation` of `name`: one projector here, or `workers` processes."""
    if workers <= 1:
        sink = services.sink(name).pinned(generation)
        return services.projector(name, sink=sink, group=group)
    return ProjectorGroup(WorkerJob(services.settings, name, group, generation), workers)


def live_runner(services: Services, name: str, workers: int = 1) -> Runner:
    """What runs the live projection `name`: one projector here, or `workers` processes in
    its consumer group (the partitions shared among them; more than partitions idle)."""
    if workers <= 1:
        return services.projector(name)
    return ProjectorGroup(WorkerJob(services.settings, name), workers)
