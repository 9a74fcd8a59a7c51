"""The fulfillment worker's Kafka consumer: read_committed, and no long parked fetches."""

from __future__ import annotations

import asyncio
import gc
from collections import defaultdict
from collections.abc import MutableMapping
from pathlib import Path
from types import SimpleNamespace
from weakref import WeakSet

from faust.types import TP
from intervaltree import IntervalTree
from mode.utils.queues import FlowControlQueue

from processors.app import build_app
from processors.faust_kafka import FETCH_MAX_WAIT_MS, ReadCommittedConsumer, ReleasingFlowControl
from processors.offsets import LogGaps


def test_worker_consumer_reads_committed_records_with_a_short_fetch_wait(tmp_path: Path) -> None:
    async def built() -> tuple[object, str, int]:
        app = build_app("skald.worker", "localhost:9092", None, 3, 1, tmp_path)
        kafka = app.consumer._thread._create_worker_consumer(app.transport)  # type: ignore[attr-defined]
        try:
            return app.consumer, kafka._isolation_level, kafka._fetch_max_wait_ms
        finally:
            await kafka.stop()  # never started: closes its client without a broker

    consumer, isolation, fetch_wait = asyncio.run(built())
    assert isinstance(consumer, ReadCommittedConsumer)
    assert isolation == "read_committed"  # aborted transactions' records stay invisible
    assert fetch_wait == FETCH_MAX_WAIT_MS < 1500  # not Faust's hard-coded 1.5 s


def test_the_worker_consumer_drops_no_record_below_its_read_offset(tmp_path: Path) -> None:
    """Faust drops a fetched record whose offset is below its partition's read offset; a fetch
    that straddled a rebalance's seek raised it past records the seek replays (holes)."""

    async def read_offsets() -> MutableMapping[TP, int | None]:
        app = build_app("skald.worker", "localhost:9092", None, 3, 1, tmp_path)
        assert isinstance(app.consumer, ReadCommittedConsumer)
        return app.consumer._read_offset

    read = asyncio.run(read_offsets())
    read[TP_] = 60  # the last record a fetch that straddled the seek delivered
    read.update({TP_: 60})
    assert read[TP_] is None  # so 55..59, which the seek replays, are delivered


def _consumer(
    committed: int, acked: list[int], unacked: list[int], fetched: list[int] | None = None
) -> ReadCommittedConsumer:
    """Just the offset bookkeeping of a consumer of one partition (no app, no broker): it
    was positioned at `committed`, then fetched `fetched` (by default what was acked)."""
    consumer = object.__new__(ReadCommittedConsumer)
    consumer._gaps = LogGaps()
    reading = consumer._gaps.slice(TP_, committed)
    for offset in sorted(set(acked if fetched is None else fetched)):
        reading.record(offset)
    consumer._committed_offset = defaultdict(lambda: None, {TP_: committed})
    consumer._acked = defaultdict(list, {TP_: list(acked)})
    consumer._acked_index = defaultdict(set, {TP_: set(acked)})
    consumer._gap = defaultdict(IntervalTree)
    in_flight: list[object] = [SimpleNamespace(tp=TP_, offset=o) for o in unacked]
    consumer._unacked_messages = in_flight  # type: ignore[assignment]
    return consumer


TP_ = TP("sales.fulfillment.replies", 1)


def test_commits_move_past_markers_that_sit_on_the_committed_position() -> None:
    # 12 and 13 are two transactions' commit markers: never delivered, never acked.
    assert _consumer(12, [14, 15, 16], [])._new_offset(TP_) == 17
    assert _consumer(12, [13, 14], [])._new_offset(TP_) == 15  # the ordinary case


def test_a_record_still_in_flight_holds_the_commit_back() -> None:
    # 12 is a marker the client read past: the commit passes it and stops at 13.
    assert _consumer(12, [14, 15], [13], fetched=[13, 14, 15])._new_offset(TP_) == 13
    assert _consumer(13, [14, 15], [13], fetched=[13, 14, 15])._new_offset(TP_) is None


def test_a_record_fetched_then_dropped_holds_the_commit_back() -> None:
    """Faust dropped 13 on its way to the streams (nothing holds it): it is not a marker."""
    assert _consumer(13, [14, 15], [], fetched=[13, 14, 15])._new_offset(TP_) is None


def test_markers_between_delivered_records_are_passed_in_one_commit() -> None:
    # Three transactions' records with their markers (13, 16, 17) between them, all acked.
    consumer = _consumer(10, [10, 11, 12, 14, 15, 18, 19], [])
    assert consumer._new_offset(TP_) == 20
    assert consumer._acked[TP_] == [] and consumer._acked_index[TP_] == set()


def test_a_duplicate_ack_does_not_break_the_run() -> None:
    assert _consumer(10, [10, 11, 11, 12], [])._new_offset(TP_) == 13


def test_commits_stop_before_the_first_record_still_in_flight() -> None:
    consumer = _consumer(10, [10, 11, 14, 15], unacked=[12], fetched=[10, 11, 12, 14, 15])
    assert consumer._new_offset(TP_) == 12
    assert consumer._acked[TP_] == [14, 15]  # committed later, once 12 is acked


