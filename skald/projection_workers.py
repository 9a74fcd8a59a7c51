"""Replay workers: one projection's pinned generation built by several processes.

The hook a replay uses: `replay_runner(services, name, generation, group, workers)` is a
plain projector for one worker and a `projections.workers.ProjectorGroup` for more; each
worker process builds its own clients here, from the settings it is handed.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from multiprocessing.sharedctypes import Synchronized
from multiprocessing.synchronize import Barrier, Event
from threading import BrokenBarrierError

from projections.workers import READY_TIMEOUT, ProjectorGroup, Runner
from skald.registry import CONTEXTS
from skald.services import Services
from skald.settings import Settings


@dataclass(frozen=True, slots=True)
class PinnedProjector:
    """A worker's job (picklable): project `name` into `generation` in consumer group `group`."""

    settings: Settings
    name: str
    generation: int
    group: str

    def __call__(self, stop: Event, applied: Synchronized[int], ready: Barrier) -> None:
        services = Services(self.settings, CONTEXTS)
        sink = services.sink(self.name).pinned(self.generation)
        projector = services.projector(self.name, sink=sink, group=self.group)
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
            while not stop.wait(0.2):
                count()
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
    job = PinnedProjector(services.settings, name, generation, group)
    return ProjectorGroup(job, workers)
