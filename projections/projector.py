"""The generic projector: consume, decode, apply in batches to a sink, resume from its offsets.

Kafka's group offsets are never used: on assignment each partition seeks to the offset the
sink stored with its data, so a crash anywhere replays exactly what the sink lacks. The
same runner serves live projection and replay; only the sink's generation differs.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import suppress
from dataclasses import dataclass, field

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Message, TopicPartition

from eventstore.position import Position
from projections import metrics
from projections.applier import BatchApplier, Stopped
from projections.dead_letters import DeadLetterWriter
from projections.decoding import Decoder, UndecodableEvent
from projections.model import GenerationMoved, PartitionKey, Projected, Sink

log = logging.getLogger(__name__)

# How long an idle projector blocks for its first event before it looks around (stop
# requests, a finished batch that met a swap, its lag): the first event ends the wait at
# once. Each wake-up costs ~0.1 ms of CPU: at 0.1 s, seven idle projectors spent 7 ms/s.
IDLE_WAIT_SECONDS = 0.5
LAG_REFRESH_SECONDS = 1.0  # how often an idle projector re-reads its lag (markers stepped)


class Projector:
    """Runs one sink over its topics until stopped."""

    def __init__(
        self,
        consumer: Consumer,
        sink: Sink,
        topics: list[str],
        decoder: Decoder,
        dead_letters: DeadLetterWriter,
        batch_size: int = 1000,
        linger: float = 0.05,
        catch_up_batch_size: int | None = None,
    ) -> None:
        self._consumer = consumer
        self._sink = sink
        self._topics = topics
        self._decoder = decoder
        self._dead_letters = dead_letters
        self._batch_size = batch_size
        # While consumes come back full the log is ahead of us: larger batches then spread
        # each transaction's fixed cost (locks, checkpoints, round trips) over more events.
        self._catch_up_batch_size = max(catch_up_batch_size or 4 * batch_size, batch_size)
        # Group commit: while events keep coming, at most one batch per `linger` (each batch
        # is a transaction with fixed costs: checkpoint locks, round trips); the first event
        # after a quiet spell starts a batch at once, so a quiet system answers fast.
        self._linger = linger
        self._last_batch = -float("inf")
        self._lag_reported_at = -float("inf")
        self.largest_batch = self._catch_up_batch_size  # the most events decoded at once
        self._stopping = threading.Event()
        self._applier = BatchApplier(sink, dead_letters, self._stopping)
        self._stage = ApplyStage()  # replaced by each run
        self._name = sink.projection_name
        # Labelled metric children, looked up once, not per batch (never removed, so safe to
        # keep; the lag gauges are removed on revoke and looked up each time).
        self._events_applied = metrics.EVENTS_APPLIED.labels(self._name)
        self._batch_seconds = metrics.BATCH_SECONDS.labels(self._name)
        self.applied = 0  # events applied by this instance, for progress reports
        # The partitions assigned now, readable from any thread (the consumer's own
        # assignment() must not be called from another thread while it consumes).
        self.owned: frozenset[PartitionKey] = frozenset()

    def run(self, until: Callable[[], bool] | None = None) -> None:
        """Consume until `stop()` (or `until()` is true between batches); leave the group.

        Two stages: this thread consumes and decodes the next batch while the apply stage
        writes the previous one (the sink's round trip releases the GIL), at most one batch
        ahead. Rebalance callbacks drain the stage first, so no batch of a partition is in
        flight when it moves.
        """
        self._stage = ApplyStage()
        self._consumer.subscribe(self._topics, on_assign=self._on_assign, on_revoke=self._on_revoke)
        log.info("projection %s consuming %s", self._name, self._topics)
        try:
            size = self._batch_size
            while not self._stopping.is_set() and not (until and until()):
                messages = self._next_batch(size)
                size = self._catch_up_batch_size if len(messages) >= size else self._batch_size
                if messages:
                    self._submit(self._decode(messages))
                else:
                    self._settle()
                    self._report_idle_lag()
            self._finish()
        except Stopped:
            log.info(
                "projection %s stopped while retrying; the batch will be redelivered", self._name
            )
        finally:
            self._stage.close()
            self._consumer.close()

    def _next_batch(self, size: int) -> list[Message]:
        """Up to `size` messages: what `linger` gathers after the last batch, or, after a quiet
        spell, the first message as soon as it comes with whatever arrived beside it."""
        due = self._last_batch + self._linger
        now = time.monotonic()
        if now < due:
            messages = self._consumer.consume(size, timeout=due - now)
        else:
            first = self._consumer.poll(IDLE_WAIT_SECONDS)
            if first is None:
                return []
            messages = (
                [first, *self._consumer.consume(size - 1, timeout=0)] if size > 1 else [first]
            )
        if messages:
            self._last_batch = time.monotonic()
        return messages

    def stop(self) -> None:
        """Ask the loop to finish (or abandon) its current batch and exit."""
        self._stopping.set()

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._stage.drain()  # stored offsets are read after the last batch committed
        self._position(partitions)
        log.info(
            "projection %s assigned %s",
            self._name,
            {f"{tp.topic}[{tp.partition}]": tp.offset for tp in partitions},
        )
        consumer.incremental_assign(partitions)
        self.owned |= {(tp.topic, tp.partition) for tp in partitions}

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # Between batches (callbacks run inside consume), so nothing is half applied.
        self._stage.drain()  # the batch in flight commits before its partitions move
        log.info("projection %s revoked %d partitions", self._name, len(partitions))
        consumer.incremental_unassign(partitions)
        self.owned -= {(tp.topic, tp.partition) for tp in partitions}
        for tp in partitions:
            metrics.forget_lag(self._name, tp.topic, tp.partition)

    def _position(self, partitions: list[TopicPartition]) -> None:
        stored = self._sink.stored_offsets([(tp.topic, tp.partition) for tp in partitions])
        for tp in partitions:
            tp.offset = stored.get((tp.topic, tp.partition), OFFSET_BEGINNING)

    def _reposition(self) -> None:
        """After a swap: seek every owned partition to the new generation's checkpoints."""
        partitions = self._consumer.assignment()
        self._position(partitions)
        for tp in partitions:
            self._consumer.seek(tp)
        log.info("projection %s now writes generation %d", self._name, self._sink.generation())

    def _decode(self, messages: list[Message]) -> DecodedBatch:
        """The batch's events, its next offsets, and the undecodable positions (dead-lettered)."""
        decoded = DecodedBatch(time.monotonic())
        for message in messages:
            error = message.error()
            if error is not None:
                if error.code() != KafkaError._PARTITION_EOF:
                    log.error("consume error: %s", error.str())
                continue
            topic, partition, offset = message.topic(), message.partition(), message.offset()
            assert topic is not None and partition is not None and offset is not None
            decoded.next_offsets[(topic, partition)] = offset + 1
            if not self._decoder.handles(message):
                continue  # routed on the header: events we don't project stay undecoded
            try:
                decoded.events.append(self._decoder.decode(message))
            except UndecodableEvent as failure:
                position = Position(topic, partition, offset)
                log.error(
                    "projection %s: undecodable event at %s: %s", self._name, position, failure
                )
                raw = self._decoder.raw(message)
                self._dead_letters.send(raw, position, "decode", str(failure))
                metrics.DEAD_LETTERS.labels(self._name).inc()
                decoded.undecodable.append(position)
        return decoded

    def _submit(self, decoded: DecodedBatch) -> None:
        try:
            self._stage.submit(self._apply, decoded)
        except GenerationMoved:
            # The previous batch found a new generation: it and this one were read from the
            # old checkpoints. Both are dropped and re-read from the new ones.
            self._reposition()
            return
        self._report_lag(decoded.next_offsets)

    def _settle(self) -> None:
        """Nothing new to read: act on the finished batch now, not when traffic comes.

        A batch that met a swap is re-read from the new generation's checkpoints at once;
        waiting for the next batch left a quiet system stale (and read-your-writes timing
        out) until more events arrived.
        """
        try:
            self._stage.poll()
        except GenerationMoved:
            self._reposition()

    def _finish(self) -> None:
        # Leaving anyway: a batch that met a new generation is re-read from its checkpoints.
        with suppress(GenerationMoved):
            self._stage.result()

    def _apply(self, decoded: DecodedBatch) -> None:
        """The apply stage: one batch, then the counters."""
        self._applier.apply(decoded.events, decoded.next_offsets, tuple(decoded.undecodable))
        self.applied += len(decoded.events)
        self._events_applied.inc(len(decoded.events))
        self._batch_seconds.observe(time.monotonic() - decoded.started)

    def _report_lag(self, next_offsets: dict[PartitionKey, int]) -> None:
        # The fetch position, not the last record + 1: the consumer steps over transaction
        # markers, which take an offset each and are no lag (a partition at rest reads 0).
        self._lag_reported_at = time.monotonic()
        positions = self._consumer.position([TopicPartition(t, p) for t, p in next_offsets])
        for tp in positions:
            offset = max(tp.offset, next_offsets[(tp.topic, tp.partition)])
            _low, high = self._consumer.get_watermark_offsets(tp, cached=True)
            if offset >= 0 and high >= 0:
                lag = max(high - offset, 0)
                metrics.LAG.labels(self._name, tp.topic, str(tp.partition)).set(lag)

    def _report_idle_lag(self) -> None:
        """Now and then while idle too: a transaction's last marker is stepped over after
        the batch that reported its records."""
        if time.monotonic() - self._lag_reported_at >= LAG_REFRESH_SECONDS:
            self._report_lag({(tp.topic, tp.partition): -1 for tp in self._consumer.assignment()})


@dataclass(slots=True)
class DecodedBatch:
    """A consumed batch, decoded, on its way to the sink."""

    started: float
    events: list[Projected] = field(default_factory=list)
    next_offsets: dict[PartitionKey, int] = field(default_factory=dict)
    undecodable: list[Position] = field(default_factory=list)


class ApplyStage:
    """A single worker thread with at most one batch in flight; its failure re-raises in the
    caller at the next `submit` or `result`, so batches commit in order or not at all."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="projection-apply")
        self._pending: Future[None] | None = None

    def submit(self, apply: Callable[[DecodedBatch], None], batch: DecodedBatch) -> None:
        """Wait for the batch in flight (raising its failure), then start this one."""
        self.result()
        self._pending = self._pool.submit(apply, batch)

    def result(self) -> None:
        """Wait for the batch in flight; raise what it raised."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def poll(self) -> None:
        """Raise what the batch in flight raised if it has finished; never wait."""
        if self._pending is not None and self._pending.done():
            self.result()

    def drain(self) -> None:
        """Wait for the batch in flight without raising: its failure surfaces later."""
        if self._pending is not None:
            wait([self._pending])

    def close(self) -> None:
        self.drain()
        self._pool.shutdown(wait=True)
