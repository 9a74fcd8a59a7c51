"""Online replay: build the next generation beside the live one, catch up, swap, drop.

The build is the ordinary projector over a sink pinned to the new generation, with its own
consumer group and checkpoints seeded at the start position. Live projectors keep writing
the live generation meanwhile. The swap happens only when the new generation's
checkpoints are at or past the live one's on every partition (checked while live batches
cannot move them: a lock in PostgreSQL, a fence in OpenSearch), so queries see the old
complete model, then a new one at least as fresh. A live projector finds out at its next
write, even on a quiet system, and seeks to the new generation's checkpoints. An
interrupted replay resumes the building generation from its own checkpoints.

The result must equal a rebuild from scratch. The new generation starts empty, so a start
after the beginning of the log is refused when the log before it holds an event the
projection applies (see `projections.skipped`); what remains allowed is skipping a prefix
the projection never reads.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from confluent_kafka import Consumer

from eventstore.position import Position
from projections.model import PartitionKey, Sink
from projections.positions import BadStartPosition, partitions, start_offsets, watermarks
from projections.skipped import SkippedEvent
from projections.workers import Runner

# Given (topic, partition) -> [begin, start), the first event there the projection applies.
SkippedBy = Callable[[dict[PartitionKey, tuple[int, int]]], SkippedEvent | None]


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


class UnsafeStart(BadStartPosition):
    """A start that would leave out events the projection applies: the result would not
    equal a rebuild from scratch."""


class Replay:
    """Rebuilds one projection online."""

    def __init__(
        self,
        sink: Sink,
        topics: list[str],
        reader: Consumer,
        projector_for: Callable[[Sink, str], Runner],  # a Projector, or a ProjectorGroup
        skipped_by: SkippedBy | None = None,
        swap_within: int = 5000,
        drop_after: float = 2.0,
    ) -> None:
        self._sink = sink
        self._topics = topics
        self._reader = reader
        self._projector_for = projector_for
        self._skipped_by = skipped_by
        self._swap_within = swap_within
        self._drop_after = drop_after

    def plan(self, start: str) -> ReplayPlan:
        """Resume the building generation if there is one, else start one at `start`.

        Raises UnsafeStart if `start` skips an event the projection applies.
        """
        keys = partitions(self._reader, self._topics)
        marks = watermarks(self._reader, keys)
        heads = {key: high for key, (_low, high) in marks.items()}
        building = self._sink.building_generation()
        if building is not None:
            stored = self._sink.checkpoints(building)
            begin = {key: stored.get(key, 0) for key in keys}
        else:
            begin = start_offsets(self._reader, self._topics, start)
            skipped = {key: (marks[key][0], offset) for key, offset in begin.items()}
            found = self._first_skipped(skipped)
            if found is not None:
                raise UnsafeStart(self._refusal(start, skipped, found))
        return ReplayPlan(
            self._sink.projection_name, self._sink.live_generation(), building, begin, heads
        )

    def _first_skipped(self, ranges: dict[PartitionKey, tuple[int, int]]) -> SkippedEvent | None:
        if self._skipped_by is not None:
            return self._skipped_by(ranges)
        # No way to look: any skipped record could be an event the projection applies.
        for (topic, partition), (begin, end) in sorted(ranges.items()):
            if begin < end:
                return SkippedEvent(Position(topic, partition, begin), "")
        return None

    def _refusal(
        self, start: str, skipped: dict[PartitionKey, tuple[int, int]], found: SkippedEvent
    ) -> str:
        name = self._sink.projection_name
        records = sum(max(end - begin, 0) for begin, end in skipped.values())
        where = f"{found.position.topic}[{found.position.partition}]@{found.position.offset}"
        subject = f" (aggregate {found.subject})" if found.subject else ""
        return (
            f"--from {start} would skip {records} record{'' if records == 1 else 's'},"
            f" among them events {name} applies,"
            f" the first at {where}{subject}. A replay folds into an empty generation, so"
            " aggregates begun before the start would be missing or fail to fold: the result"
            f" would not equal a rebuild from scratch. Run `skald replay {name} --from 0`."
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