def _never_committed(first_read: int | None, acked: list[int]) -> ReadCommittedConsumer:
    consumer = _consumer(0, acked, [])
    consumer._committed_offset[TP_] = None
    consumer._gaps = LogGaps()
    if first_read is not None:
        reading = consumer._gaps.slice(TP_, first_read)
        for offset in range(first_read, max(acked) + 1):
            reading.record(offset)
    return consumer


def test_a_first_commit_starts_where_the_partition_was_first_read() -> None:
    assert _never_committed(7, [7, 8])._new_offset(TP_) == 9
    assert _never_committed(5, [7, 8])._new_offset(TP_) is None  # 5 and 6 were never handled
    assert _never_committed(None, [7, 8])._new_offset(TP_) is None  # no base: no commit


def test_a_revocation_commits_from_the_last_committed_offset() -> None:
    """Faust forgot the committed offset as the rebalance revoked the partition; the batch in
    flight acknowledges 14, 15 while 12, 13 (dropped from a cleared queue) were never handled."""
    consumer = _consumer(12, [14, 15], [], fetched=[12, 13, 14, 15])
    consumer._bases.committed(TP_, 12)
    consumer._committed_offset[TP_] = None
    assert consumer._new_offset(TP_) is None


def test_a_dropped_last_record_is_read_again_once_it_stayed() -> None:
    """Nothing after it was acknowledged: the fetch having got past it is what tells."""
    consumer = _consumer(13, [], [], fetched=[13])
    consumer._holes._patience = 0.0
    consumer._holes.check(TP_, 13, 0.0)
    assert consumer._new_offset(TP_) is None
    assert consumer.__dict__["_skald_rereads"] == {TP_: 13}


def test_nothing_fetched_past_the_commit_is_no_hole() -> None:
    consumer = _consumer(13, [], [], fetched=[])
    consumer._holes._patience = 0.0
    assert consumer._new_offset(TP_) is None
    assert "_skald_rereads" not in consumer.__dict__


def test_a_dropped_record_that_only_garbage_holds_is_read_again() -> None:
    """Faust's in-flight set is weak; a dropped record caught in a reference cycle stays in it
    until the cycle collector runs. It must not pass for one a stream still holds."""
    consumer = _consumer(13, [14, 15], [], fetched=[13, 14, 15])
    consumer._holes._patience = 0.0
    consumer._holes.check(TP_, 13, 0.0)
    in_flight: WeakSet[object] = WeakSet()
    gc.disable()  # the collector must not run on its own before the consumer asks
    try:
        dropped = _Record(TP_, 13)
        dropped.cycle = dropped
        in_flight.add(dropped)
        del dropped
        assert len(in_flight) == 1  # garbage, not yet collected
        consumer._unacked_messages = in_flight  # type: ignore[assignment]
        assert consumer._new_offset(TP_) is None
    finally:
        gc.enable()
    assert consumer.__dict__["_skald_rereads"] == {TP_: 13}


def test_a_record_a_stream_holds_is_not_read_again() -> None:
    consumer = _consumer(13, [14, 15], [13], fetched=[13, 14, 15])
    consumer._holes._patience = 0.0
    consumer._holes.check(TP_, 13, 0.0)
    assert consumer._new_offset(TP_) is None
    assert "_skald_rereads" not in consumer.__dict__


class _Record:
    def __init__(self, tp: TP, offset: int) -> None:
        self.tp, self.offset = tp, offset
        self.cycle: object = None


def test_a_partition_whose_every_record_was_dropped_is_still_looked_at() -> None:
    """Nothing of it was ever acknowledged, so Faust would never ask where its commit stops."""
    consumer = _consumer(13, [], [], fetched=[13, 14])
    consumer._acked = defaultdict(list)  # no acknowledgement at all: not even the key
    changelog = TP("skald.worker-sagas-changelog", 0)
    consumer._gaps.slice(changelog, 0).record(0)
    topics = SimpleNamespace(acks_enabled_for=lambda topic: topic != changelog.topic)
    consumer.app = SimpleNamespace(topics=topics)  # type: ignore[assignment]
    consumer.assignment = lambda: {TP_, changelog}  # type: ignore[method-assign]
    assert set(consumer._filter_tps_with_pending_acks()) == {TP_}  # changelogs are not acked
    consumer._holes._patience = 0.0
    consumer._holes.check(TP_, 13, 0.0)
    assert consumer._new_offset(TP_) is None
    assert consumer.__dict__["_skald_rereads"] == {TP_: 13}


class _Flow:
    def __init__(self) -> None:
        self.active = True

    def is_active(self) -> bool:
        return self.active


def _streaming(committed: int) -> tuple[ReadCommittedConsumer, SimpleNamespace]:
    """A consumer whose app has a flow switch and a generation, for acks from streams."""
    consumer = _consumer(committed, [], [])
    app = SimpleNamespace(
        flow_control=_Flow(),
        consumer_generation_id=7,
        topics=SimpleNamespace(acks_enabled_for=lambda topic: True),
    )
    consumer.app = app  # type: ignore[assignment]
    consumer._unacked_messages = WeakSet()
    consumer._waiting_for_ack = None
    consumer._n_acked = 0
    return consumer, app


