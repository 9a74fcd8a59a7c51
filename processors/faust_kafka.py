"""Faust's aiokafka consumer made to read committed records only, and to commit only what was
handled (the rules, and why each, are in `processors/README.md`).

faust-streaming sets `isolation_level="read_committed"` only under `exactly_once`; our events
and replies are written in Kafka transactions, so an at-least-once worker must not see the
records of aborted ones (a killed or fenced command processor's) either. The parts:

* `_GapTellingPartitionRecords`: aiokafka's reader of a fetched slice, telling `LOG_GAPS` the
  offsets that hold no deliverable record (markers, aborted or compacted records);
* `_Delivery` and `ReleasingFlowControl`: a record whose ack may be a stream's skip, or whose
  queue was cleared, is let go of without counting as handled;
* `ReadCommittedConsumer`: the commit rule (`processors/offsets.py`), the re-read of holes,
  and a bounded wait for in-flight records;
* `_ReadCommittedThread`: the consumer's thread, which stops the consumer whole
  (`processors/consumer_stop.py`).
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Iterator, Mapping
from functools import cached_property
from typing import Any
from weakref import WeakSet

from aiokafka.consumer import fetcher
from faust.transport.drivers import aiokafka as driver
from faust.types.tuples import ConsumerMessage, ack_lock
from mode.utils.futures import notify
from mode.utils.queues import FlowControlEvent

from processors.consumer_stop import stop_consumer
from processors.offsets import CommitBases, HoleWatch, LogGaps, reachable

FETCH_MAX_WAIT_MS = 500
# How long a rebalance or a stop waits for in-flight records; longer than a saga batch's own
# bounded wait for its states (`contexts/sales/fulfillment/worker.py`), so a batch that is
# working finishes first.
WAIT_EMPTY_SECONDS = 30.0
# How long a record the commit stops at may stay unhandled, nothing holding it, while later
# records are acknowledged, before its partition is read again from it.
HOLE_SECONDS = 5.0

log = logging.getLogger(__name__)

# What this process's client learned of the logs it read: facts, so one store serves any
# consumer (a worker runs one).
LOG_GAPS = LogGaps()


class _ReadCommittedThread(driver.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        consumer._isolation_level = "read_committed"  # the fetcher is built from it on start
        # A parked read_committed fetch is answered as soon as a commit marker makes records
        # readable (Kafka 4.1, measured: commit to delivery p50 5 ms at a 20 ms and at a
        # 1.5 s wait), so the wait only decides how often an idle worker asks: rarely.
        consumer._fetch_max_wait_ms = FETCH_MAX_WAIT_MS
        LOG_GAPS.follows = transport.app.topics.acks_enabled_for  # not the changelogs
        return consumer

    async def on_thread_stop(self) -> None:
        """Faust's, but the consumer stops whole even after a lost connection (see
        `processors/consumer_stop.py`)."""
        await super(driver.AIOKafkaConsumerThread, self).on_thread_stop()  # the method queue
        if self._consumer is not None:
            await stop_consumer(self._consumer)


class _GapTellingPartitionRecords(fetcher.PartitionRecords):
    """aiokafka's reader of one fetched slice of a partition, telling `LOG_GAPS` which offsets
    it passed over: markers, aborted records and compacted ones, never a record it delivered
    (what becomes of that record afterwards, in Faust, cannot make it a gap)."""

    def _unpack_records(self) -> Iterator[Any]:
        if not LOG_GAPS.follows(self._tp.topic):
            yield from super()._unpack_records()
            return
        reading = LOG_GAPS.slice(self._tp, self.next_fetch_offset)
        for record in super()._unpack_records():
            reading.record(record.offset)
            yield record
        reading.end(self.next_fetch_offset)


class _Delivery(ConsumerMessage):
    """A fetched record on its way to the streams. Every stream that lets go of it acks it,
    and so does one that *skipped* it: Faust's streams skip, and acknowledge, what they take
    from their queue while the flow is stopped (a rebalance or a stop) or that was fetched
    in an earlier generation. Such an ack says nothing about handling: remembered here, the
    final ack does not count it (`ReadCommittedConsumer.ack`)."""

    __slots__ = ()

    def ack(self, consumer: Any, n: int = 1) -> bool:
        if not consumer.acks_count_for(self):
            consumer.unhandled.add(self)
        return bool(super().ack(consumer, n))

    def release(self, consumer: Any) -> None:
        """A stream lets go of it unhandled (its queue was cleared)."""
        consumer.unhandled.add(self)
        self.ack(consumer)


class ReleasingFlowControl(FlowControlEvent):
    """Faust's flow control of the streams' queues, except that clearing them releases the
    records they held. Faust clears them at every rebalance and stop and forgets what they
    held: a record delivered to two streams (the saga and the stats read the order events)
    that only one had taken kept a reference for good, and a graceful stop waited its whole
    bound for it (30 s, every partition of the group paused in the rebalance meanwhile)."""

    def clear(self) -> None:
        for queue in list(self._queues):
            for item in list(queue._queue):  # type: ignore[attr-defined]
                message = getattr(item, "message", None)
                if isinstance(message, _Delivery):
                    message.release(item.app.consumer)
        super().clear()


class _NoReadOffsets(dict[Any, int | None]):
    """Faust's read offsets, kept empty. Faust drops a fetched record below the last offset it
    delivered of its partition, to skip what a seek replays. But a fetch under way when a
    rebalance seeks its partitions (Faust resumes them just before that seek) delivers after
    the seek and raises the read offset past records the seek replays: those were dropped, and
    their copies from before the seek were cleared from the queues unhandled (holes read again
    5 s late on most successor starts). The commit rule never needed the read offsets, and a
    record handled twice is harmless."""

    def __getitem__(self, tp: Any) -> None:
        return None

    def __setitem__(self, tp: Any, offset: int | None) -> None:
        pass

    def update(self, *args: Any, **kwargs: Any) -> None:
        pass


class ReadCommittedConsumer(driver.Consumer):
    """The aiokafka driver's consumer, reading committed records only.

    It also decides how far offsets may be committed (`processors/offsets.py`). Faust's own rule
    stalls on the offsets a read-committed fetch never delivers (transaction markers, aborted
    records): its bridges over them overlap the records they end at and miss the offset a seek
    lands on, so after a worker was killed its successor committed nothing, and under a burst
    commits crawled one transaction per second. Here the gaps are what the client read past
    in the log, before Faust sees anything (`LOG_GAPS`): an offset is passed when it was
    acknowledged or the log holds no deliverable record there, never merely because nothing
    holds it.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._read_offset = _NoReadOffsets()

    @cached_property  # lazily: unit tests build one without Faust's __init__
    def _gaps(self) -> LogGaps:
        return LOG_GAPS

    async def seek_to_committed(self) -> Mapping[Any, int]:
        committed = await super().seek_to_committed()
        for tp, offset in committed.items():
            self._bases.committed(tp, offset)
        return committed

    def _to_message(self, tp: Any, record: Any) -> ConsumerMessage:
        message = super()._to_message(tp, record)
        message.__class__ = _Delivery  # the same slots: only `ack` differs
        return message

    @cached_property
    def unhandled(self) -> WeakSet[ConsumerMessage]:
        """Records some stream acknowledged without handling them (`_Delivery`)."""
        return WeakSet()

    def acks_count_for(self, message: ConsumerMessage) -> bool:
        """Whether a stream's ack of `message` now means it was handled: not while the flow is
        stopped, nor for a record of an earlier generation (a stream skips those unseen)."""
        app = self.app
        return app.flow_control.is_active() and message.generation_id == (
            app.consumer_generation_id
        )

    def ack(self, message: Any) -> bool:
        """Faust's, except that an ack which may be a stream's skip only lets go of the record:
        it stops being in flight but does not count as handled, so the commit stops before it
        and whoever owns its partition reads it again (duplicates are harmless, steps are
        idempotent). Counted, such skips let commits pass records no saga had seen: lost
        sagas around rebalances, and at a graceful stop."""
        if message in self.unhandled or not self.acks_count_for(message):
            with ack_lock:
                if not message.acked:
                    message.acked = True
                    self._unacked_messages.discard(message)
                    self._uncounted[message.tp] = self._uncounted.get(message.tp, 0) + 1
                    notify(self._waiting_for_ack)
            return False
        return bool(super().ack(message))

    @cached_property
    def _uncounted(self) -> dict[Any, int]:
        """Per partition, records let go of unhandled since the last commit said so."""
        return {}

    @cached_property
    def _holes(self) -> HoleWatch:
        return HoleWatch(HOLE_SECONDS)

    @cached_property
    def _bases(self) -> CommitBases:
        return CommitBases()

    def _filter_tps_with_pending_acks(self, topics: Any = None) -> Iterator[Any]:
        """The partitions a commit looks at. Faust's are those that have had acknowledgements;
        one whose every fetched record was dropped has none, and its hole would never be seen
        (seen in CI: a successor dropped its first fetch of a partition, 13 cards with it).
        Here also every assigned partition of an acknowledged topic something was fetched from."""
        pending = set(super()._filter_tps_with_pending_acks(topics))
        acks_enabled_for = self.app.topics.acks_enabled_for
        for tp in self.assignment():
            chosen = topics is None or tp in topics or tp.topic in topics
            if chosen and self._gaps.last(tp) is not None and acks_enabled_for(tp.topic):
                pending.add(tp)
        return iter(pending)

    def _new_offset(self, tp: Any) -> int | None:
        acked = self._acked[tp]
        done = set(acked)
        # Faust's own is None from a rebalance's revocation until its seek (`CommitBases`).
        committed = self._bases.base(tp, self._committed_offset[tp], self._gaps.first(tp))
        if committed is None:
            return None
        position = reachable(tp, committed, done, self._gaps)
        # Stuck: later records were acknowledged, or the fetch got past it (a dropped last
        # record has nothing after it). Whether a stream still holds it is asked only once it
        # stayed its patience: the scan of in-flight records stays off the commit path.
        fetched = self._gaps.last(tp)
        beyond = (bool(done) and max(done) > position) or (
            fetched is not None and fetched >= position
        )
        stuck = position if beyond else None
        if self._holes.check(tp, stuck, time.monotonic()) and not self._holds(tp, position):
            self.__dict__.setdefault("_skald_rereads", {})[tp] = position
        if position <= committed:
            return None
        passed = [offset for offset in acked if offset < position]
        acked[:] = [offset for offset in acked if offset >= position]
        self._acked_index[tp].difference_update(passed)
        self._gap[tp].chop(0, position)  # Faust's own bridges below it are moot now
        self._gaps.drop_below(tp, position)
        return position

    def _holds(self, tp: Any, offset: int) -> bool:
        """Whether a stream still holds the record at `offset` (it will be acknowledged).

        Faust's in-flight records are a weak set, and a record dropped on its way to a stream
        can stay in it until the cycle collector frees it (a cancelled delivery's frames):
        found there, it is asked again after a collection. Without that, a dropped record
        could look held for minutes, its hole never read again, its saga stuck (seen in CI).
        Rare: only for a hole that stayed its patience."""
        if not self._in_flight(tp, offset):
            return False
        gc.collect()
        return self._in_flight(tp, offset)

    def _in_flight(self, tp: Any, offset: int) -> bool:
        return any(m.tp == tp and m.offset == offset for m in list(self._unacked_messages))

    async def commit(self, *args: Any, **kwargs: Any) -> bool:
        """Commit, then read again from every hole that stayed (`processors/offsets.py`)."""
        committed: bool = await super().commit(*args, **kwargs)
        if self._uncounted:
            told = ", ".join(f"{tp.topic}[{tp.partition}] {n}" for tp, n in self._uncounted.items())
            log.info("records a stream skipped (flow stopped or an earlier generation): %s", told)
            self._uncounted.clear()
        for tp, offset in self._committed_offset.items():
            self._bases.committed(tp, offset)
        rereads = self.__dict__.pop("_skald_rereads", {})
        if self.app.rebalancing or not self.flow_active:
            return committed  # the new assignment reads from the committed offsets anyway
        assigned = self.assignment()
        for tp, offset in rereads.items():
            if tp in assigned:
                log.warning(
                    "%s[%d]: record %d was fetched but never handled; reading again",
                    tp.topic,
                    tp.partition,
                    offset,
                )
                await self.seek(tp, offset)
        return committed

    async def wait_empty(self) -> None:
        """Faust's wait for in-flight records before a rebalance or stop commits, but bounded.

        Faust waits until every delivered record is acknowledged. A record its streams dropped
        while one of them still held it (the sales saga and the sales stats share the order
        events) could keep it waiting forever after Faust cleared the queues for a rebalance,
        and the whole group with it (seen in CI: a rebalance that never ended). Giving up is
        safe: a record not acknowledged stops the commit rule, so whoever owns its partition
        next reads it again.
        """
        deadline = time.monotonic() + WAIT_EMPTY_SECONDS
        while not self.should_stop and self._unacked_messages and time.monotonic() < deadline:
            gc.collect()  # records only queues held are gone once collected
            await self.commit()
            if not self._unacked_messages:
                break
            await self._wait_for_ack(timeout=1)
            self._clean_unacked_messages()
        if self._unacked_messages and not self.should_stop:
            stuck = sorted((m.tp.topic, m.tp.partition, m.offset) for m in self._unacked_messages)
            log.warning("gave up waiting for %d in-flight records: %s", len(stuck), stuck[:5])
        await self.commit_and_end_transactions()

    def _new_consumer_thread(self) -> driver.AIOKafkaConsumerThread:
        return _ReadCommittedThread(self, loop=self.loop, beacon=self.beacon)


def use_read_committed() -> None:
    """Make this process's Faust workers read committed records only."""
    driver.Transport.Consumer = ReadCommittedConsumer
    fetcher.PartitionRecords = _GapTellingPartitionRecords  # what the client reads, told
