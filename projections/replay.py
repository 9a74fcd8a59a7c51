"""Online replay: build the next generation beside the live one, catch up, swap, drop.

The build is the ordinary projector over a sink pinned to the new generation, with its own
consumer group and checkpoints seeded at the start position. Live projectors keep writing
the live generation meanwhile. The swap happens only when the new generation's
checkpoints are at or past the live one's on every partition (checked under the same lock
live batches take), so queries see the old complete model, then a new one at least as
fresh. A live projector notices the swap at its next batch and seeks to the new
generation's checkpoints. An interrupted replay resumes the building generation from its
own checkpoints.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from confluent_kafka import Consumer

from projections.model import PartitionKey, Sink
from projections.positions import partitions, start_offsets, watermarks
from projections.workers import Runner


@dataclass(frozen=True, slots=True)
class ReplayPlan:
    """What a replay will do, before it does it."""

    projection: str
    live: int
    target: int | None  # an existing building generation to resume, or None for a new one
    start: dict[PartitionKey, int]
    heads: dict[PartitionKey, int]

    @property
    def events(self) -> int:
        return sum(max(self.heads[key] - self.start.get(key, 0), 0) for key in self.heads)


@dataclass(frozen=True, slots=True)
class Progress:
    """One progress report: events applied so far, what is left, how fast."""

    generation: int
    done: int
    remaining: int
    rate: float
    swapped: bool = False


class ReplayFailed(Exception):
    """The build stopped before it could swap."""


class Replay:
    """Rebuilds one projection online."""

    def __init__(
        self,
        sink: Sink,
        topics: list[str],
        reader: Consumer,
        projector_for: Callable[[Sink, str], Runner],  # a Projector, or a ProjectorGroup
        swap_within: int = 5000,
        drop_after: float = 2.0,
    ) -> None:
        self._sink = sink
        self._topics = topics
        self._reader = reader
        self._projector_for = projector_for
        self._swap_within = swap_within
        self._drop_after = drop_after

    def plan(self, start: str) -> ReplayPlan:
        """Resume the building generation if there is one, else start one at `start`."""
        keys = partitions(self._reader, self._topics)
        heads = {key: high for key, (_low, high) in watermarks(self._reader, keys).items()}
        building = self._sink.building_generation()
        if building is not None:
            stored = self._sink.checkpoints(building)
            begin = {key: stored.get(key, 0) for key in keys}
        else:
            begin = start_offsets(self._reader, self._topics, start)
        return ReplayPlan(
            self._sink.projection_name, self._sink.live_generation(), building, begin, heads
        )

    def run(self, plan: ReplayPlan, report: Callable[[Progress], None]) -> int:
        """Build, swap and drop the old generation; returns the new live generation."""
        target = plan.target
        if target is None:
            target = self._sink.create_generation()
            self._sink.pinned(target).seed_offsets(plan.start)
        group = f"projection.{plan.projection}.v{target}"
        projector = self._projector_for(self._sink.pinned(target), group)
        thread = threading.Thread(target=projector.run, name=f"replay-{target}", daemon=True)
        thread.start()
        started = time.monotonic()
        try:
            while True:
                time.sleep(0.5)
                if not thread.is_alive():
                    raise ReplayFailed(f"the projector building v{target} stopped")
                progress = self._progress(target, plan, started)
                report(progress)
                if progress.remaining <= self._swap_within and self._sink.swap(target):
                    report(Progress(target, progress.done, 0, progress.rate, swapped=True))
                    break
        finally:
            projector.stop()
            thread.join(30)
        time.sleep(self._drop_after)  # let a live batch that began before the swap finish
        self._sink.drop_generation(plan.live)
        return target

    def _progress(self, target: int, plan: ReplayPlan, started: float) -> Progress:
        stored = self._sink.checkpoints(target)
        keys = list(plan.heads)
        heads = {key: high for key, (_low, high) in watermarks(self._reader, keys).items()}
        done = sum(max(stored.get(k, 0) - plan.start.get(k, 0), 0) for k in keys)
        remaining = sum(max(heads[k] - stored.get(k, plan.start.get(k, 0)), 0) for k in keys)
        rate = done / max(time.monotonic() - started, 1e-6)
        return Progress(target, done, remaining, rate)