def _delivered(consumer: ReadCommittedConsumer, offset: int, streams: int = 1) -> object:
    record = SimpleNamespace(
        topic=TP_.topic, partition=TP_.partition, offset=offset, timestamp=0,
        timestamp_type=0, headers=[], key=b"k", value=b"v", checksum=None,
        serialized_key_size=1, serialized_value_size=1,
    )  # fmt: skip
    message = consumer._to_message(TP_, record)
    message.incref(streams)
    consumer._unacked_messages.add(message)
    return message


def test_an_ack_from_a_handling_stream_counts() -> None:
    consumer, _ = _streaming(10)
    _delivered(consumer, 10).ack(consumer)  # type: ignore[attr-defined]
    assert consumer._acked[TP_] == [10]
    assert consumer._new_offset(TP_) == 11


def test_a_skip_while_the_flow_is_stopped_lets_go_but_is_not_handled() -> None:
    """Faust's streams ack what they skip during a rebalance or a stop: counted, the commit
    passed records no saga had seen."""
    consumer, app = _streaming(10)
    message = _delivered(consumer, 10)
    app.flow_control.active = False
    message.ack(consumer)  # type: ignore[attr-defined]
    assert consumer._acked[TP_] == []
    assert not consumer._unacked_messages  # not in flight: a wait for acks does not hang
    app.flow_control.active = True
    assert consumer._new_offset(TP_) is None


def test_a_record_of_an_earlier_generation_is_not_handled() -> None:
    consumer, app = _streaming(10)
    message = _delivered(consumer, 10)
    app.consumer_generation_id = 8  # a rebalance since it was fetched: streams skip it
    message.ack(consumer)  # type: ignore[attr-defined]
    assert consumer._acked[TP_] == []
    assert consumer._new_offset(TP_) is None


def test_a_record_one_of_its_streams_skipped_is_not_handled() -> None:
    """The saga and the stats share the order events: the stats skipped it while the flow was
    stopped, the saga's ack is the last one. The saga handled it; the stats never did."""
    consumer, app = _streaming(10)
    message = _delivered(consumer, 10, streams=2)
    app.flow_control.active = False
    message.ack(consumer)  # type: ignore[attr-defined]
    app.flow_control.active = True
    message.ack(consumer)  # type: ignore[attr-defined]
    assert consumer._acked[TP_] == []
    assert not consumer._unacked_messages


def test_a_cleared_queue_releases_its_records(tmp_path: Path) -> None:
    """A record delivered to the saga and the stats, taken by one: when Faust clears the
    other's queue for a stop, the stop must not wait for an ack that will never come."""

    async def cleared() -> None:
        app = build_app("skald.worker", "localhost:9092", None, 3, 1, tmp_path)
        assert isinstance(app.flow_control, ReleasingFlowControl)
        consumer, its_app = _streaming(10)
        queue: FlowControlQueue[object] = FlowControlQueue(
            flow_control=app.flow_control, clear_on_resume=True
        )
        message = _delivered(consumer, 10, streams=2)
        queue.put_nowait(SimpleNamespace(message=message, app=SimpleNamespace(consumer=consumer)))
        its_app.flow_control.active = False  # a stop: the flow stops, the queues are cleared
        app.flow_control.clear()
        assert queue.empty()
        assert consumer._unacked_messages  # the other stream still holds it
        its_app.flow_control.active = True  # the stream that took it is done with it:
        message.ack(consumer)  # type: ignore[attr-defined]
        assert not consumer._unacked_messages
        assert consumer._acked[TP_] == []  # the cleared stream never handled it

    asyncio.run(cleared())


def test_a_fetch_cancelled_while_backing_off_does_not_break_the_worker_consumers_stop(
    tmp_path: Path,
) -> None:
    """aiokafka issue 647: the consumer's stop re-raises the cancellation of a fetch that was
    backing off after a lost connection. The thread's stop must still finish (else mode skips
    the rest of its shutdown and the worker waits 60 s) and close the client's connections."""

    async def backing_off() -> None:
        await asyncio.sleep(10)  # the fetcher's retry_backoff after a KafkaConnectionError

    async def stop() -> tuple[bool, bool]:
        app = build_app("skald.worker", "localhost:9092", None, 3, 1, tmp_path)
        thread = app.consumer._thread  # type: ignore[attr-defined]
        kafka = thread._create_worker_consumer(app.transport)

        async def close_fetcher() -> None:  # what Fetcher.close does with a pending fetch
            fetch = asyncio.ensure_future(backing_off())
            await asyncio.sleep(0)
            fetch.cancel()
            await fetch

        kafka._fetcher = SimpleNamespace(close=close_fetcher)
        closed = []
        real_close = kafka._client.close

        async def client_close() -> None:
            closed.append(True)
            await real_close()

        kafka._client.close = client_close
        thread._consumer = kafka
        await thread.on_thread_stop()
        return kafka._closed, bool(closed)

    stopped, client_closed = asyncio.run(stop())
    assert stopped and client_closed
